"""System checks with stable ids, so operators can look up and silence them deliberately.

calsync.E001  TIME_ZONE is not UTC
calsync.E002  an encryption key is unusable
calsync.E003  the data dir is not writable
calsync.E004  the Celery broker URL has a scheme calsync does not support
calsync.E005  production database without ALLOWED_HOSTS beyond localhost
calsync.W001  SECRET_KEY was generated (production must set it)
calsync.W002  encryption keys were generated (production must set them)
"""

import os

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

SUPPORTED_BROKERS = ("filesystem://", "redis://", "rediss://", "memory://")


def _is_production() -> bool:
    return settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3"


@register(Tags.compatibility, "calsync")
def check_time_zone(app_configs, **kwargs):
    if settings.TIME_ZONE != "UTC":
        return [
            Error(
                f"TIME_ZONE is {settings.TIME_ZONE!r}.",
                hint="calsync stores UTC and converts per user/artist; unset TIME_ZONE.",
                id="calsync.E001",
            )
        ]
    return []


@register(Tags.security, "calsync")
def check_encryption_keys(app_configs, **kwargs):
    from cryptography.fernet import Fernet
    from fernet_fields.hkdf import derive_fernet_key

    errors = []
    for position, key in enumerate(settings.FERNET_KEYS, start=1):
        try:
            Fernet(derive_fernet_key(key))
        except Exception:
            errors.append(Error(f"Encryption key #{position} is unusable.", id="calsync.E002"))
        if len(key) < 16:
            errors.append(
                Error(
                    f"Encryption key #{position} is shorter than 16 characters.",
                    hint="Generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'",
                    id="calsync.E002",
                )
            )
    return errors


@register("calsync")
def check_data_dir(app_configs, **kwargs):
    if not os.access(settings.DATA_DIR, os.W_OK):
        return [Error(f"CALSYNC_DATA_DIR {settings.DATA_DIR} is not writable.", id="calsync.E003")]
    return []


@register("calsync")
def check_broker(app_configs, **kwargs):
    if not settings.CELERY_BROKER_URL.startswith(SUPPORTED_BROKERS):
        return [
            Error(
                f"CELERY_BROKER_URL has an unsupported scheme: {settings.CELERY_BROKER_URL.split(':', 1)[0]!r}.",
                hint="Use redis://host:6379/0 in production, or leave it unset for the embedded broker.",
                id="calsync.E004",
            )
        ]
    return []


@register(Tags.security, "calsync")
def check_allowed_hosts(app_configs, **kwargs):
    local = {"localhost", "127.0.0.1", "[::1]"}
    if _is_production() and not settings.DEBUG and set(settings.ALLOWED_HOSTS) <= local:
        return [
            Error(
                "ALLOWED_HOSTS only lists localhost on a production database.",
                hint="Set ALLOWED_HOSTS to the host names calsync is served under.",
                id="calsync.E005",
            )
        ]
    return []


@register(Tags.security, "calsync")
def check_generated_keys(app_configs, **kwargs):
    if not _is_production():
        return []
    warnings = []
    if settings.CALSYNC_SECRET_KEY_GENERATED:
        warnings.append(
            Warning(
                f"SECRET_KEY was generated into {settings.DATA_DIR}.",
                hint="Production must set SECRET_KEY (or SECRET_KEY_FILE) so every process shares it.",
                id="calsync.W001",
            )
        )
    if settings.CALSYNC_ENCRYPTION_KEYS_GENERATED:
        warnings.append(
            Warning(
                f"Encryption keys were generated into {settings.DATA_DIR}.",
                hint=(
                    "Production must set CALSYNC_ENCRYPTION_KEYS (or _FILE); "
                    "losing the key loses every stored password."
                ),
                id="calsync.W002",
            )
        )
    return warnings
