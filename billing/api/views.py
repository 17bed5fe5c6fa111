"""The billing API: doors that parse, call a service or selector, and answer."""

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors as account_selectors
from accounts.permissions import IsCustomerOrStaff, IsStaff
from billing import pdf, selectors, services
from billing.models import Tariff
from config.api import Pagination, csv_response, query_params
from config.exceptions import ApplicationError, NotFound
from meters.selectors import meter_for_user

from . import serializers as s


def _rates(data: list[dict]) -> list[services.RateIn]:
    return [services.RateIn(**rate) for rate in data]


class TariffListApi(APIView):
    """Anyone may read prices; only staff change them."""

    # Named on the class so the schema documents the page envelope, not a bare array.
    pagination_class = Pagination

    def get_permissions(self):
        return [AllowAny()] if self.request.method == "GET" else [IsStaff()]

    @extend_schema(responses=s.TariffSerializer(many=True), summary="Tariffs and their bands")
    def get(self, request):
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(selectors.tariffs_list(), request, view=self)
        return paginator.get_paginated_response(s.TariffSerializer(page, many=True).data)

    @extend_schema(
        request=s.TariffSerializer, responses={201: s.TariffSerializer}, summary="Create a tariff"
    )
    def post(self, request):
        data = s.TariffSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        tariff = services.tariff_create(rates=_rates(values.pop("rates")), **values)
        return Response(s.TariffSerializer(tariff).data, status=status.HTTP_201_CREATED)


class TariffDetailApi(APIView):
    def get_permissions(self):
        return [AllowAny()] if self.request.method == "GET" else [IsStaff()]

    def _tariff(self, pk: int) -> Tariff:
        tariff = selectors.tariffs_list().filter(pk=pk).first()
        if tariff is None:
            raise NotFound(f"No tariff {pk}.")
        return tariff

    @extend_schema(responses=s.TariffSerializer, summary="One tariff")
    def get(self, request, pk: int):
        return Response(s.TariffSerializer(self._tariff(pk)).data)

    @extend_schema(
        request=s.TariffSerializer,
        responses=s.TariffSerializer,
        summary="Change a tariff (issued bills keep their prices)",
    )
    def patch(self, request, pk: int):
        tariff = self._tariff(pk)
        data = s.TariffSerializer(tariff, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        rates = values.pop("rates", None)
        tariff = services.tariff_update(
            tariff=tariff, rates=None if rates is None else _rates(rates), **values
        )
        return Response(s.TariffSerializer(selectors.tariffs_list().get(pk=tariff.pk)).data)


class TariffAssignmentApi(APIView):
    permission_classes = [IsStaff]

    @extend_schema(
        request=s.TariffAssignmentInput,
        responses={201: s.TariffAssignmentOutput},
        summary="Put an account on a tariff from a day (ends an open-ended earlier one)",
    )
    def post(self, request):
        data = s.TariffAssignmentInput(data=request.data)
        data.is_valid(raise_exception=True)
        assignment = services.tariff_assign(**data.validated_data)
        return Response(s.TariffAssignmentOutput(assignment).data, status=status.HTTP_201_CREATED)


class CurrentTariffApi(APIView):
    permission_classes = [IsCustomerOrStaff]

    @extend_schema(responses=s.TariffSerializer, summary="The tariff an account is on today")
    def get(self, request, account_number: str):
        account = account_selectors.account_for_user(
            user=request.user, account_number=account_number
        )
        tariff = selectors.tariff_on(account=account, day=timezone.localdate())
        if tariff is None:
            raise NotFound(f"Account {account_number} has no tariff today.")
        return Response(s.TariffSerializer(tariff).data)


def _filtered_bills(request):
    query = query_params(s.BillFilter, request)
    bills = selectors.bills_for_user(user=request.user)
    if "month" in query:
        bills = bills.filter(month=services.month_of(query["month"]))
    if "state" in query:
        bills = bills.filter(state=query["state"])
    if "account" in query:
        bills = bills.filter(account__account_number=query["account"])
    return bills


class BillListApi(APIView):
    permission_classes = [IsCustomerOrStaff]
    # Named on the class so the schema documents the page envelope, not a bare array.
    pagination_class = Pagination

    @extend_schema(
        parameters=[s.BillFilter],
        responses=s.BillSummaryOutput(many=True),
        summary="Bills the caller may see (customers: their issued and void bills)",
    )
    def get(self, request):
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(_filtered_bills(request), request, view=self)
        return paginator.get_paginated_response(
            s.BillSummaryOutput(page, many=True, context={"request": request}).data
        )


class BillDetailApi(APIView):
    permission_classes = [IsCustomerOrStaff]

    @extend_schema(responses=s.BillOutput, summary="A bill with its lines and meter reads")
    def get(self, request, number: str):
        return Response(
            s.BillOutput(
                selectors.bill_for_user(user=request.user, number=number),
                context={"request": request},
            ).data
        )


class LastMonthBillApi(APIView):
    permission_classes = [IsCustomerOrStaff]

    @extend_schema(
        parameters=[s.LastMonthQuery],
        responses=s.BillOutput,
        summary="Last month's issued bill of an account or of a meter's account, in one call",
    )
    def get(self, request):
        query = query_params(s.LastMonthQuery, request)
        account = None
        if "meter" in query:
            account = meter_for_user(user=request.user, meter_id=query["meter"]).account
        elif "account" in query:
            account = account_selectors.account_for_user(
                user=request.user, account_number=query["account"]
            )
        elif request.user.is_staff:
            raise ApplicationError(
                "account: staff must name an account or a meter.", field="account"
            )
        else:
            accounts = list(account_selectors.accounts_for_user(user=request.user)[:2])
            if len(accounts) != 1:
                raise ApplicationError(
                    "account: you have several accounts; name one.", field="account"
                )
            account = accounts[0]
        bill = selectors.bill_last_month(user=request.user, account=account)
        return Response(s.BillOutput(bill, context={"request": request}).data)


CSV_COLUMNS = [
    "number",
    "account_number",
    "month",
    "period_start",
    "period_end",
    "state",
    "currency",
    "consumption_kwh",
    "subtotal",
    "vat",
    "total",
    "needs_review",
    "issued_at",
    "corrects",
]


def _csv_rows(bills, *, staff: bool):
    for bill in bills.iterator(chunk_size=2000):
        row = [
            bill.number,
            bill.account.account_number,
            f"{bill.month:%Y-%m}",
            bill.period_start.isoformat(),
            bill.period_end.isoformat(),
            bill.state,
            bill.currency,
            bill.consumption_kwh,
            bill.subtotal,
            bill.vat,
            bill.total,
            bill.needs_review,
            bill.issued_at.isoformat() if bill.issued_at else "",
            bill.corrects.number if bill.corrects else "",
        ]
        if not staff:  # the review flag is staff-only, as in the JSON
            del row[CSV_COLUMNS.index("needs_review")]
        yield row


class BillCsvApi(APIView):
    permission_classes = [IsCustomerOrStaff]

    @extend_schema(
        parameters=[s.BillFilter],
        responses={(200, "text/csv"): OpenApiTypes.STR},
        summary="CSV of the bills the caller may see (same filters as the list)",
        description="Columns: "
        + ", ".join(CSV_COLUMNS)
        + " (needs_review for staff only). Money in the bill's currency.",
    )
    def get(self, request):
        bills = _filtered_bills(request).prefetch_related(None)
        staff = request.user.is_staff
        columns = CSV_COLUMNS if staff else [c for c in CSV_COLUMNS if c != "needs_review"]
        return csv_response(columns, _csv_rows(bills, staff=staff), "bills.csv")


class BillPdfApi(APIView):
    permission_classes = [IsCustomerOrStaff]

    @extend_schema(
        responses={(200, "application/pdf"): OpenApiTypes.BINARY},
        summary="The bill's PDF invoice (reads, lines, totals, daily usage chart)",
    )
    def get(self, request, number: str):
        bill = selectors.bill_for_user(user=request.user, number=number)
        response = HttpResponse(pdf.invoice_pdf(bill), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="bill-{bill.number}.pdf"'
        return response


class BillIssueApi(APIView):
    permission_classes = [IsStaff]

    @extend_schema(request=None, responses=s.BillOutput, summary="Issue a draft bill")
    def post(self, request, number: str):
        bill = selectors.bill_for_user(user=request.user, number=number)
        services.bill_issue(bill=bill)
        return Response(
            s.BillOutput(
                selectors.bill_for_user(user=request.user, number=number),
                context={"request": request},
            ).data
        )


class BillVoidApi(APIView):
    permission_classes = [IsStaff]

    @extend_schema(request=s.VoidInput, responses=s.BillOutput, summary="Void a bill")
    def post(self, request, number: str):
        data = s.VoidInput(data=request.data)
        data.is_valid(raise_exception=True)
        bill = selectors.bill_for_user(user=request.user, number=number)
        services.bill_void(bill=bill, reason=data.validated_data["reason"], by=request.user)
        return Response(
            s.BillOutput(
                selectors.bill_for_user(user=request.user, number=number),
                context={"request": request},
            ).data
        )


class BillCorrectApi(APIView):
    permission_classes = [IsStaff]

    @extend_schema(
        request=None,
        responses={201: s.BillOutput},
        summary="Draft a correction of an issued bill (issuing it voids the old one)",
    )
    def post(self, request, number: str):
        bill = selectors.bill_for_user(user=request.user, number=number)
        correction = services.bill_correct(bill=bill)
        fresh = selectors.bill_for_user(user=request.user, number=correction.number)
        return Response(
            s.BillOutput(fresh, context={"request": request}).data, status=status.HTTP_201_CREATED
        )


class BillRunApi(APIView):
    permission_classes = [IsStaff]

    @extend_schema(
        request=s.BillRunInput,
        responses=s.BillRunOutput,
        summary="Generate (and issue) a past month's bills now; idempotent",
    )
    def post(self, request):
        data = s.BillRunInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        accounts = None
        if values.get("accounts"):
            accounts = [
                account_selectors.account_for_user(user=request.user, account_number=number)
                for number in values["accounts"]
            ]
        run, _ = services.bills_generate(
            month=values["month"], accounts=accounts, issue=values["issue"], trigger="api"
        )
        return Response(s.BillRunOutput(run).data)
