from django.urls import path

from . import ledger, unit_rates, views

urlpatterns = [
    path("tariffs", views.TariffListApi.as_view(), name="tariff-list"),
    path("tariffs/<int:pk>", views.TariffDetailApi.as_view(), name="tariff-detail"),
    path(
        "tariffs/<slug:code>/unit-rates",
        unit_rates.UnitRateListApi.as_view(),
        name="tariff-unit-rates",
    ),
    path(
        "tariffs/<slug:code>/unit-rates/<str:day>",
        unit_rates.UnitRateDayApi.as_view(),
        name="tariff-unit-rates-day",
    ),
    path("tariff-assignments", views.TariffAssignmentApi.as_view(), name="tariff-assign"),
    path(
        "accounts/<str:account_number>/tariff",
        views.CurrentTariffApi.as_view(),
        name="account-current-tariff",
    ),
    path("bills", views.BillListApi.as_view(), name="bill-list"),
    path("bills/last-month", views.LastMonthBillApi.as_view(), name="bill-last-month"),
    path("bills/export.csv", views.BillCsvApi.as_view(), name="bill-csv"),
    path("bills/runs", views.BillRunApi.as_view(), name="bill-run"),
    path("bills/<str:number>", views.BillDetailApi.as_view(), name="bill-detail"),
    path("bills/<str:number>/invoice.pdf", views.BillPdfApi.as_view(), name="bill-pdf"),
    path("bills/<str:number>/issue", views.BillIssueApi.as_view(), name="bill-issue"),
    path("bills/<str:number>/void", views.BillVoidApi.as_view(), name="bill-void"),
    path("bills/<str:number>/correct", views.BillCorrectApi.as_view(), name="bill-correct"),
    path("accounts/<str:account_number>/balance", ledger.BalanceApi.as_view(), name="balance"),
    path(
        "accounts/<str:account_number>/statement",
        ledger.StatementApi.as_view(),
        name="statement",
    ),
    path(
        "accounts/<str:account_number>/statement.pdf",
        ledger.StatementPdfApi.as_view(),
        name="statement-pdf",
    ),
    path(
        "accounts/<str:account_number>/ledger",
        ledger.EntryCreateApi.as_view(),
        name="ledger-entry-create",
    ),
    path(
        "payments/bank-statements",
        ledger.BankStatementImportApi.as_view(),
        name="bank-statement-import",
    ),
    path("payments/unmatched", ledger.UnmatchedListApi.as_view(), name="payments-unmatched"),
    path(
        "payments/unmatched/<int:pk>/match",
        ledger.UnmatchedMatchApi.as_view(),
        name="payments-unmatched-match",
    ),
    path("direct-debits/runs", ledger.DirectDebitRunApi.as_view(), name="dd-runs"),
    path("direct-debits/runs/<int:pk>.csv", ledger.DirectDebitCsvApi.as_view(), name="dd-csv"),
    path(
        "direct-debits/runs/<int:pk>/collected",
        ledger.DirectDebitCollectedApi.as_view(),
        name="dd-collected",
    ),
]
