from django.urls import path

from . import views

app_name = "dashboard"

urlpatterns = [
    path("dashboard/", views.dashboard_home, name="home"),
    path("dashboard/<str:meter_id>/", views.dashboard_meter, name="meter"),
    path("dashboard/<str:meter_id>/series.json", views.series_json, name="series"),
    path("dashboard/<str:meter_id>/stats.json", views.stats_json, name="stats"),
    path("dashboard/<str:meter_id>/summary.json", views.summary_json, name="summary"),
    path("dashboard/<str:meter_id>/daily.json", views.daily_json, name="daily"),
    path("dashboard/<str:meter_id>/cards.json", views.cards_json, name="cards"),
    path("m/", views.mobile, name="mobile"),
    path("m/<str:meter_id>/", views.mobile, name="mobile-meter"),
    path("analyst/", views.analyst, name="analyst"),
    path("analyst/export.csv", views.analyst_csv, name="analyst-csv"),
    path("ops/", views.ops, name="ops"),
    path("ops/reception", views.ops_reception, name="ops-reception"),
]
