"""A route table with one view that fails, to see the 500 page as a customer would."""

from django.urls import include, path


def boom(request):
    raise RuntimeError("a bug")


urlpatterns = [path("boom", boom), path("", include("config.urls"))]
handler500 = "config.http_errors.server_error"
