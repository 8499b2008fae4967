"""calsync settings: everything an operator changes comes from the environment (see docs/operations.md).

The embedded default needs nothing installed: SQLite and a filesystem Celery broker under
``CALSYNC_DATA_DIR``. Production sets ``DATABASE_URL`` and ``CELERY_BROKER_URL``.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from calsync.client_address import parse_networks
from calsync.env import (
    env_bool,
    env_float,
    env_int,
    env_list,
    env_raw,
    env_str,
    generated_secret,
    private_data_dir,
)

BASE_DIR = Path(__file__).resolve().parent.parent

# Every process (web, worker, beat, manage.py) imports this first: from here on the files it
# creates (SQLite and its WAL, cache entries, broker messages, static files) are its user's alone.
os.umask(0o077)

DATA_DIR = Path(env_str("CALSYNC_DATA_DIR", str(BASE_DIR / "data"))).resolve()
try:
    private_data_dir(DATA_DIR)
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
    # The admin's modules are imported by the URLconf (calsync/urls.py), not at start-up: a
    # management command such as sync_accounts has no use for them. This config only names
    # calsync's admin site (calsync/admin_site.py).
    "calsync.apps.CalsyncAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    # API tokens are stored hashed (SHA-512); accounts migration 0003 moved the plain-text ones.
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from here: no CDN, and the CSP stays 'self'
    "django_celery_beat",
    "axes",
    "calsync.apps.CalsyncConfig",
    "calsync.ops",
    "accounts",
    "jobs",
    "jobs.timesheets",
    "jobs.bulk",
    "booking",
    "feeds",
    "feeds.dav",
]

MIDDLEWARE = [
    "calsync.security.UntrustedProxyHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "calsync.security.ContentSecurityPolicyMiddleware",
    "calsync.hostile.RefuseNulInUrlMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "calsync.ops.audit.AuditUserMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as axes requires: it turns a lock-out flagged during the view into the 429 page.
    "axes.middleware.AxesMiddleware",
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

# Brute-force guard (accounts/lockout.py): axes refuses locked-out attempts before the password is
# hashed, the user-name limit next, then the real check.
AUTHENTICATION_BACKENDS = [
    "accounts.lockout.LoginGuardBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Proxies whose X-Forwarded-For is believed (addresses or CIDRs); calsync.client_address.
CALSYNC_TRUSTED_PROXIES = [str(net) for net in parse_networks(env_list("CALSYNC_TRUSTED_PROXIES"))]
AXES_CLIENT_IP_CALLABLE = "calsync.client_address.client_ip"
# Failures are counted per (user name, address) and per address: an attacker locks out only
# themselves, never the user signing in from elsewhere.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_FAILURE_LIMIT = env_int("CALSYNC_LOGIN_FAILURE_LIMIT", 10, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("CALSYNC_LOGIN_COOLOFF_MINUTES", 15, minimum=1))
# Refused attempts are not recorded: no write per refused guess, and the lock ends on time.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
# Failures per user name, from all addresses, in one cool-off window, after which addresses that
# never signed in as that user are refused (0: off). The user is never locked out of known devices.
CALSYNC_LOGIN_USERNAME_FAILURE_LIMIT = env_int("CALSYNC_LOGIN_USERNAME_FAILURE_LIMIT", 30, minimum=0)

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

# --- HTTPS ---------------------------------------------------------------------------------
# Behind a TLS-terminating proxy Django learns "this was HTTPS" from X-Forwarded-Proto (only from
# CALSYNC_TRUSTED_PROXIES when that is set: calsync.security.UntrustedProxyHeadersMiddleware).
CALSYNC_BEHIND_TLS_PROXY = env_bool("CALSYNC_BEHIND_TLS_PROXY", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if CALSYNC_BEHIND_TLS_PROXY else None
# Served over HTTPS: cookies only over HTTPS, HSTS, plain HTTP redirected (health probes excepted,
# they come from inside), and the CSP upgrades stray http:// links.
CALSYNC_HTTPS = env_bool("CALSYNC_HTTPS", CALSYNC_BEHIND_TLS_PROXY)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("CALSYNC_SECURE_COOKIES", CALSYNC_HTTPS)
SECURE_SSL_REDIRECT = CALSYNC_HTTPS
SECURE_REDIRECT_EXEMPT = [r"^api/health$"]
SECURE_HSTS_SECONDS = env_int("CALSYNC_HSTS_SECONDS", 365 * 86400 if CALSYNC_HTTPS else 0, minimum=0)
# calsync's own host name and the ones below it; the parent domain is not touched.
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env_bool("CALSYNC_HSTS_PRELOAD", False)
# Preloading commits the whole registered domain in browsers' built-in lists: the domain owner's
# decision (hstspreload.org), so --deploy's reminder about it is silenced until they opt in.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]


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
CELERY_BEAT_SCHEDULER = "calsync.ops.beat:HeartbeatScheduler"
# Every task has time limits: the soft one raises SoftTimeLimitExceeded inside the task (it ends
# cleanly with a log line), the hard one kills the pool process. A sync run checkpoints every batch
# and a migration of a large server may take hours, so it gets generous limits of its own; the
# periodic busy pull walks every artist's calendars.
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CALSYNC_TASK_SOFT_TIME_LIMIT", 300, minimum=1)
CELERY_TASK_TIME_LIMIT = env_int("CALSYNC_TASK_TIME_LIMIT", CELERY_TASK_SOFT_TIME_LIMIT + 60, minimum=2)
_SYNC_RUN_SOFT_TIME_LIMIT = env_int("CALSYNC_SYNC_RUN_SOFT_TIME_LIMIT", 6 * 3600, minimum=1)
_PULL_ALL_SOFT_TIME_LIMIT = env_int("CALSYNC_PULL_ALL_SOFT_TIME_LIMIT", 900, minimum=1)
CELERY_TASK_ANNOTATIONS = {
    "jobs.sync_run": {"soft_time_limit": _SYNC_RUN_SOFT_TIME_LIMIT, "time_limit": _SYNC_RUN_SOFT_TIME_LIMIT + 300},
    "bulk.sync_slice": {"soft_time_limit": _SYNC_RUN_SOFT_TIME_LIMIT, "time_limit": _SYNC_RUN_SOFT_TIME_LIMIT + 300},
    "booking.pull_all": {"soft_time_limit": _PULL_ALL_SOFT_TIME_LIMIT, "time_limit": _PULL_ALL_SOFT_TIME_LIMIT + 60},
}
if CELERY_TASK_TIME_LIMIT <= CELERY_TASK_SOFT_TIME_LIMIT:
    raise ImproperlyConfigured("CALSYNC_TASK_TIME_LIMIT must be larger than CALSYNC_TASK_SOFT_TIME_LIMIT")
# A message whose worker died this many times while running it (SIGKILL, out of memory) is
# dropped with a log line instead of being redelivered forever (calsync.deliveries).
CALSYNC_TASK_MAX_DELIVERIES = env_int("CALSYNC_TASK_MAX_DELIVERIES", 5, minimum=1)
# Fixed entries; per-job schedules are PeriodicTask rows edited in the admin. `expires` keeps a
# backlog of ticks from piling up while no worker runs.
CELERY_BEAT_SCHEDULE = {
    "recover-dead-runs": {"task": "jobs.recover_runs", "schedule": 60.0, "options": {"expires": 55}},
    "purge-audit-events": {"task": "jobs.audit_purge", "schedule": 86400.0, "options": {"expires": 3600}},
    "refresh-due-feeds": {"task": "feeds.refresh_due_feeds", "schedule": 60.0, "options": {"expires": 55}},
    "booking-pull-busy": {"task": "booking.pull_all", "schedule": 300.0, "options": {"expires": 290}},
    "booking-push-owed": {"task": "booking.push_owed", "schedule": 60.0, "options": {"expires": 55}},
    "start-due-followups": {
        "task": "jobs.start_due_followups",
        "schedule": float(env_int("CALSYNC_FOLLOWUP_SWEEP_SECONDS", 30, minimum=1)),
        "options": {"expires": 25},
    },
}

# --- REST API --------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: an anonymous API request then gets 401 with "WWW-Authenticate: Token", which
    # tells a client what to send (session-first would answer 403).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "knox.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
        "accounts.authentication.GuardedBasicAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "calsync.errors.api_exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "calsync.hostile.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
}
# Tokens never expire unless the admin gives one an expiry, as before; "Authorization: Token …".
REST_KNOX = {"TOKEN_TTL": None, "AUTH_HEADER_PREFIX": "Token"}
SPECTACULAR_SETTINGS = {
    "TITLE": "calsync API",
    "DESCRIPTION": "Sync CalDAV/CardDAV servers, ICS feeds, bookings and time sheets.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Errors are part of the contract: calsync.openapi documents DRF's 4xx answers on every operation.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "calsync.openapi.document_error_responses",
    ],
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
# host names, comma-separated). See calsync/lib/addresses.py.
CALSYNC_BLOCK_PRIVATE_ADDRESSES = env_bool("CALSYNC_BLOCK_PRIVATE_ADDRESSES", False)
CALSYNC_ALLOWED_PRIVATE_NETWORKS = env_list("CALSYNC_ALLOWED_PRIVATE_NETWORKS")
CALSYNC_HEARTBEAT_SECONDS = env_int("CALSYNC_HEARTBEAT_SECONDS", 15, minimum=1)
# A running sync whose heartbeat is older than this is taken for dead and resumed.
CALSYNC_RUN_STALE_SECONDS = env_int("CALSYNC_RUN_STALE_SECONDS", 120, minimum=5)
CALSYNC_RUN_MAX_ATTEMPTS = env_int("CALSYNC_RUN_MAX_ATTEMPTS", 5, minimum=1)
# Owed items (writes or reads that failed): a run that leaves some, or fails because a server is
# away, is followed up after these delays in seconds, step by step; past the last one, a job with
# a schedule waits for it and one without keeps the last delay. Beat sweeps for due follow-ups.
_backoff = env_list("CALSYNC_FOLLOWUP_BACKOFF", ["60", "300", "900", "3600"])
CALSYNC_FOLLOWUP_BACKOFF = [int(part) for part in _backoff if part.isdigit()]
if not CALSYNC_FOLLOWUP_BACKOFF or len(CALSYNC_FOLLOWUP_BACKOFF) != len(_backoff) or min(CALSYNC_FOLLOWUP_BACKOFF) < 1:
    raise ImproperlyConfigured("CALSYNC_FOLLOWUP_BACKOFF must be a comma-separated list of seconds, each at least 1")
CALSYNC_FOLLOWUP_SWEEP_SECONDS = env_int("CALSYNC_FOLLOWUP_SWEEP_SECONDS", 30, minimum=1)
# An item the server refuses (403, 415, an unsettled 412) this many times waits as "needs attention".
CALSYNC_OWED_MAX_ATTEMPTS = env_int("CALSYNC_OWED_MAX_ATTEMPTS", 3, minimum=1)
# Items in a row failing because their server is away (after the HTTP retries) end the run.
CALSYNC_SERVER_DOWN_AFTER = env_int("CALSYNC_SERVER_DOWN_AFTER", 3, minimum=1)
# Concurrent sync runs writing to one destination server (host:port), across all workers.
CALSYNC_WRITES_PER_SERVER = env_int("CALSYNC_WRITES_PER_SERVER", 2, minimum=1)
# Bulk migrations: a user's run yields to the others after this many items and goes to the back
# of the queue (batches shrink to it below the engine's 100); the largest user list upload accepted.
CALSYNC_BULK_SLICE_ITEMS = env_int("CALSYNC_BULK_SLICE_ITEMS", 500, minimum=1)
CALSYNC_BULK_MAX_UPLOAD_BYTES = env_int("CALSYNC_BULK_MAX_UPLOAD_BYTES", 2 * 1024 * 1024, minimum=1024)
# Audit events older than this many days are deleted by a daily beat task.
CALSYNC_AUDIT_RETENTION_DAYS = env_int("CALSYNC_AUDIT_RETENTION_DAYS", 365, minimum=1)
# Booking: public booking requests per client IP and per client e-mail address; busy data older
# than this is re-checked live (with a short timeout) before answering; busy events are expanded this many days ahead.
CALSYNC_BOOKING_RATE = env_str("CALSYNC_BOOKING_RATE", "20/hour")
CALSYNC_BOOKING_EMAIL_RATE = env_str("CALSYNC_BOOKING_EMAIL_RATE", "5/hour")
CALSYNC_BUSY_MAX_AGE_SECONDS = env_int("CALSYNC_BUSY_MAX_AGE_SECONDS", 900, minimum=0)
CALSYNC_BUSY_LIVE_TIMEOUT = env_float("CALSYNC_BUSY_LIVE_TIMEOUT", 3.0, minimum=0.1)
CALSYNC_BUSY_WINDOW_DAYS = env_int("CALSYNC_BUSY_WINDOW_DAYS", 400, minimum=1)
# An appointment push that failed is owed: retried after BASE, 3*BASE, 9*BASE ... seconds (at most
# MAX apart) until it lands; a push the server refuses this many times needs attention instead.
CALSYNC_PUSH_RETRY_BASE_SECONDS = env_float("CALSYNC_PUSH_RETRY_BASE_SECONDS", 10.0, minimum=0.1)
CALSYNC_PUSH_RETRY_MAX_SECONDS = env_float("CALSYNC_PUSH_RETRY_MAX_SECONDS", 300.0, minimum=0.1)
CALSYNC_PUSH_MAX_REFUSALS = env_int("CALSYNC_PUSH_MAX_REFUSALS", 3, minimum=1)
# Every recurrence expansion (busy pulls, the CalDAV server, feeds, imports) is bounded
# (calsync.lib.recurrence): instances produced, rule periods walked, and seconds spent on one object.
CALSYNC_RECURRENCE_MAX_INSTANCES = env_int("CALSYNC_RECURRENCE_MAX_INSTANCES", 5000, minimum=1)
CALSYNC_RECURRENCE_MAX_STEPS = env_int("CALSYNC_RECURRENCE_MAX_STEPS", 100_000, minimum=1)
CALSYNC_RECURRENCE_MAX_SECONDS = env_float("CALSYNC_RECURRENCE_MAX_SECONDS", 2.0, minimum=0.01)
# The CalDAV server (/dav/): largest calendar object and XML request body, bytes a user's calendars
# may hold (0: no limit), and how long a verified app password is remembered.
CALSYNC_DAV_MAX_OBJECT_BYTES = env_int("CALSYNC_DAV_MAX_OBJECT_BYTES", 1024 * 1024, minimum=1024)
CALSYNC_DAV_MAX_XML_BYTES = env_int("CALSYNC_DAV_MAX_XML_BYTES", 2 * 1024 * 1024, minimum=1024)
CALSYNC_DAV_QUOTA_BYTES = env_int("CALSYNC_DAV_QUOTA_BYTES", 0, minimum=0)
CALSYNC_DAV_AUTH_CACHE_SECONDS = env_int("CALSYNC_DAV_AUTH_CACHE_SECONDS", 300, minimum=0)
# How long a Zammad delivery id is remembered: a replay within it is a 200 no-op. Zammad's own
# retries end within two minutes; a day also blunts a captured delivery sent again later.
CALSYNC_WEBHOOK_DEDUP_SECONDS = env_int("CALSYNC_WEBHOOK_DEDUP_SECONDS", 24 * 3600, minimum=1)

# --- E-mail (booking confirmations to clients) --------------------------------------------------
# Without EMAIL_HOST mails are printed to the console (the embedded default); with it, sent by SMTP.
EMAIL_HOST = env_str("EMAIL_HOST", "")
EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")  # or EMAIL_HOST_PASSWORD_FILE
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
# A mail server that hangs must not hold a booking request for long: mails go after the commit.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "calsync <calsync@localhost>")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend"
)

LOG_LEVEL = env_str("CALSYNC_LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    # Feed and webhook tokens travel in URLs; Django logs the path of every 4xx (calsync.logredact).
    "filters": {"redact_secrets": {"()": "calsync.logredact.RedactSecrets"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact_secrets"]}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # runserver's request lines (Django's own handler for them has no redaction).
    "loggers": {"django.server": {"handlers": ["console"], "level": "INFO", "propagate": False}},
}
