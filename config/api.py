"""Small pieces every app's REST API shares."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from drf_spectacular import openapi
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import Direction, OpenApiResponse, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.permissions import AllowAny


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


def as_drf_error(exc: DjangoValidationError) -> ValidationError:
    """A model or service ValidationError as the API's 400, keeping its field names."""
    return ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)


# --- the schema -----------------------------------------------------------------------------------

ERROR_BODY = inline_serializer("Error", fields={"detail": serializers.CharField()})
_WRITES = ("POST", "PUT", "PATCH")


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's schema, plus the error answers every operation can give whatever its
    view declares: a client reading the schema (and schemathesis checking the API against it)
    finds every status code the API really sends. A view's own description of a code wins."""

    def _error_codes(self) -> dict[int, str]:
        public = any(isinstance(p, AllowAny) for p in self.view.get_permissions())
        # Any request can be refused as malformed: text that cannot be stored (a NUL) in its
        # URL, query string or headers is a 400 before the view runs (config/inputs.py).
        codes: dict[int, str] = {
            400: "The request is malformed or a value is not valid; the body says which."
        }
        if not public:
            codes[401] = "Not signed in, or the token given is not valid."
            codes[403] = "Your role may not do this (or a signed-in browser sent no CSRF token)."
        if "{" in self.path:
            codes[404] = "No such object in your workspaces (or no such link)."
        if self.method in _WRITES:
            # A body that stops arriving is refused before the view (config/wsgi.py).
            codes[408] = "The request body stopped arriving; nothing was stored."
            codes[413] = "The request body is larger than the upload limit."
            codes[415] = "The body's content type is not one this operation reads."
        if public or self.view.get_throttles():
            codes[429] = "Too many requests; try again after Retry-After seconds."
        # The database went away mid-request (config/faults.py): nothing was stored, and the
        # same request may be sent again after Retry-After seconds.
        codes[503] = (
            "The service is briefly unavailable; nothing was stored. "
            "Send the same request again after Retry-After seconds."
        )
        return codes

    def _get_response_bodies(self, direction: Direction = "response") -> dict:
        responses = super()._get_response_bodies(direction)
        for code, description in self._error_codes().items():
            if str(code) in responses:
                continue
            body = OpenApiTypes.OBJECT if code == 400 else ERROR_BODY
            responses[str(code)] = self._get_response_for_code(
                OpenApiResponse(body, description=description), str(code), direction=direction
            )
        return responses


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The 404 of a URL no route matches (config/urls.py `handler404`): JSON under /api/, as
    every other answer of the API (a client asking for /api/jobs/1.5/ reads a JSON error, as
    the schema says), Django's page everywhere else."""
    if request.path_info.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)
