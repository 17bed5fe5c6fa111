"""The route table: who serves which address, in one place.

Each app owns its routes (``<app>/urls.py`` for portal pages, ``<app>/api/urls.py`` for
``/api/v1/``); this file says where each is mounted. Adding an app's URLs is one line here.
"""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from config import views

admin.site.site_header = "HomeGrid administration"
admin.site.site_title = "HomeGrid admin"

api_v1 = [
    path("", include("accounts.api.urls")),
    path("", include("meters.api.urls")),
    path("", include("batteries.api.urls")),
    path("", include("charging.api.urls")),
    path("", include("billing.api.urls")),
    path("", include("flex.api.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("favicon.ico", views.favicon),
    path("healthz", views.healthz, name="healthz"),
    path("status", views.status_view, name="status"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    path("api/v1/", include(api_v1)),
    # Portal pages: home, login and profile at the root; the cross-app pages (/dashboard/, /m/,
    # /analyst/, /ops/) at the root too; each asset app under its own name.
    path("", include("accounts.urls")),
    path("", include("portal.urls")),
    path("meters/", include("meters.urls")),
    path("batteries/", include("batteries.urls")),
    path("charging/", include("charging.urls")),
    path("billing/", include("billing.urls")),
    path("flex/", include("flex.urls")),
    path("notifications/", include("notifications.urls")),
]

handler400 = "config.http_errors.bad_request"
handler403 = "config.http_errors.permission_denied"
handler404 = "config.http_errors.page_not_found"
handler500 = "config.http_errors.server_error"
