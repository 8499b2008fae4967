"""Secrets that travel in URLs stay out of the logs.

A private feed's token is a query parameter (``/ics/studio.ics?token=…``: calendar apps can send
nothing else) and a Zammad webhook's token is a path segment; gunicorn's access log prints the
request line and Django logs the path of every 4xx. Both loggers pass through ``redact``:
gunicorn via ``RedactingGunicornLogger`` (``--logger-class``), Django via the ``RedactSecrets``
filter on its handlers.
"""

from __future__ import annotations

import logging
import re

from gunicorn.glogging import Logger

REDACTED = "[redacted]"
_SECRET_PARAMS = re.compile(
    r"(?i)((?:^|[?&;\s])(?:token|key|secret|password|access_token|api_key|signature)=)[^&;\s\"']*"
)
_SECRET_SEGMENTS = re.compile(r"(/api/webhooks/zammad/)[^/?\s\"']+")


def redact(text: str) -> str:
    return _SECRET_SEGMENTS.sub(rf"\1{REDACTED}", _SECRET_PARAMS.sub(rf"\1{REDACTED}", text))


class RedactingGunicornLogger(Logger):
    """gunicorn's logger, with every access-log atom (request line, query, path, referer) redacted."""

    def atoms(self, resp, req, environ, request_time) -> dict:  # type: ignore[no-untyped-def]
        return {
            name: redact(value) if isinstance(value, str) else value
            for name, value in super().atoms(resp, req, environ, request_time).items()
        }


class RedactSecrets(logging.Filter):
    """Rewrites a record's message with secrets in URLs redacted (``django.request`` logs paths)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
