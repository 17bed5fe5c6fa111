from django.urls import path

from . import views

urlpatterns = [
    path("meters", views.MeterListApi.as_view(), name="meter-list"),
    path("meters/<str:meter_id>", views.MeterDetailApi.as_view(), name="meter-detail"),
    path(
        "meters/<str:meter_id>/readings",
        views.MeterReadingsApi.as_view(),
        name="meter-readings",
    ),
    path(
        "meters/<str:meter_id>/readings/latest",
        views.LatestReadingApi.as_view(),
        name="meter-reading-latest",
    ),
    path(
        "meters/<str:meter_id>/readings/<str:at>/correction",
        views.ReadingCorrectionApi.as_view(),
        name="meter-reading-correction",
    ),
    path(
        "meters/<str:meter_id>/estimates",
        views.ReadingEstimatesApi.as_view(),
        name="meter-estimates",
    ),
    path(
        "meters/<str:meter_id>/consumption",
        views.ConsumptionApi.as_view(),
        name="meter-consumption",
    ),
    path(
        "meters/<str:meter_id>/consumption/series",
        views.SeriesApi.as_view(),
        name="meter-consumption-series",
    ),
    path("meters/<str:meter_id>/stats", views.StatsApi.as_view(), name="meter-stats"),
    path(
        "meters/<str:meter_id>/energy-summary",
        views.EnergySummaryApi.as_view(),
        name="meter-energy-summary",
    ),
    path("meters/<str:meter_id>/export.csv", views.ExportCsvApi.as_view(), name="meter-export-csv"),
    path(
        "meters/<str:meter_id>/green-button",
        views.GreenButtonApi.as_view(),
        name="meter-green-button",
    ),
    path("meters/<str:meter_id>/keys", views.MeterKeysApi.as_view(), name="meter-keys"),
    path(
        "meters/<str:meter_id>/keys/<int:key_id>/revoke",
        views.MeterKeyRevokeApi.as_view(),
        name="meter-key-revoke",
    ),
    path("analytics/consumption", views.AggregatesApi.as_view(), name="analytics-consumption"),
    path("readings/bulk", views.BulkReadingsApi.as_view(), name="readings-bulk"),
    path("system/archives", views.ArchiveListApi.as_view(), name="system-archives"),
    path(
        "system/archives/restore",
        views.ArchiveRestoreApi.as_view(),
        name="system-archives-restore",
    ),
    path("system/reception", views.ReceptionApi.as_view(), name="system-reception"),
]
