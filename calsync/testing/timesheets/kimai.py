"""Kimai 2's REST API for timesheets and their references (section 2 of the fact sheet).

``Authorization: Bearer …``; only ``/api/timesheets`` pages (``page``/``size``, ``X-*`` headers,
404 past the last page); datetimes in the API user's zone with an offset; unknown body fields
refused ("This form should not contain extra fields."); the default rounding; exported and
locked (lockdown) entries refused with 403; ``term`` with LIKE semantics; ``tags[]`` filters.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from calsync.testing.timesheets.common import HttpError, StandIn, one

KIMAI_FORM_FIELDS = frozenset(
    {
        "begin",
        "end",
        "project",
        "activity",
        "description",
        "tags",
        "fixedRate",
        "hourlyRate",
        "user",
        "exported",
        "billable",
        "break",
    }
)
KIMAI_LOCAL = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?$")
KIMAI_QUERY_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")
FORBIDDEN = {"code": 403, "message": "Forbidden"}


def _validation_failed(*, global_errors: list[str] = (), children: dict[str, list[str]] | None = None) -> HttpError:
    errors: dict[str, Any] = {"children": {name: {"errors": e} for name, e in (children or {}).items()}}
    if global_errors:
        errors["errors"] = list(global_errors)
    return HttpError(400, {"code": 400, "message": "Validation Failed", "errors": errors})


def _like(word: str) -> re.Pattern:
    # Kimai matches plain words with SQL LIKE %word%, where _ and % are wildcards.
    pattern = re.escape(word).replace("_", ".").replace("%", ".*")
    return re.compile(pattern, re.IGNORECASE)


def _matching_term(records: list[dict], term: str) -> list[dict]:
    for word in term.split():
        if ":" in word:  # a meta-field filter; this stand-in defines no meta fields
            records = []
        elif word.startswith("!"):
            records = [r for r in records if not _like(word[1:]).search(r["description"] or "")]
        else:
            records = [r for r in records if _like(word).search(r["description"] or "")]
    return records


def _paged(records: list[dict], query: dict[str, list[str]]) -> tuple[list[dict], dict[str, str]]:
    """The query's page of ``records`` and Kimai's pagination headers; a page past the end is a 404."""
    size = int(one(query, "size", "50") or 50)
    size = 50 if size < 1 else min(size, 500)
    page = int(one(query, "page", "1") or 1)
    pages = max(1, math.ceil(len(records) / size))
    if page > pages:
        raise HttpError(404, {"code": 404, "message": "Not Found"})
    headers = {
        "X-Page": str(page),
        "X-Total-Count": str(len(records)),
        "X-Total-Pages": str(pages),
        "X-Per-Page": str(size),
    }
    return records[(page - 1) * size : page * size], headers


@dataclass
class KimaiState:
    users: dict[int, dict] = field(default_factory=dict)
    tokens: dict[str, int] = field(default_factory=dict)
    customers: dict[int, dict] = field(default_factory=dict)
    projects: dict[int, dict] = field(default_factory=dict)
    activities: dict[int, dict] = field(default_factory=dict)
    timesheets: dict[int, dict] = field(default_factory=dict)
    tags: dict[int, dict] = field(default_factory=dict)
    next_id: int = 0


class KimaiStandIn(StandIn):
    """Kimai 2's REST API (section 2 of the fact sheet) for timesheets and their references."""

    routes = [
        ("GET", r"/api/ping", "ping"),
        ("GET", r"/api/users/me", "me"),
        ("GET", r"/api/users", "list_users"),
        ("GET", r"/api/customers", "list_customers"),
        ("POST", r"/api/customers", "create_customer"),
        ("GET", r"/api/projects", "list_projects"),
        ("POST", r"/api/projects", "create_project"),
        ("GET", r"/api/activities", "list_activities"),
        ("GET", r"/api/tags", "list_tags"),
        ("POST", r"/api/tags", "create_tag"),
        ("GET", r"/api/timesheets", "list_timesheets"),
        ("POST", r"/api/timesheets", "create_timesheet"),
        ("GET", r"/api/timesheets/(\d+)", "show_timesheet"),
        ("PATCH", r"/api/timesheets/(\d+)", "patch_timesheet"),
        ("DELETE", r"/api/timesheets/(\d+)", "delete_timesheet"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.state = KimaiState()
        self.lockdown_before: datetime | None = None  # records starting earlier are locked

    def _next(self) -> int:
        self.state.next_id += 1
        return self.state.next_id

    # seeding
    def add_user(self, username: str, *, timezone: str, role: str = "ROLE_USER", token: str = "") -> int:
        with self.lock:
            uid = self._next()
            self.state.users[uid] = {
                "id": uid,
                "username": username,
                "alias": None,
                "email": username,
                "enabled": True,
                "timezone": timezone,
                "language": "en",
                "roles": [role],
            }
            if token:
                self.state.tokens[token] = uid
            return uid

    def add_customer(self, name: str) -> int:
        with self.lock:
            cid = self._next()
            self.state.customers[cid] = {
                "id": cid,
                "name": name,
                "visible": True,
                "billable": True,
                "country": "DE",
                "currency": "EUR",
                "timezone": "Europe/Berlin",
            }
            return cid

    def add_project(self, name: str, customer: int) -> int:
        with self.lock:
            pid = self._next()
            self.state.projects[pid] = {
                "id": pid,
                "name": name,
                "customer": customer,
                "visible": True,
                "billable": True,
                "globalActivities": True,
                "parentTitle": self.state.customers[customer]["name"],
            }
            return pid

    def add_activity(self, name: str, project: int | None = None) -> int:
        with self.lock:
            aid = self._next()
            self.state.activities[aid] = {
                "id": aid,
                "name": name,
                "project": project,
                "visible": True,
                "billable": True,
            }
            return aid

    def add_timesheet(
        self,
        *,
        begin: datetime,
        end: datetime,
        project: int,
        activity: int,
        user: int,
        description: str = "",
        exported: bool = False,
    ) -> int:
        with self.lock:
            tid = self._next()
            self.state.timesheets[tid] = self._rounded(
                {
                    "id": tid,
                    "begin": begin,
                    "end": end,
                    "description": description,
                    "project": project,
                    "activity": activity,
                    "user": user,
                    "exported": exported,
                    "billable": True,
                    "tags": [],
                }
            )
            return tid

    def edit_timesheet(self, tid: int, **changes: Any) -> None:
        with self.lock:
            self.state.timesheets[tid] = self._rounded({**self.state.timesheets[tid], **changes})

    # protocol
    def authenticate(self, headers) -> dict:
        auth = headers.get("Authorization", "")
        if not auth and not headers.get("X-AUTH-TOKEN"):
            raise HttpError(401, {"code": 401, "message": "Unauthorized"})
        if headers.get("X-AUTH-TOKEN") and not auth:
            raise HttpError(403, {"message": "Invalid credentials"})
        found = re.fullmatch(r"Bearer (.+)", auth)
        user = self.state.users.get(self.state.tokens.get(found.group(1), 0)) if found else None
        if user is None:
            challenge = 'Bearer error="invalid_token",error_description="Invalid credentials."'
            raise HttpError(401, None, {"WWW-Authenticate": challenge})
        return user

    def not_found(self, path: str) -> Any:
        return {"code": 404, "message": "Not Found"}

    @staticmethod
    def _is(user: dict, *roles: str) -> bool:
        return bool(set(user["roles"]) & set(roles))

    @staticmethod
    def _rounded(record: dict) -> dict:
        # The default rounding rule: begin floored and end ceiled to the full minute.
        begin = record["begin"].replace(second=0, microsecond=0)
        end = record["end"]
        if end is not None and (end.second or end.microsecond):
            end = end.replace(second=0, microsecond=0) + timedelta(minutes=1)
        duration = int((end - begin).total_seconds()) if end is not None else None
        return {**record, "begin": begin, "end": end, "duration": duration}

    def _render(self, record: dict, viewer: dict) -> dict:
        zone = ZoneInfo(viewer["timezone"])

        def stamp(value: datetime | None) -> str | None:
            return value.astimezone(zone).strftime("%Y-%m-%dT%H:%M:%S%z") if value else None

        return {
            "id": record["id"],
            "begin": stamp(record["begin"]),
            "end": stamp(record["end"]),
            "duration": record["duration"],
            "break": 0,
            "description": record["description"] or None,
            "rate": 0.0,
            "internalRate": 0.0,
            "exported": record["exported"],
            "billable": record["billable"],
            "activity": record["activity"],
            "project": record["project"],
            "user": record["user"],
            "tags": record["tags"],
            "metaFields": [],
        }

    def _local(self, value: str, user: dict) -> datetime:
        parsed = datetime.fromisoformat(value.replace(" ", "T"))
        return parsed.replace(tzinfo=ZoneInfo(user["timezone"]))

    def ping(self, user, query, body):
        return {"message": "pong"}

    def me(self, user, query, body):
        return {k: v for k, v in user.items()}

    def list_users(self, user, query, body):
        if not self._is(user, "ROLE_SUPER_ADMIN"):
            raise HttpError(403, FORBIDDEN)
        return [{k: v for k, v in u.items() if k != "roles"} for u in self.state.users.values()]

    def list_customers(self, user, query, body):
        return sorted(self.state.customers.values(), key=lambda c: c["name"])

    def list_projects(self, user, query, body):
        customer = one(query, "customer")
        found = [p for p in self.state.projects.values() if not customer or p["customer"] == int(customer)]
        return sorted(found, key=lambda p: p["name"])

    def list_activities(self, user, query, body):
        project = one(query, "project")
        found = [a for a in self.state.activities.values() if not project or a["project"] in (None, int(project))]
        return sorted(found, key=lambda a: a["name"])

    def _check_fields(self, body: dict, allowed: set[str]) -> None:
        if set(body) - allowed:
            raise _validation_failed(global_errors=["This form should not contain extra fields."])

    def create_customer(self, user, query, body):
        self._check_fields(
            body, {"name", "number", "comment", "visible", "billable", "currency", "country", "timezone", "color"}
        )
        if not 2 <= len(body.get("name") or "") <= 150:
            raise _validation_failed(children={"name": ["This value should not be blank."]})
        return self.state.customers[self.add_customer(body["name"])]

    def create_project(self, user, query, body):
        self._check_fields(
            body,
            {
                "name",
                "customer",
                "number",
                "comment",
                "visible",
                "billable",
                "globalActivities",
                "orderNumber",
                "color",
            },
        )
        if int(body.get("customer") or 0) not in self.state.customers:
            raise _validation_failed(children={"customer": ["The selected choice is invalid."]})
        return self.state.projects[self.add_project(body["name"], int(body["customer"]))]

    def list_timesheets(self, user, query, body):
        records = self._filtered_timesheets(user, query)
        key = one(query, "orderBy", "begin")
        records.sort(key=lambda r: (r[key], r["id"]), reverse=one(query, "order", "DESC").upper() == "DESC")
        page, headers = _paged(records, query)
        return 200, [self._render(r, user) for r in page], headers

    def _filtered_timesheets(self, user: dict, query: dict[str, list[str]]) -> list[dict]:
        """The records ``user`` may see that match the query's user, date, tag, export and term filters."""
        records = list(self.state.timesheets.values())
        wanted_user = one(query, "user")
        if not self._is(user, "ROLE_TEAMLEAD", "ROLE_ADMIN", "ROLE_SUPER_ADMIN") or not wanted_user:
            records = [r for r in records if r["user"] == user["id"]]
        elif wanted_user != "all":
            records = [r for r in records if r["user"] == int(wanted_user)]
        for name, compare in (("begin", lambda r, v: r["begin"] >= v), ("end", lambda r, v: r["begin"] <= v)):
            value = one(query, name)
            if value:
                if not KIMAI_QUERY_DATE.match(value):
                    raise HttpError(400, {"code": 400, "message": "Bad Request"})
                limit = self._local(value, user)
                records = [r for r in records if compare(r, limit)]
        wanted_tags = query.get("tags[]", [])
        if wanted_tags:
            if not set(wanted_tags) & self._tag_names():
                raise HttpError(400, {"code": 400, "message": "Bad Request"})
            records = [r for r in records if set(r["tags"]) & set(wanted_tags)]
        if one(query, "exported") in ("0", "1"):
            records = [r for r in records if r["exported"] == (one(query, "exported") == "1")]
        return _matching_term(records, one(query, "term"))

    def _record(self, tid: str) -> dict:
        record = self.state.timesheets.get(int(tid))
        if record is None:
            raise HttpError(404, {"code": 404, "message": "Not Found"})
        return record

    def show_timesheet(self, user, query, body, tid):
        return self._render(self._record(tid), user)

    def _writable(self, user: dict, record: dict) -> None:
        admin = self._is(user, "ROLE_ADMIN", "ROLE_SUPER_ADMIN")
        if record["exported"] and not admin:
            raise HttpError(403, FORBIDDEN)
        if self.lockdown_before and record["begin"] < self.lockdown_before:
            raise HttpError(403, FORBIDDEN)
        if record["user"] != user["id"] and not self._is(user, "ROLE_TEAMLEAD", "ROLE_ADMIN", "ROLE_SUPER_ADMIN"):
            raise HttpError(403, FORBIDDEN)

    def _validated(self, user: dict, body: dict, base: dict) -> dict:
        self._check_fields(body, KIMAI_FORM_FIELDS)
        if "user" in body and not self._is(user, "ROLE_TEAMLEAD", "ROLE_ADMIN", "ROLE_SUPER_ADMIN"):
            raise _validation_failed(global_errors=["This form should not contain extra fields."])
        children: dict[str, list[str]] = {}
        record = dict(base)
        self._read_times(user, body, record, children)
        self._read_project_and_activity(body, record, children)
        if "user" in body:
            if int(body["user"]) not in self.state.users:
                children["user"] = ["The selected choice is invalid."]
            else:
                record["user"] = int(body["user"])
        if "description" in body:
            record["description"] = body["description"] or ""
        if "tags" in body:
            names = body["tags"].split(",") if isinstance(body["tags"], str) else list(body["tags"] or [])
            # Only existing tags are attached; unknown names are dropped without a word (2.65.0).
            record["tags"] = [n.strip() for n in names if n.strip() in self._tag_names()]
        if children:
            raise _validation_failed(children=children)
        if record.get("end") is not None and record["end"] < record["begin"]:
            raise _validation_failed(global_errors=["The end date must not be earlier than the start date."])
        return self._rounded(record)

    def _read_times(self, user: dict, body: dict, record: dict, children: dict[str, list[str]]) -> None:
        for name in ("begin", "end"):
            if name in body:
                if not KIMAI_LOCAL.match(str(body[name])):
                    children[name] = ["This value is not valid."]
                else:
                    record[name] = self._local(str(body[name]), user)

    def _read_project_and_activity(self, body: dict, record: dict, children: dict[str, list[str]]) -> None:
        for name, table, missing in (
            ("project", self.state.projects, "A project needs to be selected."),
            ("activity", self.state.activities, "An activity needs to be selected."),
        ):
            if name in body or record.get(name) is None:
                value = body.get(name)
                if value in (None, ""):
                    children[name] = [missing]
                elif int(value) not in table:
                    children[name] = ["The selected choice is invalid."]
                else:
                    record[name] = int(value)

    def create_timesheet(self, user, query, body):
        now = datetime.now(UTC)
        base = {
            "id": 0,
            "begin": now,
            "end": None,
            "description": "",
            "project": None,
            "activity": None,
            "user": user["id"],
            "exported": False,
            "billable": True,
            "tags": [],
        }
        record = self._validated(user, body, base)
        record["id"] = self._next()
        self.state.timesheets[record["id"]] = record
        return self._render(record, user)

    def patch_timesheet(self, user, query, body, tid):
        record = self._record(tid)
        self._writable(user, record)
        updated = self._validated(user, body, record)
        self.state.timesheets[record["id"]] = updated
        return self._render(updated, user)

    def delete_timesheet(self, user, query, body, tid):
        record = self._record(tid)
        self._writable(user, record)
        del self.state.timesheets[record["id"]]
        return 204, None, {}

    def _tag_names(self) -> set[str]:
        return {t["name"] for t in self.state.tags.values()}

    def list_tags(self, user, query, body):
        name = one(query, "name").lower()
        return sorted(t["name"] for t in self.state.tags.values() if name in t["name"].lower())

    def create_tag(self, user, query, body):
        self._check_fields(body, {"name", "color", "visible"})
        name = str(body.get("name") or "")
        if not 2 <= len(name) <= 100 or re.search(r'[,<>"=]', name) or name in self._tag_names():
            raise _validation_failed(children={"name": ["This value is not valid."]})
        tag_id = self._next()
        self.state.tags[tag_id] = {"id": tag_id, "name": name, "color": body.get("color"), "visible": True}
        return self.state.tags[tag_id]
