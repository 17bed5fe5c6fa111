"""URLs: admin, docs, health, then each app's portal pages and API, found by convention.

An app with ``<app>/urls.py`` gets its portal pages under ``/<app label>/`` (accounts at the root);
an app with ``<app>/api/urls.py`` gets its endpoints under ``/api/v1/``. Adding an app's URLs never
means editing this file.
"""

from importlib.util import find_spec

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from config import views

admin.site.site_header = "HomeGrid administration"
admin.site.site_title = "HomeGrid admin"


def _module_exists(name: str) -> bool:
    try:
        return find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def _included(module_suffix: str, prefix: str, apps: list[str]) -> list:
    return [
        path(prefix.format(label=app.rsplit(".", 1)[-1]), include(f"{app}.{module_suffix}"))
        for app in apps
        if _module_exists(f"{app}.{module_suffix}")
    ]


urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", views.healthz, name="healthz"),
    path("status", views.status_view, name="status"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    *_included("api.urls", "api/v1/", settings.HOMEGRID_APPS),
    path("", include("accounts.urls")),
    *_included("urls", "{label}/", [app for app in settings.HOMEGRID_APPS if app != "accounts"]),
]
