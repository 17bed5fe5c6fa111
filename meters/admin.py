"""Staff admin for meters: registry search and filters, read-only readings and roll-ups,
archive/restore and reception actions (each calls a service)."""

from datetime import date

from django import forms
from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.functional import cached_property
from django.utils.html import format_html

from config.admin import KeptRecordAdminMixin
from config.exceptions import ApplicationError

from . import archives, services
from .models import (
    Archive,
    ArchiveKind,
    DailyUsage,
    Meter,
    MeterKey,
    Reception,
    ReceptionChange,
)

# Counting tens of millions of readings for every changelist page takes seconds; past this
# many rows the admin says "more than" instead.
COUNT_CAP = 10_000


class CappedCountPaginator(Paginator):
    @cached_property
    def count(self) -> int:
        return self.object_list[: COUNT_CAP + 1].count()


class ReadOnlyMixin:
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Meter)
class MeterAdmin(KeptRecordAdminMixin, admin.ModelAdmin):
    instead_of_deleting = (
        "Meters are kept with their readings and bills: set a meter's status to Inactive "
        "instead of deleting it."
    )
    list_display = ["meter_id", "account", "postcode", "region", "kind", "status", "last_seen"]
    list_filter = ["region", "kind", "status", "dwelling_type"]
    search_fields = ["meter_id", "postcode", "account__account_number", "account__owner_name"]
    raw_id_fields = ["account"]
    readonly_fields = ["last_seen", "created_at", "updated_at", "readings_link"]

    @admin.display(description="Readings")
    def readings_link(self, obj: Meter) -> str:
        if obj.pk is None:
            return "-"
        url = reverse("admin:meters_meter_readings", args=[obj.pk])
        return format_html('<a href="{}">Readings of {}</a>', url, obj.meter_id)

    def get_urls(self):
        readings = path(
            "<int:meter_pk>/readings/",
            self.admin_site.admin_view(self.readings_view),
            name="meters_meter_readings",
        )
        return [readings, *super().get_urls()]

    def readings_view(self, request, meter_pk: int):
        """A meter's readings, newest first, read only, with "archive a day". (Readings have a
        composite primary key, which Django 5.2's admin cannot register, hence this page.)"""
        meter = get_object_or_404(Meter, pk=meter_pk)
        form = ArchiveDayForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            _archive_day(self, request, form.cleaned_data["day"])
            return redirect(request.path)
        readings = meter.readings.order_by("-at")
        page = CappedCountPaginator(readings, READINGS_PER_PAGE).get_page(request.GET.get("page"))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Readings of {meter.meter_id}",
            "meter": meter,
            "page": page,
            "form": form,
            "opts": self.opts,
        }
        return render(request, "meters/admin_meter_readings.html", context)


READINGS_PER_PAGE = 100


class ArchiveDayForm(forms.Form):
    day = forms.DateField(help_text="Local day (every meter's readings of it are archived).")


def _archive_day(model_admin: admin.ModelAdmin, request, day: date) -> None:
    try:
        archive = archives.archive_write(kind=ArchiveKind.DAILY, period_start=day)
    except ApplicationError as exc:
        model_admin.message_user(request, exc.message, messages.ERROR)
    else:
        model_admin.message_user(request, f"Archived {archive.rows} readings to {archive.path}.")


@admin.register(DailyUsage)
class DailyUsageAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["meter", "day", "import_kwh", "export_kwh", "readings", "is_partial"]
    list_filter = ["is_partial"]
    search_fields = ["meter__meter_id"]
    date_hierarchy = "day"
    list_select_related = ["meter"]
    paginator = CappedCountPaginator
    show_full_result_count = False


@admin.register(Archive)
class ArchiveAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["path", "kind", "period_start", "rows", "sha256", "created_at"]
    list_filter = ["kind"]
    date_hierarchy = "period_start"
    actions = ["restore", "rewrite"]

    @admin.action(description="Restore readings from the selected archives")
    def restore(self, request, queryset):
        paths = [archives.archive_dir() / archive.path for archive in queryset]
        try:
            summary = archives.readings_restore(paths=paths).as_dict()
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return
        level = messages.WARNING if summary["conflicting"] or summary["rejected"] else messages.INFO
        self.message_user(
            request,
            f"Restored {summary['restored']} readings of {summary['meters']} meters; skipped "
            f"{summary['skipped']} already stored; {summary['conflicting']} conflicting, "
            f"{summary['rejected']} rejected.",
            level,
        )

    @admin.action(description="Write the selected archives again from the stored readings")
    def rewrite(self, request, queryset):
        for archive in queryset:
            try:
                archives.archive_write(kind=archive.kind, period_start=archive.period_start)
            except ApplicationError as exc:
                self.message_user(request, exc.message, messages.ERROR)
        self.message_user(request, "Done.")


@admin.register(Reception)
class ReceptionAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["__str__", "paused", "maintenance", "reason", "changed_by", "changed_at"]
    actions = ["pause", "resume", "maintenance_on", "maintenance_off"]

    def get_queryset(self, request):
        Reception.objects.get_or_create(pk=Reception.SINGLETON_PK)
        return super().get_queryset(request)

    def _set(self, request, **change):
        state = services.reception_set(user=request.user, **change)
        self.message_user(request, f"Reception is now {state}.")

    @admin.action(description="Pause reading reception (writes answer 503)")
    def pause(self, request, queryset):
        self._set(request, paused=True, reason="paused from the admin")

    @admin.action(description="Resume reading reception")
    def resume(self, request, queryset):
        self._set(request, paused=False)

    @admin.action(description="Maintenance mode on")
    def maintenance_on(self, request, queryset):
        self._set(request, maintenance=True, reason="maintenance")

    @admin.action(description="Maintenance mode off")
    def maintenance_off(self, request, queryset):
        self._set(request, maintenance=False)


@admin.register(ReceptionChange)
class ReceptionChangeAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["changed_at", "changed_by", "paused", "maintenance", "reason"]
    date_hierarchy = "changed_at"


@admin.register(MeterKey)
class MeterKeyAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Keys are created through the API (the key is shown once); here they are listed and
    revoked."""

    list_display = ["meter", "name", "prefix", "created_at", "revoked_at"]
    search_fields = ["meter__meter_id", "name", "prefix"]
    list_select_related = ["meter"]
    actions = ["revoke"]

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request, queryset):
        for meter_key in queryset:
            services.meter_key_revoke(meter_key=meter_key)
        self.message_user(request, f"Revoked {queryset.count()} keys.")
