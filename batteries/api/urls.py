from django.urls import path

from . import views

urlpatterns = [
    path("batteries", views.BatteryListApi.as_view(), name="battery-list"),
    path("batteries/count", views.BatteryCountApi.as_view(), name="battery-count"),
    path("batteries/telemetry", views.BulkTelemetryApi.as_view(), name="battery-telemetry-bulk"),
    path("batteries/<str:key>", views.BatteryDetailApi.as_view(), name="battery-detail"),
    path("batteries/<str:key>/telemetry", views.TelemetryApi.as_view(), name="battery-telemetry"),
    path("batteries/<str:key>/history", views.HistoryApi.as_view(), name="battery-history"),
    path("batteries/<str:key>/alerts", views.AlertListApi.as_view(), name="battery-alerts"),
    path(
        "batteries/<str:key>/alerts/<int:alert_id>/acknowledge",
        views.AlertAcknowledgeApi.as_view(),
        name="battery-alert-acknowledge",
    ),
    path(
        "batteries/<str:key>/instructions",
        views.InstructionListApi.as_view(),
        name="battery-instructions",
    ),
    path("batteries/<str:key>/rules", views.RuleListApi.as_view(), name="battery-rules"),
    path("battery-rules", views.RuleCollectionApi.as_view(), name="battery-rule-list"),
    path("battery-rules/<int:rule_id>", views.RuleDetailApi.as_view(), name="battery-rule-detail"),
]
