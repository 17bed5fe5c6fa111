"""The ledger's API: balances and statements (customers: their own accounts), and for staff
entries, bank statement imports, unmatched payments and direct-debit runs."""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors as account_selectors
from accounts.permissions import IsCustomerOrStaff, IsStaff
from billing import pdf, selectors, services
from billing.models import (
    MONEY_DIGITS,
    MONEY_PLACES,
    BankStatementImport,
    BankStatementLine,
    DirectDebitRun,
    EntryKind,
    LedgerEntry,
    PaymentMethod,
)
from config import api_fields as fields
from config.api import Pagination, csv_response, query_params
from config.exceptions import NotFound


def _money(**kwargs):
    return fields.DecimalField(MONEY_DIGITS, MONEY_PLACES, **kwargs)


class BalanceOutput(serializers.Serializer):
    account = serializers.CharField()
    currency = serializers.CharField()
    balance = _money(help_text="Above zero: owed by the customer; below zero: in credit.")
    state = serializers.ChoiceField(choices=["owed", "credit", "settled"])


class EntryOutput(fields.ModelSerializer):
    account = serializers.CharField(source="account.account_number")
    bill = serializers.CharField(source="bill.number", allow_null=True, default=None)

    class Meta:
        model = LedgerEntry
        fields = [
            "id",
            "account",
            "posted_on",
            "kind",
            "amount",
            "currency",
            "reference",
            "description",
            "method",
            "bill",
        ]


class StatementLineOutput(EntryOutput):
    balance = _money()

    class Meta(EntryOutput.Meta):
        fields = [*EntryOutput.Meta.fields, "balance"]


class StatementOutput(serializers.Serializer):
    account = serializers.CharField()
    start = serializers.DateField(allow_null=True)
    end = serializers.DateField(allow_null=True)
    opening = _money(help_text="The balance brought forward to ``start``.")
    closing = _money()
    entries = StatementLineOutput(many=True)


class StatementQuery(serializers.Serializer):
    to = serializers.DateField(required=False, help_text="Last local day (inclusive).")

    def get_fields(self):
        # "from" is a Python keyword, so it cannot be declared as a class attribute.
        declared = super().get_fields()
        declared["from"] = serializers.DateField(required=False, help_text="First local day.")
        return declared


class EntryInput(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=[EntryKind.PAYMENT, EntryKind.REFUND, EntryKind.GOODWILL]
    )
    amount = _money(help_text="Positive; the kind gives the sign (a payment is a credit).")
    posted_on = serializers.DateField()
    reference = serializers.CharField(max_length=100)
    description = serializers.CharField(max_length=200, required=False, default="")
    method = serializers.ChoiceField(choices=PaymentMethod.choices, required=False, default="")
    idempotency_key = serializers.CharField(
        max_length=150, required=False, help_text="The same key again returns the first entry."
    )


def _balance_state(balance) -> str:
    return "owed" if balance > 0 else "credit" if balance < 0 else "settled"


def _account(request, account_number: str):
    return account_selectors.account_for_user(user=request.user, account_number=account_number)


def _statement(request, account_number: str):
    query = query_params(StatementQuery, request)
    account = _account(request, account_number)
    return selectors.statement(account=account, start=query.get("from"), end=query.get("to"))


class BalanceApi(APIView):
    permission_classes = [IsCustomerOrStaff]

    @extend_schema(responses=BalanceOutput, summary="An account's balance (sum of its ledger)")
    def get(self, request, account_number: str):
        account = _account(request, account_number)
        balance = selectors.account_balance(account=account)
        return Response(
            BalanceOutput(
                {
                    "account": account.account_number,
                    "currency": "GBP",
                    "balance": balance,
                    "state": _balance_state(balance),
                }
            ).data
        )


class StatementApi(APIView):
    permission_classes = [IsCustomerOrStaff]

    @extend_schema(
        parameters=[StatementQuery],
        responses=StatementOutput,
        summary="An account's statement: entries with the running balance",
    )
    def get(self, request, account_number: str):
        statement = _statement(request, account_number)
        lines = []
        for line in statement.lines:
            line.entry.balance = line.balance
            lines.append(line.entry)
        data = {
            "account": statement.account.account_number,
            "start": statement.start,
            "end": statement.end,
            "opening": statement.opening,
            "closing": statement.closing,
            "entries": lines,
        }
        return Response(StatementOutput(data).data)


class StatementPdfApi(APIView):
    permission_classes = [IsCustomerOrStaff]

    @extend_schema(
        parameters=[StatementQuery],
        responses={(200, "application/pdf"): OpenApiTypes.BINARY},
        summary="An account's statement as a PDF",
    )
    def get(self, request, account_number: str):
        statement = _statement(request, account_number)
        response = HttpResponse(pdf.statement_pdf(statement), content_type="application/pdf")
        response["Content-Disposition"] = (
            f'attachment; filename="statement-{statement.account.account_number}.pdf"'
        )
        return response


class EntryCreateApi(APIView):
    permission_classes = [IsStaff]

    @extend_schema(
        request=EntryInput,
        responses={201: EntryOutput, 200: EntryOutput},
        summary="Record a payment, refund or goodwill credit (200: the key's earlier entry)",
    )
    def post(self, request, account_number: str):
        data = EntryInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        key = values.pop("idempotency_key", None)
        entry, created = services.ledger_entry_record(
            account=_account(request, account_number),
            entry=services.EntryIn(**values),
            by=request.user,
            idempotency_key=f"api:{key}" if key else None,
        )
        return Response(EntryOutput(entry).data, status=status.HTTP_201_CREATED if created else 200)


class ImportOutput(fields.ModelSerializer):
    class Meta:
        model = BankStatementImport
        fields = [
            "id",
            "filename",
            "imported_at",
            "rows",
            "matched",
            "unmatched",
            "invalid",
            "duplicates",
        ]


class ImportInput(serializers.Serializer):
    file = serializers.FileField(help_text="The bank statement CSV (README: Payments).")


class BankStatementImportApi(APIView):
    permission_classes = [IsStaff]
    parser_classes = [MultiPartParser]

    @extend_schema(
        request={"multipart/form-data": ImportInput},
        responses={201: ImportOutput},
        summary="Import a bank statement CSV: payments for matched rows, the rest kept",
    )
    def post(self, request):
        data = ImportInput(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        if upload.size > services.MAX_STATEMENT_BYTES:
            raise services.ApplicationError("file: too large.", field="file")
        imported = services.bank_statement_import(
            content=upload.read(), filename=upload.name, by=request.user
        )
        return Response(ImportOutput(imported).data, status=status.HTTP_201_CREATED)


class BankLineOutput(fields.ModelSerializer):
    account = serializers.CharField(source="account.account_number", allow_null=True, default=None)

    class Meta:
        model = BankStatementLine
        fields = [
            "id",
            "statement",
            "row_number",
            "paid_on",
            "amount",
            "reference",
            "description",
            "status",
            "note",
            "account",
        ]


class UnmatchedListApi(APIView):
    permission_classes = [IsStaff]
    pagination_class = Pagination

    @extend_schema(
        responses=BankLineOutput(many=True),
        summary="Bank statement rows no account was found for, and unreadable ones",
    )
    def get(self, request):
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(selectors.bank_lines_to_match(), request, view=self)
        return paginator.get_paginated_response(BankLineOutput(page, many=True).data)


class MatchInput(serializers.Serializer):
    account = serializers.CharField(max_length=12, help_text="Account number.")


class UnmatchedMatchApi(APIView):
    permission_classes = [IsStaff]

    @extend_schema(
        request=MatchInput, responses=BankLineOutput, summary="Match a row to an account"
    )
    def post(self, request, pk: int):
        data = MatchInput(data=request.data)
        data.is_valid(raise_exception=True)
        line = selectors.bank_lines_to_match().filter(pk=pk).first()
        if line is None:
            raise NotFound(f"No unmatched row {pk}.")
        account = _account(request, data.validated_data["account"])
        line = services.bank_line_match(line=line, account=account, by=request.user)
        return Response(BankLineOutput(line).data)


class RunInput(serializers.Serializer):
    collection_date = serializers.DateField()


class RunOutput(fields.ModelSerializer):
    items = serializers.IntegerField(source="items.count")

    class Meta:
        model = DirectDebitRun
        fields = ["id", "collection_date", "created_at", "collected_at", "items"]


def _run(pk: int) -> DirectDebitRun:
    run = DirectDebitRun.objects.filter(pk=pk).first()
    if run is None:
        raise NotFound(f"No direct-debit run {pk}.")
    return run


class DirectDebitRunApi(APIView):
    permission_classes = [IsStaff]

    @extend_schema(
        request=RunInput,
        responses={201: RunOutput, 200: RunOutput},
        summary="Make the direct-debit run of a collection date (200: it was made before)",
    )
    def post(self, request):
        data = RunInput(data=request.data)
        data.is_valid(raise_exception=True)
        run, created = services.direct_debit_run_create(
            collection_date=data.validated_data["collection_date"], by=request.user
        )
        return Response(RunOutput(run).data, status=201 if created else 200)


DD_COLUMNS = ["account_number", "mandate_reference", "amount", "currency", "collection_date"]


class DirectDebitCsvApi(APIView):
    permission_classes = [IsStaff]

    @extend_schema(
        responses={(200, "text/csv"): OpenApiTypes.STR},
        summary="The run's amounts due as CSV for the bank",
        description="Columns: " + ", ".join(DD_COLUMNS) + ".",
    )
    def get(self, request, pk: int):
        run = _run(pk)
        return csv_response(
            DD_COLUMNS, selectors.direct_debit_rows(run=run), f"direct-debits-{run.pk}.csv"
        )


class DirectDebitCollectedApi(APIView):
    permission_classes = [IsStaff]

    @extend_schema(
        request=None,
        responses=RunOutput,
        summary="The bank collected the run: its payments go on the ledger (once)",
    )
    def post(self, request, pk: int):
        run = _run(pk)
        services.direct_debit_run_collected(run=run, by=request.user)
        run.refresh_from_db()
        return Response(RunOutput(run).data)
