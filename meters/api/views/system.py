"""Operating the readings store: archives and their restore, and reception."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsStaff
from config.api import Pagination
from meters import archives, services
from meters.api import serializers as s
from meters.models import Archive, Reception, ReceptionChange


class ArchiveListApi(APIView):
    permission_classes = [IsStaff]
    # Named on the class so the schema documents the page envelope, not a bare array.
    pagination_class = Pagination

    @extend_schema(responses=s.ArchiveOutput(many=True), summary="Archives written (staff)")
    def get(self, request):
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(Archive.objects.all(), request, view=self)
        return paginator.get_paginated_response(s.ArchiveOutput(page, many=True).data)

    @extend_schema(
        request=s.ArchiveInput,
        responses={201: s.ArchiveOutput},
        summary="Archive a local day or month now (staff)",
        description="Idempotent: the same readings give the same file and SHA-256.",
    )
    def post(self, request):
        data = s.ArchiveInput(data=request.data)
        data.is_valid(raise_exception=True)
        archive = archives.archive_write(**data.validated_data)
        return Response(s.ArchiveOutput(archive).data, status=status.HTTP_201_CREATED)


class ArchiveRestoreApi(APIView):
    permission_classes = [IsStaff]

    @extend_schema(
        request=s.ArchiveInput,
        responses=s.RestoreOutput,
        summary="Restore readings from an archive (staff)",
        description="Re-imports idempotently: stored readings are skipped, conflicts are counted "
        "and change nothing. A file whose SHA-256 does not match its manifest is refused (400).",
    )
    def post(self, request):
        data = s.ArchiveInput(data=request.data)
        data.is_valid(raise_exception=True)
        path = archives.archive_path(**data.validated_data)
        summary = archives.readings_restore(paths=[path])
        return Response(s.RestoreOutput(summary.as_dict()).data)


class ReceptionApi(APIView):
    permission_classes = [IsStaff]

    @extend_schema(responses=s.ReceptionOutput, summary="Reading reception state (staff)")
    def get(self, request):
        state = Reception.objects.filter(pk=Reception.SINGLETON_PK).first() or Reception()
        body = s.ReceptionOutput(state).data
        body["history"] = s.ReceptionChangeOutput(
            ReceptionChange.objects.select_related("changed_by")[:20], many=True
        ).data
        return Response(body)

    @extend_schema(
        request=s.ReceptionInput,
        responses=s.ReceptionOutput,
        summary="Pause/resume reception, maintenance mode on/off (staff)",
        description="While paused or in maintenance every write door (REST single and bulk, "
        "MQTT ingest, restore) answers 503 with Retry-After; reads keep working.",
    )
    def put(self, request):
        data = s.ReceptionInput(data=request.data)
        data.is_valid(raise_exception=True)
        state = services.reception_set(user=request.user, **data.validated_data)
        return Response(s.ReceptionOutput(state).data)
