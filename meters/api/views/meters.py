"""Meters and their devices' keys."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsStaff
from config.api import Pagination
from config.exceptions import NotFound
from meters import selectors, services
from meters.api import serializers as s

from .base import MeterApi


class MeterListApi(MeterApi):
    permission_classes = [IsAuthenticated]
    # Named on the class so the schema documents the page envelope, not a bare array.
    pagination_class = Pagination

    @extend_schema(responses=s.MeterOutput(many=True), summary="Meters the caller may see")
    def get(self, request):
        meters = selectors.meters_for_user(user=request.user)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(meters, request, view=self)
        return paginator.get_paginated_response(s.MeterOutput(page, many=True).data)

    @extend_schema(request=s.MeterInput, responses={201: s.MeterOutput}, summary="Register a meter")
    def post(self, request):
        if not request.user.is_staff:
            self.permission_denied(request, message="Staff only.")
        data = s.MeterInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        meter = services.meter_create(
            meter_id=values["meter_id"],
            account=values["account"],
            kind=values["kind"],
            address=values.get("address"),
            postcode=values.get("postcode"),
            timezone_name=values.get("timezone"),
        )
        return Response(s.MeterOutput(meter).data, status=status.HTTP_201_CREATED)


class MeterDetailApi(MeterApi):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=s.MeterOutput, summary="One meter")
    def get(self, request, meter_id: str):
        meter = selectors.meter_for_user(user=request.user, meter_id=meter_id)
        return Response(s.MeterOutput(meter).data)


class MeterKeysApi(APIView):
    permission_classes = [IsStaff]

    @extend_schema(responses=s.MeterKeyOutput(many=True), summary="A meter's device keys (staff)")
    def get(self, request, meter_id: str):
        meter = selectors.meter_for_user(user=request.user, meter_id=meter_id)
        return Response(s.MeterKeyOutput(meter.keys.all(), many=True).data)

    @extend_schema(
        request=s.MeterKeyInput,
        responses={201: s.IssuedMeterKeyOutput},
        summary="Create a device key for a meter (staff)",
        description="The key (`mk_…`) is shown only in this answer. With `Authorization: Token "
        "<key>` the device may submit and read this meter's readings and nothing else.",
    )
    def post(self, request, meter_id: str):
        meter = selectors.meter_for_user(user=request.user, meter_id=meter_id)
        data = s.MeterKeyInput(data=request.data)
        data.is_valid(raise_exception=True)
        issued = services.meter_key_create(meter=meter, **data.validated_data)
        body = {**s.MeterKeyOutput(issued.meter_key).data, "key": issued.key}
        return Response(body, status=status.HTTP_201_CREATED)


class MeterKeyRevokeApi(APIView):
    permission_classes = [IsStaff]

    @extend_schema(request=None, responses=s.MeterKeyOutput, summary="Revoke a device key (staff)")
    def post(self, request, meter_id: str, key_id: int):
        meter = selectors.meter_for_user(user=request.user, meter_id=meter_id)
        meter_key = meter.keys.filter(pk=key_id).first()
        if meter_key is None:
            raise NotFound(f"No key {key_id} on meter {meter_id}.")
        return Response(s.MeterKeyOutput(services.meter_key_revoke(meter_key=meter_key)).data)
