"""URLs: admin, docs, health, then each app's portal pages and API, found by convention.

An app with ``<app>/urls.py`` gets its portal pages under ``/<app label>/`` (accounts, and an app
whose AppConfig sets ``url_prefix = ""``, at the root); an app with ``<app>/api/urls.py`` gets its
endpoints under ``/api/v1/``. Adding an app's URLs never means editing this file.
"""

from importlib.util import find_spec

from django.apps import apps
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


def _portal_prefix(app: str) -> str:
    config = apps.get_app_config(app.rsplit(".", 1)[-1])
    return getattr(config, "url_prefix", f"{config.label}/")


def _included(module_suffix: str, prefix, app_names: list[str]) -> list:
    return [
        path(prefix(app), include(f"{app}.{module_suffix}"))
        for app in app_names
        if _module_exists(f"{app}.{module_suffix}")
    ]


urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", views.healthz, name="healthz"),
    path("status", views.status_view, name="status"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    *_included("api.urls", lambda app: "api/v1/", settings.HOMEGRID_APPS),
    path("", include("accounts.urls")),
    *_included(
        "urls", _portal_prefix, [app for app in settings.HOMEGRID_APPS if app != "accounts"]
    ),
]

handler400 = "config.http_errors.bad_request"
handler403 = "config.http_errors.permission_denied"
handler404 = "config.http_errors.page_not_found"
handler500 = "config.http_errors.server_error"
