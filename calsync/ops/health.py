"""Health endpoints: a cheap public liveness probe and a staff-only view of every moving part."""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import Max
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from calsync.celery import app as celery_app
from calsync.ops.models import Heartbeat
from calsync.ops.serializers import DetailedHealthSerializer, HealthSerializer

logger = logging.getLogger(__name__)

# Load balancers and monitors give up after a few seconds; a hung broker must not hang the probe.
BROKER_TIMEOUT_SECONDS = 3.0
# A process is stale after missing this many heartbeats in a row.
STALE_AFTER_BEATS = 3


def _elapsed_ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)


def _database_probe() -> dict[str, Any]:
    started = time.monotonic()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        logger.error("health: database unavailable: %s", exc)
        return {"ok": False, "vendor": connection.vendor, "error": str(exc)}
    return {"ok": True, "vendor": connection.vendor, "latency_ms": _elapsed_ms(started)}


def _without_password(text: str, url: str) -> str:
    try:
        password = urlsplit(url).password
    except ValueError:
        password = None
    return text.replace(password, "***") if password else text


def _broker_connect() -> None:
    with celery_app.connection_for_write(connect_timeout=BROKER_TIMEOUT_SECONDS) as broker:
        broker.ensure_connection(max_retries=1, interval_start=0, timeout=BROKER_TIMEOUT_SECONDS)


def _broker_probe() -> dict[str, Any]:
    with celery_app.connection_for_write() as broker:
        # as_uri() masks even an absent password (":**@"), which reads as if one were set.
        shown_url = broker.as_uri(mask="***") if broker.password else broker.as_uri(include_password=True)
    started = time.monotonic()
    # ensure_connection's own timeout does not cover every transport's DNS lookup or TLS
    # handshake, so the probe also runs in a thread that is abandoned when it overruns.
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="health-broker")
    try:
        executor.submit(_broker_connect).result(timeout=BROKER_TIMEOUT_SECONDS + 1)
    except FutureTimeout:
        error = f"no answer within {BROKER_TIMEOUT_SECONDS:g} s"
    except Exception as exc:  # kombu, redis and socket errors share no base class
        error = _without_password(str(exc) or type(exc).__name__, settings.CELERY_BROKER_URL)
    else:
        return {"ok": True, "url": shown_url, "latency_ms": _elapsed_ms(started)}
    finally:
        executor.shutdown(wait=False)
    logger.error("health: broker %s unavailable: %s", shown_url, error)
    return {"ok": False, "url": shown_url, "error": error}


def _heartbeat_probe(kind: str, *, now: datetime) -> dict[str, Any]:
    stale_after = STALE_AFTER_BEATS * settings.CALSYNC_HEARTBEAT_SECONDS
    result: dict[str, Any] = {"ok": False, "last_seen": None, "age_seconds": None, "alive": 0}
    result["stale_after_seconds"] = stale_after
    try:
        beats = Heartbeat.objects.filter(kind=kind)
        last_seen = beats.aggregate(last=Max("seen_at"))["last"]
        alive = beats.filter(seen_at__gte=now - timedelta(seconds=stale_after)).count()
    except DatabaseError:
        return {**result, "error": "database unavailable"}
    if last_seen is None:
        return {**result, "error": f"no {kind} has reported yet"}
    age = (now - last_seen).total_seconds()
    return {**result, "ok": age <= stale_after, "last_seen": last_seen, "age_seconds": round(age, 1), "alive": alive}


def health_report(*, now: datetime | None = None) -> dict[str, Any]:
    """Database, broker, workers and beat, each ``{"ok": ..., ...}``, and ``status`` ok/error.

    The one computation behind /api/health/detailed and the dashboard's health tiles.
    """
    now = now or timezone.now()
    parts = {
        "database": _database_probe(),
        "broker": _broker_probe(),
        "worker": _heartbeat_probe("worker", now=now),
        "beat": _heartbeat_probe("beat", now=now),
    }
    healthy = all(part["ok"] for part in parts.values())
    return {"status": "ok" if healthy else "error", **parts}


class HealthView(APIView):
    # Public and cheap: no authentication, so a monitor with stale credentials still gets an answer.
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Liveness",
        description="200 when the database answers, 503 otherwise. Public.",
        responses={200: HealthSerializer, 503: HealthSerializer},
        auth=[],
    )
    def get(self, request: Request) -> Response:
        if _database_probe()["ok"]:
            return Response({"status": "ok"})
        return Response(
            {"status": "error", "detail": "database unavailable"}, status=status.HTTP_503_SERVICE_UNAVAILABLE
        )


class DetailedHealthView(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(
        summary="Health of every part",
        description=(
            "Database, broker, workers and beat; staff only. Workers and beat are stale when their last "
            "heartbeat is older than three heartbeat intervals. 503 when any part is not ok."
        ),
        responses={200: DetailedHealthSerializer, 503: DetailedHealthSerializer},
    )
    def get(self, request: Request) -> Response:
        report = health_report()
        body = DetailedHealthSerializer(report).data
        healthy = report["status"] == "ok"
        return Response(body, status=status.HTTP_200_OK if healthy else status.HTTP_503_SERVICE_UNAVAILABLE)
