"""Admin for the ledger (imported by admin.py): entries are recorded through the ledger's
service and never changed; bank statements are uploaded and their unmatched rows matched;
direct-debit runs are made, downloaded and marked collected."""

from django import forms
from django.contrib import admin, messages
from django.shortcuts import redirect, render
from django.urls import path, reverse

from accounts.models import CustomerAccount
from config.api import csv_response
from config.exceptions import ApplicationError, InvalidInput, form_errors

from . import selectors, services
from .models import (
    BankStatementImport,
    BankStatementLine,
    DirectDebitMandate,
    DirectDebitRun,
    EntryKind,
    LedgerEntry,
    LineStatus,
    PaymentMethod,
)


class EntryForm(forms.ModelForm):
    """A payment, refund or goodwill credit, checked by the service's one validator; the amount
    is given positive (the kind gives the sign)."""

    kind = forms.ChoiceField(
        choices=[(kind, EntryKind(kind).label) for kind in services.ledger.STAFF_KINDS]
    )
    amount = forms.DecimalField(max_digits=12, decimal_places=2, help_text="Positive.")
    method = forms.ChoiceField(choices=[("", "-"), *PaymentMethod.choices], required=False)

    class Meta:
        model = LedgerEntry
        fields = ["account", "kind", "amount", "posted_on", "reference", "description", "method"]

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            self.entry_in = services.EntryIn(
                kind=data["kind"],
                amount=data["amount"],
                posted_on=data["posted_on"],
                reference=data.get("reference", ""),
                description=data.get("description", ""),
                method=data.get("method", ""),
            )
            services.entry_input_check(self.entry_in)
        except InvalidInput as exc:
            raise form_errors(exc) from exc
        return data

    def _post_clean(self):
        """The entry is built and checked by the service (the amount's sign comes from its
        kind), not by the model form: the form's positive amount would break the table's
        sign rule."""


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):
    form = EntryForm
    list_display = ["posted_on", "account", "kind", "amount", "reference", "method", "bill"]
    list_filter = ["kind", "method"]
    search_fields = ["account__account_number", "reference"]
    autocomplete_fields = ["account"]
    date_hierarchy = "posted_on"

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in LedgerEntry._meta.fields] if obj else []

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None or request.method == "GET"

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        entry, _ = services.ledger_entry_record(
            account=form.cleaned_data["account"], entry=form.entry_in, by=request.user
        )
        obj.pk = entry.pk
        obj.__dict__.update(entry.__dict__)


class UploadForm(forms.Form):
    file = forms.FileField(help_text="The bank statement CSV (README: Payments).")


class LineInline(admin.TabularInline):
    model = BankStatementLine
    fields = ["row_number", "paid_on", "amount", "reference", "status", "note", "account"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(BankStatementImport)
class BankStatementImportAdmin(admin.ModelAdmin):
    list_display = ["imported_at", "filename", "rows", "matched", "unmatched", "invalid"]
    readonly_fields = [field.name for field in BankStatementImport._meta.fields]
    inlines = [LineInline]

    def get_urls(self):
        upload = path(
            "upload/",
            self.admin_site.admin_view(self.upload_view),
            name="billing_bankstatementimport_upload",
        )
        return [upload, *super().get_urls()]

    def add_view(self, request, form_url="", extra_context=None):
        return redirect("admin:billing_bankstatementimport_upload")

    def upload_view(self, request):
        form = UploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                if upload.size > services.MAX_STATEMENT_BYTES:
                    raise InvalidInput({"file": ["The file is too large."]})
                imported = services.bank_statement_import(
                    content=upload.read(), filename=upload.name, by=request.user
                )
            except ApplicationError as exc:
                form.add_error("file", exc.message)
            else:
                messages.success(
                    request,
                    f"{imported.rows} rows: {imported.matched} payments, {imported.unmatched} "
                    f"unmatched, {imported.invalid} unreadable, {imported.duplicates} imported "
                    "before.",
                )
                return redirect(
                    reverse("admin:billing_bankstatementimport_change", args=[imported.pk])
                )
        context = {**self.admin_site.each_context(request), "form": form, "title": "Upload"}
        return render(request, "billing/admin_upload_statement.html", context)


class MatchForm(forms.ModelForm):
    account = forms.ModelChoiceField(queryset=CustomerAccount.objects.all())

    class Meta:
        model = BankStatementLine
        fields = ["account"]


@admin.register(BankStatementLine)
class BankStatementLineAdmin(admin.ModelAdmin):
    """Rows to match: open one, choose its account, save (a payment goes on the ledger)."""

    form = MatchForm
    list_display = ["statement", "row_number", "paid_on", "amount", "reference", "status", "note"]
    list_filter = ["status"]
    search_fields = ["reference", "description"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("statement", "account")

    def get_readonly_fields(self, request, obj=None):
        fields = [f.name for f in BankStatementLine._meta.fields if f.name != "account"]
        if obj is None or obj.status != LineStatus.UNMATCHED:
            fields.append("account")
        return fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        try:
            services.bank_line_match(
                line=obj, account=form.cleaned_data["account"], by=request.user
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)


@admin.register(DirectDebitMandate)
class DirectDebitMandateAdmin(admin.ModelAdmin):
    list_display = ["reference", "account", "active", "created_at"]
    list_filter = ["active"]
    search_fields = ["reference", "account__account_number"]
    autocomplete_fields = ["account"]


@admin.register(DirectDebitRun)
class DirectDebitRunAdmin(admin.ModelAdmin):
    list_display = ["collection_date", "created_at", "collected_at"]
    fields = ["collection_date"]
    actions = ["download_csv", "mark_collected"]

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None or request.method == "GET"

    def save_model(self, request, obj, form, change):
        run, _ = services.direct_debit_run_create(
            collection_date=form.cleaned_data["collection_date"], by=request.user
        )
        obj.pk = run.pk

    @admin.action(description="Download the amounts due (CSV)")
    def download_csv(self, request, queryset):
        rows = [row for run in queryset for row in selectors.direct_debit_rows(run=run)]
        header = ["account_number", "mandate_reference", "amount", "currency", "collection_date"]
        return csv_response(header, rows, "direct-debits.csv")

    @admin.action(description="The bank collected these runs: record the payments")
    def mark_collected(self, request, queryset):
        for run in queryset:
            try:
                made = services.direct_debit_run_collected(run=run, by=request.user)
            except ApplicationError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, f"{run}: {made} payments recorded.")
