"""Each system check fires exactly when its rule is broken."""

from __future__ import annotations

import warnings

import pytest

from calsync import checks

POSTGRES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "calsync"}}


def ids(messages) -> list[str]:
    return [message.id for message in messages]


@pytest.fixture
def production(settings):
    """Settings as a production deployment would have them, with every key given."""
    with warnings.catch_warnings():
        # Only the check reads DATABASES here; no connection is opened with it.
        warnings.filterwarnings("ignore", "Overriding setting DATABASES")
        settings.DATABASES = POSTGRES
    settings.ALLOWED_HOSTS = ["calsync.example.org"]
    settings.CALSYNC_SECRET_KEY_GENERATED = False
    settings.CALSYNC_ENCRYPTION_KEYS_GENERATED = False
    return settings


def test_utc_passes_the_time_zone_check(settings):
    settings.TIME_ZONE = "UTC"
    assert checks.check_time_zone(None) == []


def test_any_other_time_zone_is_e001(settings):
    settings.TIME_ZONE = "Europe/Berlin"
    assert ids(checks.check_time_zone(None)) == ["calsync.E001"]


def test_a_long_encryption_key_passes(settings):
    settings.FERNET_KEYS = ["a-perfectly-long-encryption-key-0123456789"]
    assert checks.check_encryption_keys(None) == []


def test_a_short_encryption_key_is_e002_naming_its_position(settings):
    settings.FERNET_KEYS = ["a-perfectly-long-encryption-key-0123456789", "short"]
    messages = checks.check_encryption_keys(None)
    assert ids(messages) == ["calsync.E002"]
    assert "#2" in messages[0].msg


def test_a_writable_data_dir_passes(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    assert checks.check_data_dir(None) == []


def test_a_missing_data_dir_is_e003(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "gone"
    assert ids(checks.check_data_dir(None)) == ["calsync.E003"]


@pytest.mark.parametrize("url", ["filesystem://", "redis://redis:6379/0", "rediss://redis:6380/0", "memory://"])
def test_supported_brokers_pass(settings, url):
    settings.CELERY_BROKER_URL = url
    assert checks.check_broker(None) == []


def test_an_unsupported_broker_is_e004_naming_the_scheme(settings):
    settings.CELERY_BROKER_URL = "amqp://guest:guest@localhost//"
    messages = checks.check_broker(None)
    assert ids(messages) == ["calsync.E004"]
    assert "'amqp'" in messages[0].msg
    assert "guest" not in messages[0].msg


def test_a_production_database_with_only_localhost_allowed_is_e005(production):
    production.ALLOWED_HOSTS = ["localhost", "127.0.0.1"]
    assert ids(checks.check_allowed_hosts(None)) == ["calsync.E005"]


def test_the_embedded_default_may_allow_only_localhost(settings):
    settings.ALLOWED_HOSTS = ["localhost"]
    assert checks.check_allowed_hosts(None) == []


def test_a_production_deployment_with_its_keys_set_has_no_warnings(production):
    assert checks.check_generated_keys(None) == []
    assert checks.check_allowed_hosts(None) == []


def test_generated_keys_on_a_production_database_are_w001_and_w002(production):
    production.CALSYNC_SECRET_KEY_GENERATED = True
    production.CALSYNC_ENCRYPTION_KEYS_GENERATED = True
    assert ids(checks.check_generated_keys(None)) == ["calsync.W001", "calsync.W002"]


def test_only_the_generated_key_is_warned_about(production):
    production.CALSYNC_ENCRYPTION_KEYS_GENERATED = True
    assert ids(checks.check_generated_keys(None)) == ["calsync.W002"]


def test_generated_keys_are_fine_for_the_embedded_default(settings):
    settings.CALSYNC_SECRET_KEY_GENERATED = True
    settings.CALSYNC_ENCRYPTION_KEYS_GENERATED = True
    assert checks.check_generated_keys(None) == []
