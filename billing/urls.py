from django.urls import path

from . import views

app_name = "billing"
urlpatterns = [
    path("", views.bill_list, name="list"),
    path("statement/", views.statement, name="statement"),
    path("statement/statement.pdf", views.statement_pdf, name="statement-pdf"),
    path("<str:number>/", views.bill_detail, name="detail"),
    path("<str:number>/invoice.pdf", views.bill_pdf, name="pdf"),
]
