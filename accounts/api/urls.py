from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter(trailing_slash=False)
router.register("users", views.UserViewSet, basename="user")
router.register("accounts", views.AccountViewSet, basename="account")
router.register("tokens", views.TokenViewSet, basename="token")

urlpatterns = [
    path("me", views.MeApi.as_view(), name="me"),
    path("auth/token", views.LoginTokenApi.as_view(), name="auth-token"),
    *router.urls,
]
