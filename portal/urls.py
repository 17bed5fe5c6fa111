from django.contrib.auth.decorators import login_required
from django.urls import path

from . import api, views

app_name = "dashboard"


def _door(view_class):
    """A JSON door of the dashboard: like its page, it sends a visitor who is not logged in to
    log in, then answers in the API's conventions."""
    return login_required(view_class.as_view())


urlpatterns = [
    path("dashboard/", views.dashboard_home, name="home"),
    path("dashboard/<str:meter_id>/", views.dashboard_meter, name="meter"),
    path("dashboard/<str:meter_id>/series.json", _door(api.SeriesView), name="series"),
    path("dashboard/<str:meter_id>/stats.json", _door(api.StatsView), name="stats"),
    path("dashboard/<str:meter_id>/summary.json", _door(api.SummaryView), name="summary"),
    path("dashboard/<str:meter_id>/daily.json", _door(api.DailyView), name="daily"),
    path("dashboard/<str:meter_id>/cards.json", _door(api.CardsView), name="cards"),
    path("m/", views.mobile, name="mobile"),
    path("m/<str:meter_id>/", views.mobile, name="mobile-meter"),
    path("analyst/", views.analyst, name="analyst"),
    path("analyst/export.csv", views.analyst_csv, name="analyst-csv"),
    path("ops/", views.ops, name="ops"),
    path("ops/reception", views.ops_reception, name="ops-reception"),
]
