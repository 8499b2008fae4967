"""Small DRF helpers every app's API uses."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers


@contextmanager
def validation_errors_as_400() -> Iterator[None]:
    """Services raise Django's ValidationError; DRF only renders its own as a 400."""
    try:
        yield
    except DjangoValidationError as exc:
        raise serializers.ValidationError(serializers.as_serializer_error(exc)) from None
