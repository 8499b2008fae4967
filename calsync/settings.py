"""calsync settings: everything an operator changes comes from the environment (see README).

The embedded default needs nothing installed: SQLite and a filesystem Celery broker under
``CALSYNC_DATA_DIR``. Production sets ``DATABASE_URL`` and ``CELERY_BROKER_URL``.
"""

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from calsync.env import (
    env_bool,
    env_float,
    env_int,
    env_list,
    env_raw,
    env_str,
    generated_secret,
)

BASE_DIR = Path(__file__).resolve().parent.parent

DATA_DIR = Path(env_str("CALSYNC_DATA_DIR", str(BASE_DIR / "data"))).resolve()
try:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
except OSError as exc:
    raise ImproperlyConfigured(f"CALSYNC_DATA_DIR={str(DATA_DIR)!r} cannot be created: {exc.strerror}") from None

# Keys that are not given are generated once into the data dir; check calsync.W001/W002 tells a
# production deployment to set them explicitly.
SECRET_KEY = env_raw("SECRET_KEY") or generated_secret(DATA_DIR / "secret_key")
CALSYNC_SECRET_KEY_GENERATED = not env_raw("SECRET_KEY")

# Fernet keys for secrets at rest, separate from SECRET_KEY. Newest first: the first encrypts,
# all decrypt, so a key is rotated by prepending a new one and running `manage.py rotate_keys`.
FERNET_KEYS = env_list("CALSYNC_ENCRYPTION_KEYS") or [generated_secret(DATA_DIR / "encryption_key")]
CALSYNC_ENCRYPTION_KEYS_GENERATED = not env_list("CALSYNC_ENCRYPTION_KEYS")

DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "django_celery_beat",
    "calsync.apps.CalsyncConfig",
    "accounts",
    "jobs",
    "booking",
    "feeds",
    "feeds.dav",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "jobs.audit.AuditUserMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "calsync.urls"
WSGI_APPLICATION = "calsync.wsgi.application"

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

_SQLITE_OPTIONS = {
    # WAL lets the web process read while the worker writes; IMMEDIATE transactions take the
    # write lock up front, so concurrent writers queue on `timeout` instead of failing with
    # "database is locked" halfway through a transaction.
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    "transaction_mode": "IMMEDIATE",
    "timeout": 30,
}


def _database(url: str) -> dict:
    try:
        config = dj_database_url.parse(url, conn_max_age=env_int("CALSYNC_DB_CONN_MAX_AGE", 60))
    except Exception as exc:  # dj_database_url raises several unrelated types
        raise ImproperlyConfigured(f"DATABASE_URL cannot be parsed: {exc}") from None
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config["CONN_MAX_AGE"] = 0
        config["OPTIONS"] = {**_SQLITE_OPTIONS, **config.get("OPTIONS", {})}
    elif config["ENGINE"] == "django.db.backends.postgresql":
        config["CONN_HEALTH_CHECKS"] = True
    return config


DATABASES = {"default": _database(env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'calsync.sqlite3'}"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("CALSYNC_BEHIND_TLS_PROXY") else None
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("CALSYNC_SECURE_COOKIES", False)


def _cache(url: str) -> dict:
    if url.startswith(("redis://", "rediss://")):
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url, "KEY_PREFIX": "calsync"}
    if url.startswith("locmem://"):
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    if url.startswith("file://") or url == "":
        location = url.removeprefix("file://") or str(DATA_DIR / "cache")
        return {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": location}
    raise ImproperlyConfigured(f"CACHE_URL must be redis://, rediss://, locmem:// or file://, got {url!r}")


# --- Celery ----------------------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
BROKER_IS_FILESYSTEM = CELERY_BROKER_URL.startswith("filesystem://")
if BROKER_IS_FILESYSTEM:
    _queue_dir = DATA_DIR / "broker" / "queue"
    _processed_dir = DATA_DIR / "broker" / "processed"
    _control_dir = DATA_DIR / "broker" / "control"  # broadcasts (ping, revoke); kombu's default is ./control
    for _folder in (_queue_dir, _processed_dir, _control_dir):
        _folder.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(_processed_dir),
        "control_folder": str(_control_dir),
        "store_processed": False,
    }
else:
    # A message unacknowledged for this long is redelivered; runs are claimed with a
    # compare-and-set, so a redelivery of a live run is a no-op.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CALSYNC_VISIBILITY_TIMEOUT", 3600)}

CACHES = {"default": _cache(env_str("CACHE_URL", CELERY_BROKER_URL if not BROKER_IS_FILESYSTEM else ""))}

CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = env_bool("CALSYNC_TASKS_EAGER", False)
CELERY_TIMEZONE = "UTC"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULER = "jobs.beat:HeartbeatScheduler"
# Fixed entries; per-job schedules are PeriodicTask rows edited in the admin. `expires` keeps a
# backlog of ticks from piling up while no worker runs.
CELERY_BEAT_SCHEDULE = {
    "recover-dead-runs": {"task": "jobs.recover_runs", "schedule": 60.0, "options": {"expires": 55}},
    "purge-audit-events": {"task": "jobs.audit_purge", "schedule": 86400.0, "options": {"expires": 3600}},
    "refresh-due-feeds": {"task": "feeds.refresh_due_feeds", "schedule": 60.0, "options": {"expires": 55}},
    "booking-pull-busy": {"task": "booking.pull_all", "schedule": 300.0, "options": {"expires": 290}},
}

# --- REST API --------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: an anonymous API request then gets 401 with "WWW-Authenticate: Token", which
    # tells a client what to send (session-first would answer 403).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.BasicAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "calsync API",
    "DESCRIPTION": "Sync CalDAV/CardDAV servers, ICS feeds, bookings and time sheets.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "ENUM_NAME_OVERRIDES": {
        "HealthStatusEnum": ["ok", "error"],
        "RunStatusEnum": "jobs.models.SyncRun.Status",
        "AppointmentStatusEnum": "booking.models.Appointment.Status",
    },
}

# --- calsync ---------------------------------------------------------------------------------
CALSYNC_HTTP_TIMEOUT = env_float("CALSYNC_HTTP_TIMEOUT", 20.0, minimum=0.1)
CALSYNC_HTTP_RETRIES = env_int("CALSYNC_HTTP_RETRIES", 2, minimum=0)
CALSYNC_HTTP_MAX_RESPONSE_BYTES = env_int("CALSYNC_HTTP_MAX_RESPONSE_BYTES", 50 * 1024 * 1024, minimum=1024)
# Largest ICS feed an import downloads; a bigger body is refused rather than parsed.
CALSYNC_FEED_MAX_BYTES = env_int("CALSYNC_FEED_MAX_BYTES", 20 * 1024 * 1024, minimum=1024)
# Accounts of non-staff users never reach loopback, private or link-local addresses; these two
# settings only concern staff (block them too) and exceptions for everyone (addresses, CIDRs or
# host names, comma-separated). See accounts/connectors/addresses.py.
CALSYNC_BLOCK_PRIVATE_ADDRESSES = env_bool("CALSYNC_BLOCK_PRIVATE_ADDRESSES", False)
CALSYNC_ALLOWED_PRIVATE_NETWORKS = env_list("CALSYNC_ALLOWED_PRIVATE_NETWORKS")
CALSYNC_HEARTBEAT_SECONDS = env_int("CALSYNC_HEARTBEAT_SECONDS", 15, minimum=1)
# A running sync whose heartbeat is older than this is taken for dead and resumed.
CALSYNC_RUN_STALE_SECONDS = env_int("CALSYNC_RUN_STALE_SECONDS", 120, minimum=5)
CALSYNC_RUN_MAX_ATTEMPTS = env_int("CALSYNC_RUN_MAX_ATTEMPTS", 5, minimum=1)
# Concurrent sync runs writing to one destination server (host:port), across all workers.
CALSYNC_WRITES_PER_SERVER = env_int("CALSYNC_WRITES_PER_SERVER", 2, minimum=1)
# Audit events older than this many days are deleted by a daily beat task.
CALSYNC_AUDIT_RETENTION_DAYS = env_int("CALSYNC_AUDIT_RETENTION_DAYS", 365, minimum=1)
# Booking: public booking requests per client IP; busy data older than this is re-checked live
# (with a short timeout) before answering; busy events are expanded this many days ahead.
CALSYNC_BOOKING_RATE = env_str("CALSYNC_BOOKING_RATE", "20/hour")
CALSYNC_BUSY_MAX_AGE_SECONDS = env_int("CALSYNC_BUSY_MAX_AGE_SECONDS", 900, minimum=0)
CALSYNC_BUSY_LIVE_TIMEOUT = env_float("CALSYNC_BUSY_LIVE_TIMEOUT", 3.0, minimum=0.1)
CALSYNC_BUSY_WINDOW_DAYS = env_int("CALSYNC_BUSY_WINDOW_DAYS", 400, minimum=1)
# The CalDAV server (/dav/): largest calendar object and XML request body, bytes a user's calendars
# may hold (0: no limit), and how long a verified app password is remembered.
CALSYNC_DAV_MAX_OBJECT_BYTES = env_int("CALSYNC_DAV_MAX_OBJECT_BYTES", 1024 * 1024, minimum=1024)
CALSYNC_DAV_MAX_XML_BYTES = env_int("CALSYNC_DAV_MAX_XML_BYTES", 2 * 1024 * 1024, minimum=1024)
CALSYNC_DAV_QUOTA_BYTES = env_int("CALSYNC_DAV_QUOTA_BYTES", 0, minimum=0)
CALSYNC_DAV_AUTH_CACHE_SECONDS = env_int("CALSYNC_DAV_AUTH_CACHE_SECONDS", 300, minimum=0)

LOG_LEVEL = env_str("CALSYNC_LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {},
}
