"""A database that drops away in the middle of a request answers 503, not 500.

A PostgreSQL restart, a failover or a backend terminated by an administrator reaches the app as
`OperationalError` or `InterfaceError` from whatever query runs next. The database rolls back the
transaction that was open on the lost connection, so nothing half-written is stored: the client
only has to send the same request again. This middleware says so (503 with `Retry-After`) and
drops the broken connection, so the next request on this worker opens a fresh one instead of
failing on the dead socket too.

The pages are rendered without the request, so no context processor touches the database that
has just failed.
"""

from __future__ import annotations

import logging

from django.db import InterfaceError, OperationalError, connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.cache import add_never_cache_headers

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
MESSAGE = "The service is briefly unavailable; nothing was half-saved. Please retry shortly."
RESPONDENT_PREFIXES = ("/s/", "/i/")


class DatabaseUnavailableMiddleware:
    """Turn a lost database connection during a view into a clean, retryable 503."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        log.warning(
            "Database unavailable during %s %s: %s",
            request.method,
            request.path,
            str(exception).strip().splitlines()[0] if str(exception).strip() else "",
            exc_info=exception,
        )
        _drop_connections()
        return unavailable(request)


def _drop_connections() -> None:
    for conn in connections.all(initialized_only=True):
        try:
            conn.close()
        except Exception:  # closing a dead socket can fail too; the wrapper is reset either way
            log.debug("Closing the broken %s connection failed", conn.alias, exc_info=True)


def unavailable(request: HttpRequest) -> HttpResponse:
    """The 503 answer: JSON for the API, the survey's layout for respondents, else the app's."""
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse({"detail": MESSAGE}, status=503)
    else:
        respondent = request.path.startswith(RESPONDENT_PREFIXES)
        template = "surveys/respond/503.html" if respondent else "503.html"
        try:
            body = render_to_string(template, {"retry_url": request.path})
        except Exception:  # e.g. a static manifest that is missing: still answer cleanly
            log.exception("Rendering %s failed", template)
            body = MESSAGE
            return _finish(HttpResponse(body, status=503, content_type="text/plain"))
        response = HttpResponse(body, status=503)
    return _finish(response)


def _finish(response: HttpResponse) -> HttpResponse:
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    add_never_cache_headers(response)
    return response
