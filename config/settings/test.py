"""Tests run against the real services on this machine: PostgreSQL, Redis and Mosquitto.

Each can be pointed elsewhere through the same variables as production. ``TEST_DATABASE_NAME`` and
the Redis database number let two test runs share one machine without meeting.
"""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
os.environ.setdefault("MQTT_URL", "mqtt://127.0.0.1:1883")
os.environ.setdefault("DEBUG", "false")

from .base import *  # noqa: F403
from .base import DATABASES, REST_FRAMEWORK, env

DATABASES["default"]["CONN_MAX_AGE"] = 0
DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME", default=None)}

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
# Throttling is tested on its own scopes; everything else must not trip over it.
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] |= {"anon": "100000/min", "user": "100000/min"}
