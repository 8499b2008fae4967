"""Writes on accounts: create, update, connection check, collection discovery, key rotation."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from cryptography.fernet import InvalidToken
from django.apps import apps
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import ProtectedError
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables
from fernet_fields import EncryptedField

from accounts.connectors import connector_for, is_item_store
from accounts.connectors.base import AccountConfig, CheckResult, ConnectorError, RemoteCollection
from accounts.connectors.probe import probe_profile
from accounts.connectors.profile import ServerProfile
from accounts.inventory import DAV_KINDS, Found, describe, inventory
from accounts.models import Account, Collection
from accounts.selectors import account_name_taken
from calsync.lib.errors import StateConflict
from calsync.lib.reach import address_refusal, network_policy

logger = logging.getLogger(__name__)

# What a caller may change; the check columns are written only by account_check.
EDITABLE_FIELDS = ("name", "kind", "url", "username", "password", "principal_url", "verify_tls")
# A change to any of these makes the stored check result describe a different connection.
CONNECTION_FIELDS = frozenset(EDITABLE_FIELDS) - {"name"}

REDACTED = "[password]"


def _duplicate_name_error() -> ValidationError:
    return ValidationError({"name": "An account with this name already exists for this owner."})


def account_address_errors(*, owner: AbstractBaseUser, url: str, principal_url: str = "") -> dict[str, str]:
    """What the owner's accounts may not point at, said when saving rather than at the first sync."""
    policy = network_policy(staff=owner.is_staff)
    errors = {}
    for name, value in (("url", url), ("principal_url", principal_url)):
        refusal = address_refusal(value, policy) if value else None
        if refusal:
            errors[name] = refusal
    return errors


def _save_validated(account: Account, *, update_fields: list[str] | None = None) -> None:
    if account_name_taken(owner_id=account.owner_id, name=account.name, exclude_id=account.pk):
        raise _duplicate_name_error()
    account.full_clean(validate_constraints=False)
    errors = account_address_errors(owner=account.owner, url=account.url, principal_url=account.principal_url)
    if errors:
        raise ValidationError(errors)
    # Constraints are checked above with a friendlier message; the IntegrityError below covers a
    # concurrent create with the same name.
    try:
        with transaction.atomic():
            account.save(update_fields=update_fields)
    except IntegrityError:
        if account_name_taken(owner_id=account.owner_id, name=account.name, exclude_id=account.pk):
            raise _duplicate_name_error() from None
        raise


@sensitive_variables("url")
def _split_credentials(url: str) -> tuple[str, str, str]:
    """A pasted ``https://user:secret@host/`` would put the secret in a column that is shown
    everywhere; it becomes (url without userinfo, username, password) instead."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, "", ""
    userinfo, _, host = parts.netloc.rpartition("@")
    username, _, password = userinfo.partition(":")
    return urlunsplit(parts._replace(netloc=host)), unquote(username), unquote(password)


@sensitive_variables("password", "url", "url_password")
def account_create(
    *,
    owner: AbstractBaseUser,
    name: str,
    kind: str,
    url: str,
    username: str = "",
    password: str = "",
    principal_url: str = "",
    verify_tls: bool = True,
    authorize_as: str = "",
) -> Account:
    url, url_username, url_password = _split_credentials(url)
    account = Account(
        owner=owner,
        name=name,
        kind=kind,
        url=url,
        username=username or url_username,
        password=password or url_password,
        principal_url=principal_url,
        verify_tls=verify_tls,
        authorize_as=authorize_as,
    )
    _save_validated(account)
    logger.info("account %s created (%s, owner %s)", account.pk, account.kind, account.owner_id)
    return account


@sensitive_variables("data", "url", "url_password")
def account_update(*, account: Account, data: Mapping[str, Any]) -> Account:
    """Apply ``data`` (a subset of EDITABLE_FIELDS). A missing or None password keeps the stored
    one; an empty string clears it."""
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"account_update cannot change: {', '.join(sorted(unknown))}")
    if "url" in data:
        url, url_username, url_password = _split_credentials(data["url"])
        data = {**data, "url": url}
        if url_username and not data.get("username"):
            data["username"] = url_username
        if url_password and not data.get("password"):
            data["password"] = url_password
    changed = [
        name
        for name, value in data.items()
        if not (name == "password" and value is None) and getattr(account, name) != value
    ]
    if not changed:
        return account
    for name in changed:
        setattr(account, name, data[name])
    update_fields = [*changed, "updated_at"]
    if CONNECTION_FIELDS.intersection(changed):
        account.last_checked_at = None
        account.last_check_ok = None
        account.last_check_message = ""
        account.server_profile = {}
        update_fields += ["last_checked_at", "last_check_ok", "last_check_message", "server_profile"]
    _save_validated(account, update_fields=update_fields)
    logger.info("account %s updated: %s", account.pk, ", ".join(changed))
    return account


class AccountInUse(StateConflict):
    """Sync jobs still read from or write to the account; they go first."""


def account_delete(*, account: Account) -> None:
    account_id = account.pk
    try:
        with transaction.atomic():
            account.delete()
    except ProtectedError as exc:
        names = sorted({str(job) for job in exc.protected_objects})
        raise AccountInUse(f"The account is used by the sync jobs {', '.join(names)}; delete them first.") from None
    logger.info("account %s deleted", account_id)


def redact(text: str, *, secret: str) -> str:
    """Connectors must not echo credentials; this is the belt to their braces, because a
    diagnosis ends up in the database, the admin, API responses and logs."""
    return text.replace(secret, REDACTED) if secret else text


@sensitive_variables("config")
def _connector_check(config: AccountConfig) -> CheckResult:
    connector = connector_for(config)
    try:
        result = connector.check()
    finally:
        connector.close()
    greeting, colon, _counted = result.message.partition(": ")
    if not (result.ok and config.kind in DAV_KINDS and colon and greeting.startswith("Connected as ")):
        return result
    # The connector counted its own kind only; a sync job copies calendars and address books.
    found = inventory(config, connector_for)
    return CheckResult(True, f"{greeting}: {describe(found)}", result.principal_url, len(found))


@sensitive_variables("config")
def account_check(*, account: Account) -> CheckResult:
    """Test the connection and record the outcome on the account. A refused login or an
    unreachable server is a result, not an exception."""
    config = account.connector_config()
    try:
        result = _connector_check(config)
    except ConnectorError as exc:
        result = CheckResult(ok=False, message=str(exc) or type(exc).__name__)
    result = CheckResult(
        ok=result.ok,
        message=redact(result.message, secret=config.password),
        principal_url=result.principal_url,
        collections=result.collections,
    )
    checked_at = timezone.now()
    # A failed test keeps the last profile: the server did not change because it was unreachable.
    profile = _server_profile(config) if result.ok and config.kind in DAV_KINDS else None
    values: dict[str, Any] = {
        "last_checked_at": checked_at,
        "last_check_ok": result.ok,
        "last_check_message": result.message,
    }
    if profile is not None:
        values["server_profile"] = profile.as_dict()
    Account.objects.filter(pk=account.pk).update(**values)
    for name, value in values.items():
        setattr(account, name, value)
    logger.info("account %s check: ok=%s %s", account.pk, result.ok, result.message)
    return result


@sensitive_variables("config")
def _server_profile(config: AccountConfig) -> ServerProfile:
    """What the server does (probe.py): bounded in time, and never a reason for the test to fail."""
    profile = probe_profile(config)
    notes = tuple(redact(note, secret=config.password) for note in profile.notes)
    return replace(profile, notes=notes)


_COLLECTION_LIMITS = {name: Collection._meta.get_field(name).max_length for name in ("display_name", "color", "kind")}
_TOKEN_LIMITS = {name: Collection._meta.get_field(name).max_length for name in ("ctag", "sync_token")}


def _collection_values(remote: RemoteCollection) -> dict[str, Any]:
    values: dict[str, Any] = {
        "kind": remote.kind,
        "display_name": remote.name,
        "description": remote.description,
        "color": remote.color,
        "components": list(remote.components),
        "ctag": remote.ctag,
        "sync_token": remote.sync_token,
    }
    for name, limit in _COLLECTION_LIMITS.items():
        values[name] = values[name][:limit]
    # A cut token would be a wrong token; an empty one only costs a full listing.
    for name, limit in _TOKEN_LIMITS.items():
        if len(values[name]) > limit:
            values[name] = ""
    return values


@sensitive_variables("config")
def account_discover_collections(*, account: Account) -> list[Collection]:
    """Ask the server for the account's collections (calendars and address books alike, with their
    item counts; see accounts.inventory) and mirror them: rows are matched by URL,
    updated in place (so their ids, and whatever refers to them, survive), and removed when the
    server no longer lists them. A ConnectorError propagates with a redacted message and leaves
    the stored rows untouched."""
    config = account.connector_config()
    if not is_item_store(config.kind):
        return []  # a time-tracking account keeps entries, not collections
    try:
        found = inventory(config, connector_for)
    except ConnectorError as exc:
        exc.message = redact(exc.message, secret=config.password)
        exc.args = (exc.message,)
        raise

    url_limit = Collection._meta.get_field("url").max_length
    by_url: dict[str, Found] = {}
    for item in found:
        if len(item.collection.url) > url_limit:
            logger.warning("account %s: skipping a collection whose URL is over %s characters", account.pk, url_limit)
            continue
        by_url.setdefault(item.collection.url, item)

    with transaction.atomic():
        existing = {collection.url: collection for collection in Collection.objects.filter(account=account)}
        removed = [collection.pk for url, collection in existing.items() if url not in by_url]
        Collection.objects.filter(pk__in=removed).delete()
        result = []
        for url, item in by_url.items():
            values = {**_collection_values(item.collection), "item_count": item.items}
            collection = existing.get(url)
            if collection is None:
                collection = Collection.objects.create(account=account, url=url, **values)
            elif any(getattr(collection, name) != value for name, value in values.items()):
                for name, value in values.items():
                    setattr(collection, name, value)
                collection.save(update_fields=[*values, "updated_at"])
            result.append(collection)
    logger.info("account %s: discovered %s collections (%s removed)", account.pk, len(result), len(removed))
    result.sort(key=lambda collection: (collection.display_name, collection.url))
    return result


# --- encryption key rotation -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RotationCount:
    label: str  # "app_label.Model"
    fields: tuple[str, ...]
    rows: int
    values: int


def encrypted_fields() -> Iterator[tuple[type[models.Model], list[EncryptedField]]]:
    """Every concrete model with encrypted columns, from every installed app, so a field added by
    a later app is rotated without touching this code."""
    for model in apps.get_models():
        if model._meta.proxy:
            continue
        # field.model is the model that declares the column; an inherited field belongs to its parent.
        fields = [
            field for field in model._meta.concrete_fields if isinstance(field, EncryptedField) and field.model is model
        ]
        if fields:
            yield model, fields


def encryption_keys_reload() -> None:
    """fernet_fields caches the keys on each field (cached_property), so a changed
    settings.FERNET_KEYS is invisible to a running process until these caches are dropped."""
    for _model, fields in encrypted_fields():
        for field in fields:
            for cached in ("keys", "fernet_keys", "fernet"):
                field.__dict__.pop(cached, None)


class UndecryptableValue(Exception):
    """A stored value matches no key in settings.FERNET_KEYS."""


@contextmanager
def _naming_undecryptable(model: type[models.Model], *, after_pk: Any) -> Iterator[None]:
    try:
        yield
    except InvalidToken:
        where = f"after pk {after_pk}" if after_pk is not None else "in the first batch"
        raise UndecryptableValue(
            f"{model._meta.label}: a value {where} cannot be decrypted with any key in FERNET_KEYS "
            "(was the key it was written with removed before rotating?)"
        ) from None


def encryption_keys_rotate(*, batch_size: int = 500) -> list[RotationCount]:
    """Re-encrypt every encrypted value with the newest key. Values are decrypted with any key of
    settings.FERNET_KEYS and written back, which encrypts with the first one."""
    encryption_keys_reload()
    counts = []
    for model, fields in encrypted_fields():
        names = [field.attname for field in fields]
        rows = values = 0
        last_pk: Any = None
        while True:
            # Rows are locked while rewritten so a password changed concurrently is not
            # overwritten with the value read a moment earlier.
            with transaction.atomic(), _naming_undecryptable(model, after_pk=last_pk):
                batch_query = model._base_manager.select_for_update().order_by("pk").only("pk", *names)
                if last_pk is not None:
                    batch_query = batch_query.filter(pk__gt=last_pk)
                batch = list(batch_query[:batch_size])
                if not batch:
                    break
                # One UPDATE per row: bulk_update() hands its CASE expression to the field's
                # get_db_prep_save(), and fernet_fields would encrypt the expression's repr.
                for row in batch:
                    model._base_manager.filter(pk=row.pk).update(**{name: getattr(row, name) for name in names})
            rows += len(batch)
            values += sum(getattr(row, name) is not None for row in batch for name in names)
            last_pk = batch[-1].pk
        counts.append(RotationCount(model._meta.label, tuple(names), rows, values))
    return counts
