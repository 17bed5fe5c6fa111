"""The batteries API: doors that parse, call a service or selector, and answer.

Customers see and send telemetry for their own accounts' batteries; staff see everything and
alone create, delete and instruct batteries.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from accounts.permissions import CustomersReadStaffWrite, IsCustomerOrStaff, IsStaff
from config.exceptions import NotFound

from .. import selectors, services
from ..models import Battery, BatteryAlert, BatteryInstruction, InstructionRule
from .serializers import (
    AlertOutput,
    ArchiveOutput,
    BatteryFilterInput,
    BatteryInput,
    BatteryOutput,
    BatteryUpdateInput,
    BulkTelemetryInput,
    CountOutput,
    HistoryOutput,
    HistoryQuery,
    IngestOutput,
    InstructionInput,
    InstructionOutput,
    RuleInput,
    RuleOutput,
    TelemetryInput,
    TelemetryTimeInput,
)

KEY = OpenApiParameter(
    "key", OpenApiTypes.STR, OpenApiParameter.PATH, description="The battery's UUID or identifier."
)


def _filters(request) -> dict:
    data = BatteryFilterInput(data=request.query_params)
    data.is_valid(raise_exception=True)
    return data.validated_data


class BatteryListApi(GenericAPIView):
    permission_classes = [CustomersReadStaffWrite]
    serializer_class = BatteryOutput
    queryset = Battery.objects.none()

    @extend_schema(parameters=[BatteryFilterInput], responses=BatteryOutput(many=True))
    def get(self, request):
        """Batteries you may see, filtered."""
        batteries = selectors.battery_list(user=request.user, filters=_filters(request))
        page = self.paginate_queryset(batteries)
        return self.get_paginated_response(BatteryOutput(page, many=True).data)

    @extend_schema(request=BatteryInput, responses={201: BatteryOutput})
    def post(self, request):
        """Register a battery (staff). Its identifier is generated: PREFIX-XXXX-CAP."""
        data = BatteryInput(data=request.data)
        data.is_valid(raise_exception=True)
        battery = services.battery_create(**data.validated_data)
        return Response(BatteryOutput(battery).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "confirm",
                OpenApiTypes.STR,
                required=True,
                description=f"Must be `{services.DELETE_ALL_CONFIRMATION}`.",
            )
        ],
        responses={200: ArchiveOutput},
        operation_id="batteries_destroy_all",
    )
    def delete(self, request):
        """Delete every battery (staff), after archiving all their history to CSV files on the
        server. Needs `confirm=delete-all-batteries`."""
        archive = services.batteries_delete_all(
            confirmation=request.query_params.get("confirm", "")
        )
        return Response(ArchiveOutput.of(archive))


class BatteryCountApi(GenericAPIView):
    permission_classes = [IsCustomerOrStaff]
    serializer_class = CountOutput

    @extend_schema(parameters=[BatteryFilterInput], responses=CountOutput)
    def get(self, request):
        """How many batteries you may see match the filters."""
        batteries = selectors.battery_list(user=request.user, filters=_filters(request))
        return Response({"count": batteries.count()})


class BatteryDetailApi(GenericAPIView):
    permission_classes = [CustomersReadStaffWrite]
    serializer_class = BatteryOutput

    @extend_schema(parameters=[KEY], responses=BatteryOutput)
    def get(self, request, key):
        return Response(BatteryOutput(selectors.battery_get(user=request.user, key=key)).data)

    @extend_schema(
        parameters=[KEY],
        request=BatteryUpdateInput,
        responses={
            200: BatteryOutput,
            400: OpenApiResponse(description="A field breaks a registry rule (named)."),
            403: OpenApiResponse(description="Not staff."),
            404: OpenApiResponse(description="No such battery."),
        },
    )
    def patch(self, request, key):
        """Change a battery's registry fields (staff): only those given. The identifier, and the
        capacity it names, never change; reserves keep 0 <= minimum < maximum <= 100."""
        battery = selectors.battery_get(user=request.user, key=key)
        data = BatteryUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        battery = services.battery_update(battery=battery, **data.validated_data)
        return Response(BatteryOutput(battery).data)

    @extend_schema(parameters=[KEY], responses={200: ArchiveOutput})
    def delete(self, request, key):
        """Delete one battery (staff), after archiving its history to CSV."""
        battery = selectors.battery_get(user=request.user, key=key)
        return Response(ArchiveOutput.of(services.battery_delete(battery=battery)))


def _check_timestamp(data) -> None:
    """A given timestamp must be plausible (a year-1 reading once made the battery undeletable);
    a missing or empty one means now, as the service reads it."""
    if isinstance(data, dict) and data.get("timestamp") not in (None, ""):
        TelemetryTimeInput(data={"timestamp": data["timestamp"]}).is_valid(raise_exception=True)


class TelemetryApi(GenericAPIView):
    permission_classes = [IsCustomerOrStaff]
    serializer_class = TelemetryInput

    @extend_schema(
        parameters=[KEY],
        request=TelemetryInput,
        responses={201: IngestOutput, 200: IngestOutput},
    )
    def post(self, request, key):
        """Store one reading: 201 when stored, 200 when it replays a stored one, 409 when it
        contradicts one."""
        battery = selectors.battery_get(user=request.user, key=key)
        _check_timestamp(request.data)
        result = services.reading_record(battery=battery, data=request.data, source="api")
        code = status.HTTP_201_CREATED if result.stored else status.HTTP_200_OK
        return Response({"stored": result.stored, "duplicates": result.duplicates}, status=code)


class BulkTelemetryApi(GenericAPIView):
    permission_classes = [IsCustomerOrStaff]
    serializer_class = BulkTelemetryInput

    @extend_schema(
        request=BulkTelemetryInput, responses=IngestOutput, operation_id="batteries_telemetry_bulk"
    )
    def post(self, request):
        """Store up to 10,000 readings of any batteries you may see, all or nothing: one bad
        reading (its index is in the error's field name) stores none."""
        items = request.data.get("readings") if isinstance(request.data, dict) else None
        result = services.readings_ingest_bulk(user=request.user, items=items, source="api")
        return Response({"stored": result.stored, "duplicates": result.duplicates})


class HistoryApi(GenericAPIView):
    permission_classes = [IsCustomerOrStaff]
    serializer_class = HistoryOutput

    @extend_schema(parameters=[KEY, HistoryQuery], responses=HistoryOutput)
    def get(self, request, key):
        """Telemetry history for charts: raw readings, or averaged per `bucket` seconds."""
        battery = selectors.battery_get(user=request.user, key=key)
        query = HistoryQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        options = query.validated_data
        history = selectors.reading_history(
            battery=battery,
            start=options.get("start"),
            end=options.get("end"),
            after=options.get("after"),
            bucket_seconds=options.get("bucket"),
            limit=options["limit"],
        )
        return Response(
            HistoryOutput(
                {
                    "battery": battery.pk,
                    "bucket_seconds": history.bucket_seconds,
                    "next_after": history.next_after,
                    "points": history.points,
                }
            ).data
        )


class AlertListApi(GenericAPIView):
    permission_classes = [IsCustomerOrStaff]
    serializer_class = AlertOutput
    queryset = BatteryAlert.objects.none()

    @extend_schema(
        parameters=[
            KEY,
            OpenApiParameter("unresolved", OpenApiTypes.BOOL, description="Only unresolved."),
        ],
        responses=AlertOutput(many=True),
    )
    def get(self, request, key):
        battery = selectors.battery_get(user=request.user, key=key)
        unresolved = request.query_params.get("unresolved", "").lower() in ("1", "true", "yes")
        alerts = selectors.battery_alerts(battery=battery, unresolved_only=unresolved)
        page = self.paginate_queryset(alerts)
        return self.get_paginated_response(AlertOutput(page, many=True).data)


class AlertAcknowledgeApi(GenericAPIView):
    permission_classes = [IsStaff]
    serializer_class = AlertOutput

    @extend_schema(parameters=[KEY], request=None, responses=AlertOutput)
    def post(self, request, key, alert_id: int):
        """Acknowledge an alert (staff). It stays unresolved until its condition clears."""
        battery = selectors.battery_get(user=request.user, key=key)
        try:
            alert = BatteryAlert.objects.get(pk=alert_id, battery=battery)
        except BatteryAlert.DoesNotExist as exc:
            raise NotFound(f"No alert {alert_id} for battery {battery.identifier}.") from exc
        alert = services.alert_acknowledge(alert=alert, by=request.user)
        return Response(AlertOutput(alert).data)


class InstructionListApi(GenericAPIView):
    permission_classes = [CustomersReadStaffWrite]
    serializer_class = InstructionOutput
    queryset = BatteryInstruction.objects.none()

    @extend_schema(parameters=[KEY], responses=InstructionOutput(many=True))
    def get(self, request, key):
        """Every instruction given to the battery and its outcome, newest first."""
        battery = selectors.battery_get(user=request.user, key=key)
        page = self.paginate_queryset(selectors.battery_instructions(battery=battery))
        return self.get_paginated_response(InstructionOutput(page, many=True).data)

    @extend_schema(parameters=[KEY], request=InstructionInput, responses={201: InstructionOutput})
    def post(self, request, key):
        """Instruct the battery by hand (staff): replaces the instruction in force, is sent over
        MQTT, and holds off rules until it expires."""
        battery = selectors.battery_get(user=request.user, key=key)
        data = InstructionInput(data=request.data)
        data.is_valid(raise_exception=True)
        instruction = services.instruction_issue_manual(
            battery=battery, requested_by=request.user, **data.validated_data
        )
        instruction.refresh_from_db()
        return Response(InstructionOutput(instruction).data, status=status.HTTP_201_CREATED)


class RuleListApi(GenericAPIView):
    permission_classes = [IsCustomerOrStaff]
    serializer_class = RuleOutput
    pagination_class = None  # the rules of one battery, few: answered whole
    queryset = InstructionRule.objects.none()

    @extend_schema(parameters=[KEY], responses=RuleOutput(many=True))
    def get(self, request, key):
        """The enabled instruction rules that apply to the battery, strongest first."""
        battery = selectors.battery_get(user=request.user, key=key)
        return Response(RuleOutput(selectors.rules_for_battery(battery=battery), many=True).data)


def _rule_fields(request, data: dict) -> dict:
    if data.get("battery"):
        data["battery"] = selectors.battery_get(user=request.user, key=data["battery"])
    return data


class RuleCollectionApi(GenericAPIView):
    permission_classes = [IsStaff]
    serializer_class = RuleOutput
    queryset = InstructionRule.objects.none()

    @extend_schema(responses=RuleOutput(many=True))
    def get(self, request):
        """Every instruction rule (staff), strongest first."""
        page = self.paginate_queryset(selectors.rule_list())
        return self.get_paginated_response(RuleOutput(page, many=True).data)

    @extend_schema(request=RuleInput, responses={201: RuleOutput})
    def post(self, request):
        """Create a rule (staff); the next rule pass (every minute) applies it."""
        data = RuleInput(data=request.data)
        data.is_valid(raise_exception=True)
        rule = services.rule_create(**_rule_fields(request, dict(data.validated_data)))
        return Response(RuleOutput(rule).data, status=status.HTTP_201_CREATED)


class RuleDetailApi(GenericAPIView):
    permission_classes = [IsStaff]
    serializer_class = RuleOutput
    queryset = InstructionRule.objects.none()

    def _rule(self, rule_id: int) -> InstructionRule:
        try:
            return InstructionRule.objects.get(pk=rule_id)
        except InstructionRule.DoesNotExist as exc:
            raise NotFound(f"No rule {rule_id}.") from exc

    @extend_schema(responses=RuleOutput)
    def get(self, request, rule_id: int):
        return Response(RuleOutput(self._rule(rule_id)).data)

    @extend_schema(request=RuleInput, responses=RuleOutput)
    def patch(self, request, rule_id: int):
        """Change some of a rule's fields (staff)."""
        rule = self._rule(rule_id)
        data = RuleInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        rule = services.rule_update(rule=rule, **_rule_fields(request, dict(data.validated_data)))
        return Response(RuleOutput(rule).data)

    @extend_schema(responses={204: None})
    def delete(self, request, rule_id: int):
        """Delete a rule (staff); its instructions stay for audit and lapse at their expiry."""
        services.rule_delete(rule=self._rule(rule_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
