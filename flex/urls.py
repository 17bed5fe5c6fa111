from django.urls import path

from . import views

app_name = "flex"

urlpatterns = [
    path("", views.overview, name="home"),
    path("chargers/<int:pk>/", views.charger_plan, name="charger-plan"),
    path("batteries/<str:key>/", views.battery_plan, name="battery-plan"),
]
