"""Staff admin for customer reads (the review list) and corrections of readings.

A reading's page (``admin:meters_reading_correct``, /admin/meters/readingcorrection/reading/
<meter_id>/<at ISO>/) shows the reading, its corrections and the bills they touched, with the
form that amends or voids it; every write goes through ``meters.services``. Registered from
``MetersConfig.ready``.
"""

from datetime import UTC, datetime
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from config.exceptions import ApplicationError
from config.inputs import InputError, datetime_parse

from . import selectors, services
from .admin import ReadOnlyMixin
from .models import CorrectionAction, CustomerRead, Meter, ReadingCorrection
from .timeutils import as_utc

_KWH = {"max_digits": 14, "decimal_places": 4, "min_value": Decimal(0)}


def reading_url(meter_id: str, at: datetime) -> str:
    """The admin page of the reading of ``meter_id`` at ``at``."""
    stamp = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return reverse("admin:meters_reading_correct", args=[meter_id, stamp])


def _bills_html(bills: list[dict]):
    if not bills:
        return "—"
    return format_html_join(
        ", ",
        '<a href="{}?q={}">{}</a> ({})',
        (
            (
                reverse("admin:billing_bill_changelist"),
                bill["number"],
                bill["number"],
                bill["action"],
            )
            for bill in bills
        ),
    )


class ReadingFindForm(forms.Form):
    meter_id = forms.CharField(max_length=64, label="Meter id")
    at = forms.CharField(
        max_length=64, label="Reading time", help_text="ISO 8601, e.g. 2026-11-03T00:00:00Z."
    )


class ReadingCorrectionForm(forms.Form):
    action = forms.ChoiceField(
        choices=[("amend", "Amend the values"), ("void", "Void the reading")],
        widget=forms.RadioSelect,
        initial="amend",
    )
    import_kwh = forms.DecimalField(label="New import register (kWh)", required=False, **_KWH)
    export_kwh = forms.DecimalField(
        label="New export register (kWh)",
        required=False,
        help_text="Empty: unchanged.",
        **_KWH,
    )
    register_reset = forms.BooleanField(label="Import register reset", required=False)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=1000)


class ReviewFilter(admin.SimpleListFilter):
    title = "review"
    parameter_name = "review"

    def lookups(self, request, model_admin):
        return [("to_review", "Flagged, to review"), ("reviewed", "Flagged, reviewed")]

    def queryset(self, request, queryset):
        if self.value() == "to_review":
            return queryset.filter(implausible=True, reviewed_at__isnull=True)
        if self.value() == "reviewed":
            return queryset.filter(implausible=True, reviewed_at__isnull=False)
        return queryset


@admin.register(CustomerRead)
class CustomerReadAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = [
        "meter",
        "at",
        "import_kwh",
        "channel",
        "submitted_by",
        "submitted_at",
        "implausible",
        "plausibility_note",
        "reviewed_at",
        "reading_link",
    ]
    list_filter = [ReviewFilter, "implausible", "channel"]
    search_fields = ["meter__meter_id", "submitted_by__email"]
    list_select_related = ["meter", "submitted_by"]
    date_hierarchy = "submitted_at"
    actions = ["mark_reviewed"]

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_staff

    @admin.display(description="Reading")
    def reading_link(self, read: CustomerRead):
        return format_html('<a href="{}">Correct…</a>', reading_url(read.meter.meter_id, read.at))

    @admin.action(description="Mark the selected reads reviewed (they stand as submitted)")
    def mark_reviewed(self, request, queryset):
        for read in queryset:
            services.customer_read_review(customer_read=read, user=request.user)
        self.message_user(request, f"Marked {queryset.count()} reads reviewed.")


@admin.register(ReadingCorrection)
class ReadingCorrectionAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """The audit records (read-only). "Add" finds a reading to correct."""

    list_display = [
        "meter",
        "at",
        "action",
        "reason",
        "made_by",
        "made_at",
        "bills_touched",
        "reading_link",
    ]
    list_filter = ["action"]
    search_fields = ["meter__meter_id", "reason"]
    list_select_related = ["meter", "made_by"]
    date_hierarchy = "made_at"

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_staff

    def has_add_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_staff

    @admin.display(description="Bills touched")
    def bills_touched(self, record: ReadingCorrection):
        return _bills_html(record.bills)

    @admin.display(description="Reading")
    def reading_link(self, record: ReadingCorrection):
        return format_html('<a href="{}">Open…</a>', reading_url(record.meter.meter_id, record.at))

    def get_urls(self):
        view = self.admin_site.admin_view(self.reading_view)
        return [
            path("reading/<str:meter_id>/<str:at>/", view, name="meters_reading_correct"),
            *super().get_urls(),
        ]

    def add_view(self, request: HttpRequest, form_url="", extra_context=None):
        form = ReadingFindForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            return redirect(
                reverse(
                    "admin:meters_reading_correct",
                    args=[form.cleaned_data["meter_id"].strip(), form.cleaned_data["at"].strip()],
                )
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Find a reading to correct",
            "form": form,
        }
        return render(request, "meters/admin_reading_find.html", context)

    def reading_view(self, request: HttpRequest, meter_id: str, at: str):
        if not request.user.is_staff:
            raise PermissionDenied
        meter = Meter.objects.filter(meter_id=meter_id).first()
        if meter is None:
            raise Http404(f"No meter {meter_id}.")
        try:
            when = as_utc(datetime_parse(at), meter.tz)
        except (InputError, ValueError, OverflowError) as exc:
            raise Http404(f"{at!r} is not a reading time.") from exc
        reading = selectors.reading_at(meter=meter, at=when)
        form = ReadingCorrectionForm(request.POST or None, initial=_initial(reading))
        if request.method == "POST" and form.is_valid():
            try:
                record = _correct(request, meter, when, form.cleaned_data)
            except ApplicationError as exc:
                form.add_error(
                    exc.field if exc.field in form.fields else None,
                    exc.message.partition(": ")[2] or exc.message,
                )
            else:
                self.message_user(
                    request,
                    f"Reading {record.get_action_display().lower()}; bills touched: "
                    f"{', '.join(bill['number'] for bill in record.bills) or 'none'}.",
                    messages.SUCCESS,
                )
                return redirect(request.path)
        corrections = list(selectors.reading_corrections(meter=meter, at=when))
        if reading is None and not corrections:
            raise Http404(f"Meter {meter_id} has no reading at {when.isoformat()}.")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Reading of {meter.meter_id} at {when:%Y-%m-%d %H:%M} UTC",
            "meter": meter,
            "at": when,
            "reading": reading,
            "form": form if reading is not None else None,
            "corrections": [(record, _bills_html(record.bills)) for record in corrections],
            "customer_read": CustomerRead.objects.filter(meter=meter, at=when).first(),
        }
        return render(request, "meters/admin_reading_correct.html", context)


def _initial(reading) -> dict:
    if reading is None:
        return {}
    return {
        "import_kwh": reading.import_kwh,
        "export_kwh": reading.export_kwh,
        "register_reset": reading.register_reset,
    }


def _correct(request, meter: Meter, at: datetime, data: dict) -> ReadingCorrection:
    if data["action"] == CorrectionAction.VOID:
        return services.reading_void(meter=meter, at=at, user=request.user, reason=data["reason"])
    if data["import_kwh"] is None:
        raise ApplicationError(
            "import_kwh: the new import register is required.", field="import_kwh"
        )
    changes = {"register_reset": data["register_reset"]}
    if data["export_kwh"] is not None:
        changes["export_kwh"] = data["export_kwh"]
    return services.reading_amend(
        meter=meter,
        at=at,
        user=request.user,
        reason=data["reason"],
        import_kwh=data["import_kwh"],
        **changes,
    )
