from django.urls import path

from . import views

app_name = "batteries"
urlpatterns = [
    path("", views.battery_list, name="list"),
    path("<str:key>/", views.battery_detail, name="detail"),
]
