"""Small DRF helpers every app's API uses (errors are answered by ``calsync.errors.api_exception_handler``)."""

from __future__ import annotations

from collections.abc import Mapping

from rest_framework import serializers

# The largest value of the 64-bit id columns (BigAutoField); a larger one would overflow the database.
MAX_QUERY_INT = 2**63 - 1


def query_int(params: Mapping[str, str], name: str) -> int | None:
    """A non-negative whole number from the query string; ``None`` when absent or blank.

    Anything else is the client's mistake, answered with a 400 that names the parameter, rather
    than a ``ValueError`` or a database overflow becoming a 500.
    """
    raw = params.get(name, "").strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()) or int(raw) > MAX_QUERY_INT:
        raise serializers.ValidationError({name: [f"A whole number from 0 to {MAX_QUERY_INT} is expected."]})
    return int(raw)
