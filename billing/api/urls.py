from django.urls import path

from . import unit_rates, views

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
]
