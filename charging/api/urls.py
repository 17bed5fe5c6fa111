from django.urls import path

from . import views

urlpatterns = [
    path("chargers", views.ChargerListApi.as_view(), name="charger-list"),
    path("chargers/<int:pk>", views.ChargerDetailApi.as_view(), name="charger-detail"),
    path(
        "chargers/<int:pk>/authorization-key",
        views.ChargerKeyRotateApi.as_view(),
        name="charger-key-rotate",
    ),
    path(
        "chargers/<int:pk>/commands",
        views.ChargerCommandListApi.as_view(),
        name="charger-command-list",
    ),
    path(
        "chargers/<int:pk>/commands/<str:operation>",
        views.CommandCreateApi.as_view(),
        name="charger-command-create",
    ),
    path("charging/tags", views.IdTagListApi.as_view(), name="charging-tag-list"),
    path("charging/tags/<int:pk>", views.IdTagDetailApi.as_view(), name="charging-tag-detail"),
    path("charging/commands", views.CommandListApi.as_view(), name="charging-command-list"),
    path(
        "charging/commands/<int:pk>",
        views.CommandDetailApi.as_view(),
        name="charging-command-detail",
    ),
    path(
        "charging/transactions",
        views.TransactionListApi.as_view(),
        name="charging-transaction-list",
    ),
    path(
        "charging/transactions.csv",
        views.TransactionCsvApi.as_view(),
        name="charging-transaction-csv",
    ),
    path(
        "charging/transactions/<int:pk>",
        views.TransactionDetailApi.as_view(),
        name="charging-transaction-detail",
    ),
]
