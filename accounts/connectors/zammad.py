"""Zammad (time accounting) over its REST API: ``Authorization: Token token=…``.

Only what the time-sheet sync needs: time accountings across tickets (paged, 500 a page, the
server's maximum), the accounting types, and tickets looked up in batches through the search
endpoint. Zammad has no date filter on time accountings, so the date window is applied here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import urlencode

from accounts.connectors.base import (
    AccountConfig,
    AuthError,
    CheckResult,
    ConfigError,
    ConnectorError,
    ItemRejected,
    NotFound,
    ProtocolError,
    TransientError,
)
from calsync.lib.http import HttpClient, display_url, host_port

PAGE_SIZE = 500  # the generic index maximum
SEARCH_PAGE_SIZE = 200  # the search endpoints' maximum


def parse_zammad_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class JsonApi:
    """JSON requests over the HTTP seam with a per-kind Authorization header."""

    service: ClassVar[str] = ""

    def __init__(self, config: AccountConfig, authorization: str) -> None:
        if not config.password:
            raise ConfigError(f"A {self.service} account needs an API token")
        self.base = config.url.rstrip("/")
        self._authorization = authorization
        self.client = HttpClient(verify_tls=config.verify_tls, network=config.network)

    def close(self) -> None:
        self.client.close()

    def call(self, method: str, path: str, params: dict | None = None, body: dict | None = None):
        url = f"{self.base}{path}" + (f"?{urlencode(params, doseq=True)}" if params else "")
        headers = {"Authorization": self._authorization, "Accept": "application/json"}
        content = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            content = json.dumps(body).encode()
        try:
            response = self.client.request(method, url, headers=headers, content=content)
        except AuthError:
            # The seam's message speaks of passwords; say what is wrong without the token.
            raise AuthError(
                f"{self.service} refused the API token (401) at {host_port(url)}", status=401, url=display_url(url)
            ) from None
        data = None
        if response.content:
            try:
                data = json.loads(response.content)
            except ValueError:
                message = f"{self.service} sent a non-JSON answer ({response.status}) to {method} {path}"
                raise ProtocolError(message, url=display_url(url)) from None
        if response.status >= 400:
            raise self.error(response.status, data, method, path, display_url(url))
        return data, response.headers

    def error(self, status: int, data: Any, method: str, path: str, url: str) -> ConnectorError:
        message = f"{self.service} answered {status} to {method} {path}: {self.describe(data)}"
        if status == 403:
            return AuthError(message, status=status, url=url)
        if status == 404:
            return NotFound(message, status=status, url=url)
        if status >= 500:
            return TransientError(message, status=status, url=url)
        return ItemRejected(message, status=status, url=url)

    def describe(self, data: Any) -> str:
        return str(data)[:500]


class ZammadConnector(JsonApi):
    kind: ClassVar[str] = "zammad"
    service = "Zammad"

    def __init__(self, config: AccountConfig) -> None:
        JsonApi.__init__(self, config, f"Token token={config.password}")

    def describe(self, data: Any) -> str:
        if isinstance(data, dict):
            return str(data.get("error_human") or data.get("error") or data)[:500]
        return str(data)[:500]

    def check(self) -> CheckResult:
        me, _ = self.call("GET", "/api/v1/users/me")
        try:
            self.call("GET", "/api/v1/time_accountings", {"per_page": 1})
        except AuthError as exc:
            if exc.status == 401:
                raise
            return CheckResult(
                ok=False,
                message=f"Connected as {me.get('login')}, but the token cannot read time accountings "
                f"(it needs admin.time_accounting): {exc}",
            )
        return CheckResult(ok=True, message=f"Connected to Zammad as {me.get('login')}")

    def list_time_accountings(
        self, *, since: datetime | None = None, until: datetime | None = None, ticket_id: int | None = None
    ) -> Iterator[dict]:
        """Every time accounting (of one ticket, or of all), oldest id first; ``since``/``until``
        filter on ``created_at`` here, since Zammad's index has no date filter."""
        path = f"/api/v1/tickets/{ticket_id}/time_accountings" if ticket_id else "/api/v1/time_accountings"
        page = 1
        while True:
            params = {"page": page, "per_page": PAGE_SIZE, "sort_by": "id", "order_by": "asc"}
            records, _ = self.call("GET", path, params)
            for record in records or []:
                created = parse_zammad_time(record["created_at"])
                if (since is None or created >= since) and (until is None or created < until):
                    yield record
            if len(records or []) < PAGE_SIZE:
                return
            page += 1

    def list_types(self) -> dict[int, str]:
        records, _ = self.call("GET", "/api/v1/time_accounting/types", {"per_page": PAGE_SIZE})
        return {int(r["id"]): r["name"] for r in records or []}

    def tickets(self, ids: Iterable[int]) -> dict[int, dict]:
        """Tickets with organisation and customer names (``expand``), 200 per search request."""
        wanted = sorted(set(ids))
        found: dict[int, dict] = {}
        for start in range(0, len(wanted), SEARCH_PAGE_SIZE):
            chunk = wanted[start : start + SEARCH_PAGE_SIZE]
            query = "id:(" + " OR ".join(str(i) for i in chunk) + ")"
            params = {"query": query, "per_page": SEARCH_PAGE_SIZE, "expand": "true"}
            records, _ = self.call("GET", "/api/v1/tickets/search", params)
            found.update({int(r["id"]): r for r in records or []})
        return found
