from django.urls import path

from . import views

app_name = "flex"

urlpatterns = [
    path("chargers/<int:pk>/", views.charger_plan, name="charger-plan"),
]
