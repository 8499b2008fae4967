"""Zammad's REST API for time accounting (section 1 of docs/refs/zammad-kimai-api.md).

``Authorization: Token token=…``; 403 without credentials, 401 for an unknown token; pages by
``page``/``per_page`` without totals (500 at most on index endpoints, 200 on search);
timestamps ``YYYY-MM-DDTHH:MM:SS.mmmZ``; ``time_unit`` as a decimal string.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from calsync.testing.timesheets.common import HttpError, StandIn, one


def zammad_time(value: datetime) -> str:
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _zammad_error(message: str) -> dict[str, str]:
    return {"error": message, "error_human": message}


class ZammadStandIn(StandIn):
    """Zammad's REST API (section 1 of the fact sheet) for time accounting."""

    routes = [
        ("GET", r"/api/v1/users/me", "me"),
        ("GET", r"/api/v1/time_accountings", "list_all"),
        ("GET", r"/api/v1/tickets/(\d+)/time_accountings", "list_ticket"),
        ("POST", r"/api/v1/tickets/(\d+)/time_accountings", "create"),
        ("GET", r"/api/v1/time_accounting/types", "list_types"),
        ("GET", r"/api/v1/tickets/search", "search_tickets"),
        ("GET", r"/api/v1/tickets/(\d+)", "show_ticket"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.tokens: dict[str, int] = {}
        self.users: dict[int, dict] = {}
        self.organizations: dict[int, dict] = {}
        self.tickets: dict[int, dict] = {}
        self.types: dict[int, dict] = {}
        self.time_accountings: dict[int, dict] = {}
        self._ids = {"user": 1, "organization": 0, "ticket": 0, "type": 0, "ta": 0, "number": 53000}

    def _next(self, kind: str) -> int:
        self._ids[kind] += 1
        return self._ids[kind]

    # seeding
    def add_user(self, login: str, *, admin: bool = True, token: str = "", firstname: str = "") -> int:
        with self.lock:
            uid = self._next("user")
            self.users[uid] = {
                "id": uid,
                "login": login,
                "email": login,
                "firstname": firstname,
                "lastname": "",
                "active": True,
                "admin": admin,
            }
            if token:
                self.tokens[token] = uid
            return uid

    def add_organization(self, name: str) -> int:
        with self.lock:
            oid = self._next("organization")
            self.organizations[oid] = {"id": oid, "name": name, "active": True}
            return oid

    def add_ticket(self, title: str, *, organization_id: int | None = None, customer_id: int = 1) -> int:
        with self.lock:
            tid = self._next("ticket")
            now = datetime.now(UTC)
            self.tickets[tid] = {
                "id": tid,
                "number": str(self._next("number")),
                "title": title,
                "group_id": 1,
                "state_id": 2,
                "priority_id": 2,
                "customer_id": customer_id,
                "organization_id": organization_id,
                "owner_id": 1,
                "time_unit": None,
                "created_at": zammad_time(now),
                "updated_at": zammad_time(now),
            }
            return tid

    def add_type(self, name: str) -> int:
        with self.lock:
            type_id = self._next("type")
            self.types[type_id] = {"id": type_id, "name": name, "note": None, "active": True}
            return type_id

    def add_time_accounting(
        self,
        ticket_id: int,
        time_unit: float | str,
        *,
        created_by_id: int,
        created_at: datetime,
        type_id: int | None = None,
    ) -> int:
        with self.lock:
            ta_id = self._next("ta")
            stamp = zammad_time(created_at)
            self.time_accountings[ta_id] = {
                "id": ta_id,
                "ticket_id": ticket_id,
                "ticket_article_id": None,
                "time_unit": f"{Decimal(str(time_unit)):.1f}",
                "type_id": type_id,
                "created_by_id": created_by_id,
                "created_at": stamp,
                "updated_at": stamp,
            }
            self._recompute(ticket_id)
            return ta_id

    def update_time_accounting(self, ta_id: int, **changes: Any) -> None:
        with self.lock:
            record = self.time_accountings[ta_id]
            if "time_unit" in changes:
                changes["time_unit"] = f"{Decimal(str(changes['time_unit'])):.1f}"
            record.update(changes, updated_at=zammad_time(datetime.now(UTC)))
            self._recompute(record["ticket_id"])

    def delete_time_accounting(self, ta_id: int) -> None:
        with self.lock:
            record = self.time_accountings.pop(ta_id)
            self._recompute(record["ticket_id"])

    def _recompute(self, ticket_id: int) -> None:
        total = sum(Decimal(t["time_unit"]) for t in self.time_accountings.values() if t["ticket_id"] == ticket_id)
        self.tickets[ticket_id]["time_unit"] = f"{total:.1f}"

    # protocol
    def authenticate(self, headers) -> dict:
        auth = headers.get("Authorization", "")
        if not auth:
            raise HttpError(403, _zammad_error("Authentication required"), {"X-Failure": "Authentication required"})
        found = re.fullmatch(r"Token token=(.+)", auth)
        user = self.users.get(self.tokens.get(found.group(1), 0)) if found else None
        if user is None:
            message = "Can't find User for Token"
            raise HttpError(401, _zammad_error(message), {"X-Failure": message})
        return user

    def not_found(self, path: str) -> Any:
        return _zammad_error(f"No route matches [GET] {path}")

    def _admin(self, user: dict) -> None:
        if not user["admin"]:
            raise HttpError(403, _zammad_error("Not authorized"), {"X-Failure": "Not authorized"})

    @staticmethod
    def _page(records: list, query, *, default: int, maximum: int) -> list:
        per_page = min(int(one(query, "per_page") or one(query, "limit") or default), maximum)
        page = max(int(one(query, "page", "1")), 1)
        return records[(page - 1) * per_page : page * per_page]

    @staticmethod
    def _sorted(records: list[dict], query) -> list[dict]:
        key = one(query, "sort_by", "id")
        return sorted(records, key=lambda r: r[key], reverse=one(query, "order_by", "asc") == "desc")

    def me(self, user, query, body):
        return {k: v for k, v in user.items() if k != "admin"}

    def list_all(self, user, query, body):
        self._admin(user)
        records = self._sorted(list(self.time_accountings.values()), query)
        return self._page(records, query, default=500, maximum=500)

    def list_ticket(self, user, query, body, ticket_id):
        records = [t for t in self.time_accountings.values() if t["ticket_id"] == int(ticket_id)]
        return self._page(self._sorted(records, query), query, default=500, maximum=500)

    def create(self, user, query, body, ticket_id):
        if int(ticket_id) not in self.tickets:
            raise HttpError(404, _zammad_error(f"Couldn't find Ticket with 'id'={ticket_id}"))
        if "time_unit" not in body:
            raise HttpError(422, _zammad_error("Time unit can't be blank"))
        if body.get("type_id") is not None and body["type_id"] not in self.types:
            raise HttpError(422, _zammad_error(f"Invalid value for param 'type_id': {body['type_id']}"))
        ta_id = self.add_time_accounting(
            int(ticket_id),
            body["time_unit"],
            created_by_id=user["id"],
            created_at=datetime.now(UTC),
            type_id=body.get("type_id"),
        )
        return 201, self.time_accountings[ta_id], {}

    def list_types(self, user, query, body):
        self._admin(user)
        return self._page(list(self.types.values()), query, default=500, maximum=500)

    def _expanded(self, ticket: dict) -> dict:
        organization = self.organizations.get(ticket["organization_id"] or 0)
        customer = self.users.get(ticket["customer_id"])
        return {
            **ticket,
            "organization": organization["name"] if organization else None,
            "customer": customer["login"] if customer else None,
        }

    def search_tickets(self, user, query, body):
        text = one(query, "query")
        ids = re.fullmatch(r"id:\(([\d\s]+(?:OR[\d\s]+)*)\)", text.strip())
        if ids:
            wanted = {int(i) for i in re.findall(r"\d+", ids.group(1))}
            found = [t for t in self.tickets.values() if t["id"] in wanted]
        else:
            found = [t for t in self.tickets.values() if text.lower() in t["title"].lower()]
        page = self._page(self._sorted(found, query), query, default=50, maximum=200)
        return [self._expanded(t) if one(query, "expand") == "true" else t for t in page]

    def show_ticket(self, user, query, body, ticket_id):
        ticket = self.tickets.get(int(ticket_id))
        if ticket is None:
            raise HttpError(404, _zammad_error(f"Couldn't find Ticket with 'id'={ticket_id}"))
        return self._expanded(ticket) if one(query, "expand") == "true" else ticket
