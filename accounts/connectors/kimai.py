"""Kimai 2 (timesheets) over its REST API: ``Authorization: Bearer …``.

Kimai reads ``begin``/``end`` as wall-clock time of the API user's time zone and rejects
offsets, so instants are converted with that zone (``/api/users/me``) before they are sent;
answers carry an offset and are parsed as such. Bodies hold only fields of Kimai's form: any
other key (``duration``, ``metaFields``) is refused with "This form should not contain extra
fields." Only ``/api/timesheets`` is paginated (``X-Total-Pages``; a page past the end is 404).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from accounts.connectors.base import AccountConfig, AuthError, CheckResult, ConnectorError, ItemRejected, NotFound
from accounts.connectors.zammad import JsonApi

PAGE_SIZE = 500  # Kimai's maximum ``size``
WRITABLE_FIELDS = frozenset({"begin", "end", "project", "activity", "description", "user", "tags"})


def parse_kimai_time(value: str | None) -> datetime | None:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z") if value else None


class KimaiConnector(JsonApi):
    kind: ClassVar[str] = "kimai"
    service = "Kimai"

    def __init__(self, config: AccountConfig) -> None:
        JsonApi.__init__(self, config, f"Bearer {config.password}")
        self._me: dict | None = None

    def describe(self, data: Any) -> str:
        if not isinstance(data, dict):
            return "no details" if data is None else str(data)[:500]
        errors = data.get("errors") or {}
        texts = list(errors.get("errors") or [])
        for name, child in (errors.get("children") or {}).items():
            texts += [f"{name}: {text}" for text in (child or {}).get("errors", [])]
        return "; ".join(texts) or str(data.get("message", data))[:500]

    def error(self, status: int, data: Any, method: str, path: str, url: str) -> ConnectorError:
        if status == 403 and method in ("PATCH", "DELETE") and path.startswith("/api/timesheets/"):
            # The voter refuses exported and locked (lockdown) entries one by one; the run goes on.
            return ItemRejected(f"Kimai refused {method} {path}: the entry is exported or locked", status=403, url=url)
        return super().error(status, data, method, path, url)

    def me(self) -> dict:
        if self._me is None:
            self._me, _ = self.call("GET", "/api/users/me")
        return self._me

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.me().get("timezone") or "UTC")

    def local(self, when: datetime) -> str:
        return when.astimezone(self.zone).strftime("%Y-%m-%dT%H:%M:%S")

    def check(self) -> CheckResult:
        me = self.me()
        return CheckResult(ok=True, message=f"Connected to Kimai as {me.get('username')} ({me.get('timezone')})")

    def users(self) -> list[dict] | None:
        """Every user, or None when the token may not list them (only super admins may)."""
        try:
            records, _ = self.call("GET", "/api/users", {"visible": 3})
        except AuthError as exc:
            if exc.status == 403:
                return None
            raise
        return records

    def customers(self) -> list[dict]:
        return self.call("GET", "/api/customers", {"visible": 3})[0]

    def projects(self) -> list[dict]:
        return self.call("GET", "/api/projects", {"visible": 3})[0]

    def activities(self) -> list[dict]:
        return self.call("GET", "/api/activities", {"visible": 3})[0]

    def create_customer(self, *, name: str) -> dict:
        return self.call("POST", "/api/customers", body={"name": name})[0]

    def create_project(self, *, name: str, customer: int) -> dict:
        return self.call("POST", "/api/projects", body={"name": name, "customer": customer})[0]

    def tags(self) -> list[str]:
        return self.call("GET", "/api/tags")[0] or []

    def create_tag(self, *, name: str) -> dict:
        """Kimai attaches only existing tags to a timesheet (others are dropped silently)."""
        return self.call("POST", "/api/tags", body={"name": name})[0]

    def list_timesheets(
        self,
        *,
        begin: datetime | None = None,
        end: datetime | None = None,
        term: str = "",
        tags: list[str] | tuple[str, ...] = (),
        user: str = "all",
    ) -> Iterator[dict]:
        """Every timesheet whose start lies in [begin, end] (and carrying one of ``tags`` or
        matching the ``term``, e.g. a marker), page by page (500 each)."""
        params: dict[str, Any] = {"user": user, "size": PAGE_SIZE, "orderBy": "id", "order": "ASC"}
        if tags:
            params["tags[]"] = list(tags)
        if begin:
            params["begin"] = self.local(begin)
        if end:
            params["end"] = self.local(end)
        if term:
            params["term"] = term
        page = 1
        while True:
            try:
                records, headers = self.call("GET", "/api/timesheets", {**params, "page": page})
            except NotFound:
                return  # past the last page
            yield from records or []
            if page >= int(headers.get("X-Total-Pages") or 1):
                return
            page += 1

    def _body(self, fields: dict[str, Any]) -> dict[str, Any]:
        unknown = set(fields) - WRITABLE_FIELDS
        if unknown:
            raise ValueError(f"Kimai's timesheet form refuses {sorted(unknown)}")
        body = dict(fields)
        for name in ("begin", "end"):
            if isinstance(body.get(name), datetime):
                body[name] = self.local(body[name])
        return body

    def create_timesheet(self, **fields: Any) -> dict:
        return self.call("POST", "/api/timesheets", body=self._body(fields))[0]

    def update_timesheet(self, timesheet_id: int, **fields: Any) -> dict:
        return self.call("PATCH", f"/api/timesheets/{timesheet_id}", body=self._body(fields))[0]

    def delete_timesheet(self, timesheet_id: int) -> None:
        self.call("DELETE", f"/api/timesheets/{timesheet_id}")
