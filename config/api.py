"""Small pieces every app's REST API shares."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


def as_drf_error(exc: DjangoValidationError) -> ValidationError:
    """A model or service ValidationError as the API's 400, keeping its field names."""
    return ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
