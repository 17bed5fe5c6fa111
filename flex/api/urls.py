from django.urls import path

from . import views

urlpatterns = [
    path("chargers/<int:charger_id>/goal", views.ChargingGoalApi.as_view(), name="charging-goal"),
    path(
        "chargers/<int:charger_id>/goal/sessions",
        views.ChargingSessionsApi.as_view(),
        name="charging-goal-sessions",
    ),
    path(
        "batteries/<str:key>/schedule", views.BatteryScheduleApi.as_view(), name="battery-schedule"
    ),
]
