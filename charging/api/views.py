from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsCustomerOrStaff
from config.api import csv_response

from .. import selectors, services
from ..models import ChargerCommand
from .filters import CommandFilter, TransactionFilter
from .serializers import ChargerOutput, CommandOutput, TransactionOutput


class ChargerListApi(generics.ListAPIView):
    """Chargers with their live connector state (customers: their own)."""

    permission_classes = [IsCustomerOrStaff]
    serializer_class = ChargerOutput

    def get_queryset(self):
        return selectors.chargers_for_user(user=self.request.user)


class ChargerDetailApi(generics.RetrieveAPIView):
    permission_classes = [IsCustomerOrStaff]
    serializer_class = ChargerOutput

    def get_queryset(self):
        return selectors.chargers_for_user(user=self.request.user)


class CommandCreateApi(APIView):
    """Send an OCPP 1.6 operation to the charger and wait (bounded by CHARGING_COMMAND_TIMEOUT)
    for its answer.

    The body is the operation's OCPP payload as the spec writes it (camelCase), e.g.
    ``{"connectorId": 1, "idTag": "ABC"}`` for RemoteStartTransaction. The answer is the
    command: ``status`` accepted / rejected / error (``error_code`` is the CALLERROR code) /
    timeout / offline, and the charger's ``response``. Customers may send RemoteStartTransaction
    (with one of their own tags), RemoteStopTransaction (of their own session) and
    UnlockConnector to their own chargers; staff anything."""

    permission_classes = [IsCustomerOrStaff]

    @extend_schema(
        request=OpenApiTypes.OBJECT,
        responses={201: CommandOutput, 400: OpenApiResponse(description="Invalid payload")},
        parameters=[
            OpenApiParameter(
                "operation", OpenApiTypes.STR, OpenApiParameter.PATH, enum=services.OPERATIONS
            )
        ],
    )
    def post(self, request, pk: int, operation: str):
        charger = selectors.charger_for_user(user=request.user, charger_id=pk)
        command = services.command_create(
            charger=charger,
            operation=operation,
            payload=request.data,
            requested_by=request.user,
        )
        command = selectors.command_wait(command=command)
        if not command.is_done:
            command = services.command_expire(command=command)
        return Response(CommandOutput(command).data, status=201)


class ChargerCommandListApi(generics.ListAPIView):
    permission_classes = [IsCustomerOrStaff]
    serializer_class = CommandOutput
    queryset = ChargerCommand.objects.none()  # for the schema; get_queryset scopes

    def get_queryset(self):
        charger = selectors.charger_for_user(user=self.request.user, charger_id=self.kwargs["pk"])
        return selectors.commands_for_user(user=self.request.user).filter(charger=charger)


class CommandListApi(generics.ListAPIView):
    permission_classes = [IsCustomerOrStaff]
    serializer_class = CommandOutput
    filterset_class = CommandFilter

    def get_queryset(self):
        return selectors.commands_for_user(user=self.request.user)


class CommandDetailApi(generics.RetrieveAPIView):
    permission_classes = [IsCustomerOrStaff]
    serializer_class = CommandOutput

    def get_queryset(self):
        return selectors.commands_for_user(user=self.request.user)


class TransactionListApi(generics.ListAPIView):
    """Charging sessions; energy in kWh, meter readings in Wh."""

    permission_classes = [IsCustomerOrStaff]
    serializer_class = TransactionOutput
    filterset_class = TransactionFilter

    def get_queryset(self):
        return selectors.transactions_for_user(user=self.request.user)


class TransactionDetailApi(generics.RetrieveAPIView):
    permission_classes = [IsCustomerOrStaff]
    serializer_class = TransactionOutput

    def get_queryset(self):
        return selectors.transactions_for_user(user=self.request.user)


CSV_FIELDS = list(TransactionOutput.Meta.fields)


class TransactionCsvApi(APIView):
    """The same sessions and filters as the list, as CSV (UTC times)."""

    permission_classes = [IsCustomerOrStaff]

    @extend_schema(
        parameters=[
            OpenApiParameter(name, OpenApiTypes.STR, OpenApiParameter.QUERY)
            for name in TransactionFilter.Meta.fields
        ],
        responses={(200, "text/csv"): OpenApiTypes.STR},
    )
    def get(self, request):
        rows = TransactionFilter(
            request.query_params, queryset=selectors.transactions_for_user(user=request.user)
        ).qs
        lines = (
            [TransactionOutput(row).data[field] for field in CSV_FIELDS]
            for row in rows.iterator(chunk_size=1000)
        )
        return csv_response(CSV_FIELDS, lines, "charging-transactions.csv")
