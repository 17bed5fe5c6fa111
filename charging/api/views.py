from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import CustomersReadStaffWrite, IsCustomerOrStaff, IsStaff
from config.api import csv_response
from config.api_fields import filtered

from .. import selectors, services
from ..models import ChargerCommand
from .filters import ChargerFilter, CommandFilter, IdTagFilter, TransactionFilter
from .serializers import (
    ChargerCreatedOutput,
    ChargerCreateInput,
    ChargerOutput,
    ChargerUpdateInput,
    CommandOutput,
    IdTagCreateInput,
    IdTagOutput,
    IdTagUpdateInput,
    TransactionOutput,
)

BAD_INPUT = OpenApiResponse(description="Invalid input: `fields` names each field and its rule.")
STAFF_ONLY = OpenApiResponse(description="Writes are for staff; customers and analysts get 403.")


def _validated(serializer_class, request, *, partial: bool = False) -> dict:
    data = serializer_class(data=request.data, partial=partial)
    data.is_valid(raise_exception=True)
    return data.validated_data


class ChargerListApi(generics.ListAPIView):
    """Chargers with their live connector state (customers: their own)."""

    permission_classes = [CustomersReadStaffWrite]
    serializer_class = ChargerOutput
    filterset_class = ChargerFilter

    def get_queryset(self):
        return selectors.chargers_for_user(user=self.request.user)

    @extend_schema(
        request=ChargerCreateInput,
        responses={
            201: ChargerCreatedOutput,
            400: BAD_INPUT,
            403: STAFF_ONLY,
            409: OpenApiResponse(
                description="The charge point identity is registered already (a replayed "
                "create too); `existing_id` is that charger's id."
            ),
        },
    )
    def post(self, request):
        """Register a charger (staff). The password is stored as a keyed digest and never
        returned; an Accepted charger (the default) registered without one gets a generated key,
        in `authorization_key` of this answer only. Creating is not idempotent: the same
        identity again is 409."""
        created = services.charger_register(**_validated(ChargerCreateInput, request))
        charger = selectors.charger_for_user(user=request.user, charger_id=created.pk)
        charger.authorization_key = created.authorization_key
        return Response(ChargerCreatedOutput(charger).data, status=status.HTTP_201_CREATED)


class ChargerDetailApi(generics.RetrieveAPIView):
    permission_classes = [CustomersReadStaffWrite]
    serializer_class = ChargerOutput

    def get_queryset(self):
        return selectors.chargers_for_user(user=self.request.user)

    @extend_schema(
        request=ChargerUpdateInput,
        responses={200: ChargerOutput, 400: BAD_INPUT, 403: STAFF_ONLY},
    )
    def patch(self, request, pk: int):
        """Change a charger's account, registration or password (staff). Registration
        Rejected retires it: it is answered Rejected at every boot and sent nothing. Accepting a
        connected charger asks it to boot again at once."""
        charger = selectors.charger_for_user(user=request.user, charger_id=pk)
        services.charger_update(
            charger=charger,
            requested_by=request.user,
            **_validated(ChargerUpdateInput, request, partial=True),
        )
        charger = selectors.charger_for_user(user=request.user, charger_id=pk)
        return Response(ChargerOutput(charger).data)

    @extend_schema(
        responses={
            204: None,
            403: STAFF_ONLY,
            409: OpenApiResponse(
                description="Records refer to the charger (listed in `referred_to_by`) or it is "
                "connected: retire it with registration Rejected instead."
            ),
        },
    )
    def delete(self, request, pk: int):
        """Delete a charger registered by mistake (staff): only one that nothing refers to and
        that is not connected. Any other is kept whole and retired with registration Rejected."""
        services.charger_delete(
            charger=selectors.charger_for_user(user=request.user, charger_id=pk)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class IdTagListApi(generics.ListAPIView):
    """Id tags (RFID cards, app tokens) with what Authorize answers for each now (customers:
    their own)."""

    permission_classes = [CustomersReadStaffWrite]
    serializer_class = IdTagOutput
    filterset_class = IdTagFilter

    def get_queryset(self):
        return selectors.id_tags_for_user(user=self.request.user)

    @extend_schema(
        request=IdTagCreateInput,
        responses={
            201: IdTagOutput,
            400: BAD_INPUT,
            403: STAFF_ONLY,
            409: OpenApiResponse(
                description="The tag exists already, compared ignoring case (a replayed create "
                "too); `existing_id` is that tag's id."
            ),
        },
    )
    def post(self, request):
        """Register a tag (staff). Its value is an OCPP IdToken (CiString20): 1 to 20 printable
        ASCII characters, unique and matched ignoring case. Creating is not idempotent: the same
        tag again is 409."""
        tag = services.id_tag_create(**_validated(IdTagCreateInput, request))
        tag = selectors.id_tag_for_user(user=request.user, tag_id=tag.pk)
        return Response(IdTagOutput(tag).data, status=status.HTTP_201_CREATED)


class IdTagDetailApi(generics.RetrieveAPIView):
    permission_classes = [CustomersReadStaffWrite]
    serializer_class = IdTagOutput

    def get_queryset(self):
        return selectors.id_tags_for_user(user=self.request.user)

    @extend_schema(
        request=IdTagUpdateInput, responses={200: IdTagOutput, 400: BAD_INPUT, 403: STAFF_ONLY}
    )
    def patch(self, request, pk: int):
        """Change a tag's account, parent, expiry, limit, or block it with `{"blocked": true}`
        (staff). Tags are never deleted: sessions refer to them."""
        tag = selectors.id_tag_for_user(user=request.user, tag_id=pk)
        services.id_tag_update(tag=tag, **_validated(IdTagUpdateInput, request, partial=True))
        tag = selectors.id_tag_for_user(user=request.user, tag_id=pk)
        return Response(IdTagOutput(tag).data)


_OPERATIONS_ALL = tuple(dict.fromkeys(services.OPERATIONS + services.OPERATIONS_201))


class CommandCreateApi(APIView):
    """Send an OCPP operation to the charger and wait (bounded by CHARGING_COMMAND_TIMEOUT)
    for its answer. The operation and its payload are validated against the version the
    charger speaks (its ``ocpp_version``):

    - OCPP 1.6J: RemoteStartTransaction, RemoteStopTransaction, Reset, UnlockConnector,
      ChangeAvailability, GetConfiguration, ChangeConfiguration, ClearCache, TriggerMessage,
      DataTransfer, GetLocalListVersion, SendLocalList, ReserveNow, CancelReservation,
      SetChargingProfile, ClearChargingProfile, GetCompositeSchedule, GetDiagnostics,
      UpdateFirmware.
    - OCPP 2.0.1: RequestStartTransaction, RequestStopTransaction, Reset, UnlockConnector,
      ChangeAvailability, GetVariables, SetVariables, GetBaseReport, TriggerMessage, ClearCache,
      SetChargingProfile, ClearChargingProfile, GetChargingProfiles, GetCompositeSchedule,
      GetTransactionStatus, SendLocalList, GetLocalListVersion, ReserveNow, CancelReservation,
      UpdateFirmware, GetLog, DataTransfer.

    A 2.0.1 charger also takes these 1.6 operations, sent as their 2.0.1 form:
    RemoteStartTransaction / RemoteStopTransaction (as RequestStart/StopTransaction; the
    transactionId is the session's id in this API), Reset (Hard = Immediate, Soft = OnIdle),
    UnlockConnector, ChangeAvailability, GetConfiguration (as GetBaseReport
    ConfigurationInventory), TriggerMessage, SetChargingProfile / ClearChargingProfile /
    GetCompositeSchedule (connectorId = evseId). Ids the server allocates (reservation ids;
    2.0.1 remoteStartId, requestId) are set by the server, whatever the body says.

    The body is the operation's OCPP payload as the spec writes it (camelCase), e.g.
    ``{"connectorId": 1, "idTag": "ABC"}`` for RemoteStartTransaction. The answer is the
    command: ``status`` accepted / rejected / error (``error_code`` is the CALLERROR code) /
    timeout / offline, and the charger's ``response``. Customers may start (with one of their
    own tags) and stop (their own sessions) charging and unlock connectors of their own
    chargers; staff anything.

    Beyond the schema the central system refuses: connectors the charger has not reported;
    reservations expired or more than 30 days ahead; tags it knows as blocked or expired;
    charging profiles with validFrom not before validTo, periods not starting at 0 or not in
    increasing order, negative limits, a TxProfile where no transaction runs (see
    ``charging/services/command_rules.py`` for the full list and the spec it follows)."""

    permission_classes = [IsCustomerOrStaff]

    @extend_schema(
        request=OpenApiTypes.OBJECT,
        responses={
            201: CommandOutput,
            400: OpenApiResponse(
                description="Invalid payload: `fields` names each refused field by its path in "
                "the payload (`payload.csChargingProfiles.chargingSchedule."
                "chargingSchedulePeriod[0].limit`) with the rule it breaks, whether the OCPP "
                "schema or a rule of the central system refuses it; nothing is recorded."
            ),
        },
        parameters=[
            OpenApiParameter(
                "operation", OpenApiTypes.STR, OpenApiParameter.PATH, enum=_OPERATIONS_ALL
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
        command = services.command_await(command=command)
        if not command.is_done:
            command = services.command_expire(command=command)
        return Response(CommandOutput(command).data, status=201)


class ChargerKeyRotateApi(APIView):
    """Give the charger a new generated authorization key (staff), as OCPP-J 1.6 section 6.2.2
    describes: ChangeConfiguration of AuthorizationKey. The stored key changes only when the
    charger answers Accepted; any other outcome (rejected, NotSupported, timeout, offline) keeps
    the old one. The new key is never returned, stored or logged: only the charger gets it. The
    answer is the command, as for other operations."""

    permission_classes = [IsStaff]

    @extend_schema(
        request=None,
        responses={201: CommandOutput, 400: BAD_INPUT, 403: STAFF_ONLY},
    )
    def post(self, request, pk: int):
        charger = selectors.charger_for_user(user=request.user, charger_id=pk)
        command = services.charger_key_rotate(charger=charger, requested_by=request.user)
        command = services.command_await(command=command)
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
        rows = filtered(
            TransactionFilter, request, selectors.transactions_for_user(user=request.user)
        )
        lines = (
            [TransactionOutput(row).data[field] for field in CSV_FIELDS]
            for row in rows.iterator(chunk_size=1000)
        )
        return csv_response(CSV_FIELDS, lines, "charging-transactions.csv")
