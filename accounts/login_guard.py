"""Brute-force protection of every door that takes a password, and the client address it keys on.

django-axes records failed logins (``AccessAttempt`` rows, listed in the admin, where staff
unlock by deleting them) and refuses a login once a user name or a client address has
``LOGIN_FAILURE_LIMIT`` failures, until ``LOGIN_LOCKOUT_MINUTES`` have passed without another.
It sees every ``django.contrib.auth.authenticate()`` call that carries a request: the portal
login, the admin login, ``POST /api/v1/auth/token`` and the current-password check of an email
or password change.
"""

import hashlib
import ipaddress

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_cool_off
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.shortcuts import render
from rest_framework.throttling import BaseThrottle


def client_address(request: HttpRequest) -> str | None:
    """The client's address, as the API throttles see it: the socket's peer, or, behind
    ``TRUSTED_PROXY_COUNT`` proxies, the entry of ``X-Forwarded-For`` that the outermost
    trusted proxy appended (DRF's ``NUM_PROXIES`` rule, which follows the same setting).

    An entry that is not an IP address (the header is partly client-written) falls back to the
    socket's peer, so a forged value can neither crash the lockout's address column nor pick a
    fresh key per request."""
    address = BaseThrottle().get_ident(request)
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return request.META.get("REMOTE_ADDR")


def login_username(request: HttpRequest, credentials: dict | None) -> str | None:
    """The login name a failure counts against, whichever door sent it: the portal and admin
    forms pass ``username``, the API passes ``email``. Case and spaces do not make a new
    name: ``Ada@Example.com`` and ``ada@example.com`` are the same login."""
    credentials = credentials or {}
    name = credentials.get("email") or credentials.get("username")
    if name is None:
        data = getattr(request, "data", None) or request.POST
        name = data.get("email") or data.get("username")
    return name.strip().lower() if isinstance(name, str) else None


class LockoutBackend(AxesStandaloneBackend):
    """axes' gate, first of the authentication backends. ``authenticate()`` without a request
    is an in-process call (the shell, ``createsuperuser``, the test client's ``login()``), not a
    guess from outside: it is let through instead of raising."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def lockout_minutes(request: HttpRequest | None = None) -> int:
    cool_off = get_cool_off(request)
    return int(cool_off.total_seconds() // 60) if cool_off else 0


def lockout_response(request: HttpRequest, original_response=None, credentials=None):
    """The page a locked-out portal or admin login gets (429). axes calls this with two or three
    arguments depending on whether the request came through ASGI; neither is needed."""
    return render(
        request,
        "registration/locked_out.html",
        {"minutes": lockout_minutes(request)},
        status=429,
    )


def password_reset_mail_allowed(*, email: str, request: HttpRequest) -> bool:
    """Whether a password-reset mail may go out: at most ``PASSWORD_RESET_MAILS_PER_ADDRESS``
    per address and ``PASSWORD_RESET_MAILS_PER_CLIENT`` per client address in each window of
    ``PASSWORD_RESET_WINDOW_SECONDS``. Every request counts, whether or not an account has the
    address, so the limit itself tells nothing about which addresses exist."""
    window = settings.PASSWORD_RESET_WINDOW_SECONDS
    address_key = "password-reset:address:" + hashlib.sha256(email.lower().encode()).hexdigest()
    client_key = f"password-reset:client:{client_address(request)}"
    allowed = True
    for key, limit in (
        (address_key, settings.PASSWORD_RESET_MAILS_PER_ADDRESS),
        (client_key, settings.PASSWORD_RESET_MAILS_PER_CLIENT),
    ):
        cache.add(key, 0, timeout=window)
        try:
            count = cache.incr(key)
        except ValueError:  # the window ended between add() and incr()
            cache.set(key, 1, timeout=window)
            count = 1
        allowed = count <= limit and allowed
    return allowed
