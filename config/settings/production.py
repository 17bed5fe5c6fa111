"""Production: real services, secure cookies, HSTS, compressed static files.

Refuses to start with the development SECRET_KEY or without DATABASE_URL and REDIS_URL: a
production process on embedded SQLite or the in-memory layer would silently lose data and split
chargers between processes.
"""

import os

from django.core.exceptions import ImproperlyConfigured

os.environ.setdefault("DEBUG", "false")

from .base import *  # noqa: F403
from .base import SECRET_KEY, STORAGES, env

if SECRET_KEY.startswith("insecure-") or len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a random value of at least 50 characters in production."
    )
for required in ("DATABASE_URL", "REDIS_URL"):
    if not env.str(required, default=""):
        raise ImproperlyConfigured(f"{required} must be set in production.")

WHITENOISE_USE_FINDERS = False
STORAGES["staticfiles"] = {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
