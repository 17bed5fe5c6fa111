"""Admin for tariffs and bills. Actions call the services; issued bills are read-only here."""

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import path, reverse

from config.exceptions import ApplicationError

from . import services
from .models import (
    Bill,
    BillLine,
    BillMeterRead,
    BillRun,
    Tariff,
    TariffAssignment,
    TariffRate,
)

RATE_FIELDS = ["band", "kind", "unit_rate", "starts_at", "ends_at", "days", "priority"]


def _rates_of(formset) -> list[services.RateIn]:
    return [
        services.RateIn(**{name: form.cleaned_data[name] for name in RATE_FIELDS})
        for form in formset.forms
        if form.cleaned_data and not form.cleaned_data.get("DELETE")
    ]


def _form_error(form, error: ApplicationError) -> None:
    """A service's refusal on the form: on its field where the form has one."""
    form.add_error(error.field if error.field in form.fields else None, error.message)


class TariffRateFormSet(forms.BaseInlineFormSet):
    """The bands are checked together by the service's rule (exactly one default band, whole
    windows), as the API checks them."""

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        try:
            services.tariff_rates_check(
                _rates_of(self), import_dynamic=self.instance.import_dynamic
            )
        except ApplicationError as exc:
            raise forms.ValidationError(exc.message) from exc


class TariffRateInline(admin.TabularInline):
    model = TariffRate
    formset = TariffRateFormSet
    extra = 0
    fields = RATE_FIELDS


class TariffAssignmentInline(admin.TabularInline):
    model = TariffAssignment
    extra = 0
    fields = ["account", "starts_on", "ends_on"]
    autocomplete_fields = ["account"]
    readonly_fields = ["account", "starts_on", "ends_on"]
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # assignments go through the service, which checks overlaps


@admin.register(Tariff)
class TariffAdmin(admin.ModelAdmin):
    list_display = ["name", "standing_charge_per_day", "vat_rate", "valid_from", "valid_to"]
    search_fields = ["name"]
    inlines = [TariffRateInline, TariffAssignmentInline]

    def save_model(self, request, obj, form, change):
        pass  # saved with its bands in save_related, through the service

    def save_related(self, request, form, formsets, change):
        """The tariff and its bands through tariff_create / tariff_update, as the API saves them
        (the assignments inline is read-only)."""
        rates = next(_rates_of(f) for f in formsets if isinstance(f, TariffRateFormSet))
        fields = dict(form.cleaned_data)
        if change:
            tariff = services.tariff_update(tariff=form.instance, rates=rates, **fields)
        else:
            tariff = services.tariff_create(rates=rates, **fields)
            form.instance.pk = tariff.pk
        for formset in formsets:  # what the change message reads: the bands were replaced
            formset.new_objects = list(tariff.rates.all()) if formset.model is TariffRate else []
            formset.changed_objects, formset.deleted_objects = [], []


class _DryRun(Exception):
    pass


class TariffAssignmentForm(forms.ModelForm):
    """Adds through services.tariff_assign (which checks overlaps); the check runs here in a
    rolled-back savepoint so a refusal shows on the form instead of failing the save."""

    class Meta:
        model = TariffAssignment
        fields = ["account", "tariff", "starts_on", "ends_on"]

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            if self.instance.pk is None:
                with transaction.atomic():
                    services.tariff_assign(
                        account=data["account"],
                        tariff=data["tariff"],
                        starts_on=data["starts_on"],
                        ends_on=data.get("ends_on"),
                    )
                    raise _DryRun
            else:
                _assignment_change_check(self.instance, data)
        except _DryRun:
            pass
        except ApplicationError as exc:
            _form_error(self, exc)
        return data


def _assignment_change_check(assignment: TariffAssignment, data: dict) -> None:
    """A changed assignment keeps the rules tariff_assign keeps: inside the tariff's validity,
    no overlap with the account's other assignments."""
    services.tariff_assignment_dates_check(
        tariff=data["tariff"], starts_on=data["starts_on"], ends_on=data.get("ends_on")
    )
    services.tariff_assignment_overlap_check(
        account=data["account"],
        starts_on=data["starts_on"],
        ends_on=data.get("ends_on"),
        excluding=assignment,
    )


@admin.register(TariffAssignment)
class TariffAssignmentAdmin(admin.ModelAdmin):
    form = TariffAssignmentForm
    list_display = ["account", "tariff", "starts_on", "ends_on"]
    list_filter = ["tariff"]
    search_fields = ["account__account_number", "account__owner_name"]
    autocomplete_fields = ["account", "tariff"]

    def save_model(self, request, obj, form, change):
        if change:
            with transaction.atomic():
                _assignment_change_check(obj, form.cleaned_data)
                super().save_model(request, obj, form, change)
            return
        assignment = services.tariff_assign(
            account=obj.account, tariff=obj.tariff, starts_on=obj.starts_on, ends_on=obj.ends_on
        )
        obj.pk = assignment.pk


class BillLineInline(admin.TabularInline):
    model = BillLine
    extra = 0
    can_delete = False
    fields = ["position", "kind", "description", "quantity", "unit", "unit_price", "amount"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class BillMeterReadInline(admin.TabularInline):
    model = BillMeterRead
    extra = 0
    can_delete = False
    fields = [
        "meter_serial",
        "opening_kwh",
        "opening_quality",
        "opening_at",
        "closing_kwh",
        "closing_quality",
        "closing_at",
        "consumption_kwh",
        "register_resets",
        "note",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class MonthFilter(admin.SimpleListFilter):
    title = "month"
    parameter_name = "month"

    def lookups(self, request, model_admin):
        months = Bill.objects.order_by("-month").values_list("month", flat=True).distinct()[:24]
        return [(f"{month:%Y-%m}", f"{month:%B %Y}") for month in months]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(month=services.month_of(self.value()))
        return queryset


class RunMonthForm(forms.Form):
    month = forms.RegexField(regex=r"^\d{4}-\d{2}$", help_text="YYYY-MM, a month that has ended.")
    issue = forms.BooleanField(
        required=False, initial=True, help_text="Issue bills that need no review."
    )


@admin.register(Bill)
class BillAdmin(admin.ModelAdmin):
    list_display = [
        "number",
        "account",
        "month",
        "state",
        "needs_review",
        "consumption_kwh",
        "total",
        "issued_at",
    ]
    list_filter = [MonthFilter, "state", "needs_review"]
    search_fields = ["number", "account__account_number", "account__owner_name"]
    list_select_related = ["account"]
    inlines = [BillMeterReadInline, BillLineInline]
    actions = ["issue_bills", "void_bills", "regenerate_drafts", "draft_corrections"]
    change_list_template = "billing/admin_bill_changelist.html"

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in Bill._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False  # bills are generated (see "Run a month")

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_urls(self):
        run = path(
            "run-month/", self.admin_site.admin_view(self.run_month), name="billing_bill_run_month"
        )
        return [run, *super().get_urls()]

    def run_month(self, request):
        form = RunMonthForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:  # on the workers, a task per chunk of accounts; the run shows its progress
                run = services.bill_run_start(
                    month=form.cleaned_data["month"],
                    issue=form.cleaned_data["issue"],
                    trigger="admin",
                )
            except ApplicationError as exc:
                form.add_error("month", exc.message)
            else:
                self.message_user(
                    request,
                    f"Bills for {run.month:%Y-%m} started on the workers (accounts: "
                    f"{run.accounts:,}, chunks: {run.chunks_total:,}). Bill runs shows how far "
                    "it is and, once finished, what it did.",
                )
                return redirect(reverse("admin:billing_billrun_changelist"))
        context = {**self.admin_site.each_context(request), "form": form, "title": "Run a month"}
        return render(request, "billing/admin_run_month.html", context)

    def _each(self, request, queryset, action, verb: str) -> None:
        done = 0
        for bill in queryset:
            try:
                action(bill)
                done += 1
            except ApplicationError as exc:
                self.message_user(request, f"{bill.number}: {exc.message}", messages.WARNING)
        if done:
            self.message_user(request, f"{verb} {done} bill(s).")

    @admin.action(description="Issue selected drafts")
    def issue_bills(self, request, queryset):
        self._each(request, queryset, lambda bill: services.bill_issue(bill=bill), "Issued")

    @admin.action(description="Void selected bills")
    def void_bills(self, request, queryset):
        reason = f"Voided in the admin by {request.user.email}."
        self._each(
            request,
            queryset,
            lambda bill: services.bill_void(bill=bill, reason=reason, by=request.user),
            "Voided",
        )

    @admin.action(description="Regenerate selected drafts from current data")
    def regenerate_drafts(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda bill: services.bill_regenerate_draft(bill=bill),
            "Regenerated",
        )

    @admin.action(description="Draft a correction of selected issued bills")
    def draft_corrections(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda bill: services.bill_correct(bill=bill),
            "Drafted corrections of",
        )


@admin.register(BillRun)
class BillRunAdmin(admin.ModelAdmin):
    list_display = [
        "month",
        "trigger",
        "started_at",
        "finished_at",
        "progress",
        "accounts",
        "created",
        "regenerated",
        "unchanged",
        "issued",
        "flagged",
    ]
    list_filter = ["trigger"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


# The price feed's and the ledger's admins live in their own modules (this one is near the
# size limit); importing them registers them.
from . import admin_ledger, admin_unit_rates  # noqa: E402, F401
