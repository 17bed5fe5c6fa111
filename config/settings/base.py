"""Settings shared by every process and environment.

The environment is read once, here. Every variable has a default that lets a bare checkout run on
embedded parts (SQLite in WAL mode, the in-memory channel layer, kombu's file-system broker under
``var/``); setting ``DATABASE_URL``, ``REDIS_URL`` and ``MQTT_URL`` switches to the real services.
"""

from datetime import datetime, timedelta

from .environment import BASE_DIR, VAR_DIR, env

SECRET_KEY = env.str("SECRET_KEY", default="insecure-development-key-do-not-use-in-production")
DEBUG = env.bool("DEBUG", default=True)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list(
    "CSRF_TRUSTED_ORIGINS", default=["http://127.0.0.1:8000", "http://localhost:8000"]
)

HOMEGRID_APPS = [
    "accounts",
    "meters",
    "meters.telemetry",
    "portal",
    "batteries",
    "charging",
    "billing",
    "flex",
    "notifications",
]

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "channels",
    "axes",
    *HOMEGRID_APPS,
]

MIDDLEWARE = [
    "config.middleware.RequestEdgeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as axes asks: it turns a refused login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ------------------------------------------------------------------------------------
# Unset: a SQLite file under var/. Several processes (web, worker, beat, ingest) write to it in the
# demo, so it runs in WAL mode, waits for locks instead of failing, and takes the write lock at the
# start of each transaction (IMMEDIATE) so two writers never deadlock upgrading a read lock.
if env.str("DATABASE_URL", default=""):
    DATABASES = {"default": env.db_url("DATABASE_URL")}
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "homegrid.sqlite3",
            "OPTIONS": {
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DATABASE_IS_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer, cache, Celery broker ------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # redis-py's default 5 s socket timeout races channels_redis's 5 s BZPOPMIN and
                # kills idle consumers with 1011; a longer one only bounds a dead connection.
                "hosts": [{"address": REDIS_URL, "socket_timeout": 15}],
                "prefix": env.str("CHANNEL_PREFIX", default="asgi"),
            },
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_PREFIX", default="homegrid"),
            "OPTIONS": {"pool_class": "config.cache.SharedConnectionPool"},
        }
    }
    CELERY_BROKER_URL = REDIS_URL
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    # A file cache, not local memory: web, worker and beat must see the same throttle counters
    # and status marks.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": VAR_DIR / "cache",
        }
    }
    CELERY_BROKER_URL = "filesystem://"
    _celery_queue = VAR_DIR / "celery"
    for _folder in ("queue", "processed", "control"):
        (_celery_queue / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_celery_queue / "queue"),
        "data_folder_out": str(_celery_queue / "queue"),
        "processed_folder": str(_celery_queue / "processed"),
        "control_folder": str(_celery_queue / "control"),
        "store_processed": False,
    }

# Live pushes go only to groups with an open socket; a socket's mark lasts this long unrenewed.
LIVE_WATCH_SECONDS = env.int("LIVE_WATCH_SECONDS", default=120)

# --- MQTT -----------------------------------------------------------------------------------------
MQTT_URL = env.str("MQTT_URL", default="mqtt://127.0.0.1:1883")

# --- Celery ---------------------------------------------------------------------------------------
CELERY_TIMEZONE = env.str("TIME_ZONE", default="Europe/London")
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Two queues: "celery" for everything else (a month's bill chunks among it), "notifications"
# for mail and webhooks, so a run's chunks never wait behind the mail of the bills it issued (a
# month of bills is a million dispatches). Both are listed, so a worker started without -Q (as
# the Procfile's, and the tests') consumes both; a deployment can give each its own workers with
# -Q celery and -Q notifications.
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = {"celery": {}, "notifications": {}}
CELERY_TASK_ROUTES = {"notifications.tasks.*": {"queue": "notifications"}}
# --- Each app's own settings and beat jobs ---------------------------------------------------
from .apps.batteries import *  # noqa: E402, F403
from .apps.batteries import BATTERIES_BEAT_SCHEDULE  # noqa: E402
from .apps.billing import *  # noqa: E402, F403
from .apps.billing import BILLING_BEAT_SCHEDULE  # noqa: E402
from .apps.charging import *  # noqa: E402, F403
from .apps.charging import CHARGING_BEAT_SCHEDULE  # noqa: E402
from .apps.flex import *  # noqa: E402, F403
from .apps.flex import FLEX_BEAT_SCHEDULE  # noqa: E402
from .apps.meters import *  # noqa: E402, F403
from .apps.meters import METERS_BEAT_SCHEDULE  # noqa: E402
from .apps.notifications import *  # noqa: E402, F403
from .apps.notifications import NOTIFICATIONS_BEAT_SCHEDULE  # noqa: E402
from .apps.telemetry import *  # noqa: E402, F403
from .apps.telemetry import TELEMETRY_BEAT_SCHEDULE  # noqa: E402

# Beat reads this once at start and writes it into django-celery-beat's tables, where staff can
# change intervals or disable a job in the admin.
CELERY_BEAT_SCHEDULE = {
    "beat-heartbeat": {"task": "config.tasks.beat_heartbeat", "schedule": 60.0},
    **METERS_BEAT_SCHEDULE,
    **TELEMETRY_BEAT_SCHEDULE,
    **BATTERIES_BEAT_SCHEDULE,
    **CHARGING_BEAT_SCHEDULE,
    **BILLING_BEAT_SCHEDULE,
    **FLEX_BEAT_SCHEDULE,
    **NOTIFICATIONS_BEAT_SCHEDULE,
}

# --- Auth -----------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "accounts.login_guard.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="HomeGrid <no-reply@homegrid.local>")

# --- Security: lockout, reset mails, proxies (README, "Security") ------------------------------
# Failed logins are counted per login name and per client address; either reaching the limit
# locks that name or address out until LOGIN_LOCKOUT_MINUTES pass without another try
# (0: until staff delete the attempt in the admin).
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
_lockout_minutes = env.int("LOGIN_LOCKOUT_MINUTES", default=15)
AXES_COOLOFF_TIME = timedelta(minutes=_lockout_minutes) if _lockout_minutes else None
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_FORM_FIELD = "email"
AXES_USERNAME_CALLABLE = "accounts.login_guard.login_username"
AXES_CLIENT_IP_CALLABLE = "accounts.login_guard.client_address"
AXES_LOCKOUT_CALLABLE = "accounts.login_guard.lockout_response"
AXES_VERBOSE = False

PASSWORD_RESET_MAILS_PER_ADDRESS = env.int("PASSWORD_RESET_MAILS_PER_ADDRESS", default=3)
PASSWORD_RESET_MAILS_PER_CLIENT = env.int("PASSWORD_RESET_MAILS_PER_CLIENT", default=10)
PASSWORD_RESET_WINDOW_SECONDS = env.int("PASSWORD_RESET_WINDOW_SECONDS", default=3600)

# How many reverse proxies that append to X-Forwarded-For stand in front of daphne. 0: the
# header is the client's to forge and is ignored; the socket's peer is the client. The API's
# throttles (DRF NUM_PROXIES), the login lockout and the reset-mail limit all follow it, and the
# Procfile passes daphne --proxy-headers only when it is above 0.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# --- Time, language -------------------------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = env.str("TIME_ZONE", default="Europe/London")
USE_I18N = True
USE_TZ = True

# --- Input at the edge (config/inputs.py: one validator per kind of value, every door) ------------
# No client-given time before this is plausible (a meter's 1970-01-01 boot clock, year 1).
INPUT_EARLIEST_DATETIME = datetime.fromisoformat(
    env.str("INPUT_EARLIEST_DATETIME", default="2000-01-01T00:00:00+00:00")
)
INPUT_MAX_JSON_DEPTH = env.int("INPUT_MAX_JSON_DEPTH", default=32)
# The largest request body read into memory (Django's setting; the API answers 413 beyond it).
# The bulk readings door has its own, larger bound: READINGS_BULK_MAX_BYTES.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)

# --- Static files ---------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Serve straight from the app and static/ folders, so a fresh checkout needs no collectstatic
# before it shows styled pages; production serves the collected, compressed, hashed files.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- API ------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # The input edge (config/api_fields.py): bounded JSON bodies and datetime filters.
    "DEFAULT_PARSER_CLASSES": [
        "config.api_fields.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": ["config.api_fields.FilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "config.api.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "config.schema.ApiSchema",
    "EXCEPTION_HANDLER": "config.api.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
        "rest_framework.throttling.ScopedRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("THROTTLE_ANON", default="120/min"),
        "user": env.str("THROTTLE_USER", default="6000/min"),
        "login": env.str("THROTTLE_LOGIN", default="10/min"),
        "token": env.str("THROTTLE_TOKEN", default="30/min"),
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "HomeGrid API",
    "DESCRIPTION": (
        "Meters, batteries, EV chargers and bills of an energy supplier's customers.\n\n"
        "Authenticate with `Authorization: Token <key>` (create keys in the portal's API tokens "
        "page or at `POST /api/v1/auth/token`) or with a portal session.\n\n"
        "Times are ISO 8601. A timestamp without an offset is read in the meter's time zone "
        "(default Europe/London). Energy is in kWh, power in W (batteries: kW, positive = "
        "discharging), money in decimal strings of the tariff's currency.\n\n"
        'Errors have one shape: `{"detail": "<what went wrong>"}`, plus `"fields": '
        '{"<field>": ["<rule broken>"]}` when the input was invalid.'
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Named here because several serializers have a "kind" or a "state" of different choices;
    # KindEnum and StateEnum keep the names they had before the ledger's came.
    "ENUM_NAME_OVERRIDES": {
        "KindEnum": "meters.models.MeterKind",
        "StateEnum": "billing.models.BillState",
        "LedgerEntryKindEnum": "billing.models_ledger.EntryKind",
        "StaffEntryKindEnum": ["payment", "refund", "goodwill"],
        "BalanceStateEnum": ["owed", "credit", "settled"],
    },
}

# --- Logging --------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"daphne": {"level": "WARNING"}},
}

SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
