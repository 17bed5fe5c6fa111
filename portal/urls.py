from django.urls import path

from . import api, views

app_name = "dashboard"


urlpatterns = [
    path("dashboard/", views.dashboard_home, name="home"),
    path("dashboard/<str:meter_id>/", views.dashboard_meter, name="meter"),
    path("dashboard/<str:meter_id>/series.json", api.SeriesView.as_view(), name="series"),
    path("dashboard/<str:meter_id>/stats.json", api.StatsView.as_view(), name="stats"),
    path("dashboard/<str:meter_id>/summary.json", api.SummaryView.as_view(), name="summary"),
    path("dashboard/<str:meter_id>/daily.json", api.DailyView.as_view(), name="daily"),
    path("dashboard/<str:meter_id>/cards.json", api.CardsView.as_view(), name="cards"),
    path("dashboard/<str:meter_id>/prices.json", api.PricesView.as_view(), name="prices"),
    path("m/", views.mobile, name="mobile"),
    path("m/<str:meter_id>/", views.mobile, name="mobile-meter"),
    path("analyst/", views.analyst, name="analyst"),
    path("analyst/export.csv", views.analyst_csv, name="analyst-csv"),
    path("ops/", views.ops, name="ops"),
    path("ops/reception", views.ops_reception, name="ops-reception"),
]
