from django.urls import path

from . import views

app_name = "billing"
urlpatterns = [
    path("", views.bill_list, name="list"),
    path("<str:number>/", views.bill_detail, name="detail"),
    path("<str:number>/invoice.pdf", views.bill_pdf, name="pdf"),
]
