from django.urls import path

from . import views

app_name = "charging"

urlpatterns = [
    path("", views.charger_list, name="charger-list"),
    path("<int:pk>/", views.charger_detail, name="charger-detail"),
    path("<int:pk>/start", views.charging_start, name="charging-start"),
    path("<int:pk>/stop", views.charging_stop, name="charging-stop"),
]
