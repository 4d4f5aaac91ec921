"""A database that drops away in the middle of a request answers 503, not 500.

A PostgreSQL restart, a failover or a backend terminated by an administrator reaches the app as
`OperationalError` or `InterfaceError` from whatever query runs next. The database rolls back the
transaction that was open on the lost connection, so nothing half-written is stored: the client
only has to send the same request again. This middleware says so (503 with `Retry-After`) and
drops the broken connection, so the next request on this worker opens a fresh one instead of
failing on the dead socket too.

The pages are rendered without the request, so no context processor touches the database that
has just failed.

For "nothing was half-saved" to hold, a write must not be committed before its answer is ready:
`AtomicWritesMiddleware` runs each signed-in write, from the view to the last middleware, in one
transaction, and when the answer to its COMMIT is lost asks the database what became of it.
"""

from __future__ import annotations

import logging
import sys
import time

from django.db import connection, connections, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.cache import add_never_cache_headers
from django.views import defaults

from config.retries import TRANSIENT_ERRORS

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
MESSAGE = "The service is briefly unavailable; nothing was half-saved. Please retry shortly."
# The respondents' pages: their error pages wear the survey's layout (here and config/inputs.py).
RESPONDENT_PREFIXES = ("/s/", "/i/")
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Respondents' routes keep transactions of their own (a row lock per page, the submission's
# one-statement fast path, surveys/submission.py), held to the same rule by the fault tests.
OWN_TRANSACTIONS = (*RESPONDENT_PREFIXES, "/api/public/")
# How long to keep asking what became of a transaction whose COMMIT went unanswered.
COMMIT_OUTCOME_WAIT_SECONDS = 5.0
_NOT_ASKED = object()


class DatabaseUnavailableMiddleware:
    """Turn a lost database connection during a view into a clean, retryable 503."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, TRANSIENT_ERRORS):
            return None
        return _database_lost(request, exception, "during")


def server_error(request: HttpRequest) -> HttpResponse:
    """The 500 handler (config/urls.py `handler500`), with one exception: a lost database.

    `process_exception` above sees only what a view raises. A query that fails in a middleware
    (the session saved after the view, a sign-in lockout lookup) reaches Django's last-resort
    handler instead, which calls this inside its `except` block, so the exception is at hand:
    a lost connection there is the same retryable 503, and anything else the usual 500 page."""
    exception = sys.exc_info()[1]
    if isinstance(exception, TRANSIENT_ERRORS):
        return _database_lost(request, exception, "in a middleware during")
    return defaults.server_error(request)


def _database_lost(request: HttpRequest, exception: BaseException, where: str) -> HttpResponse:
    first_line = (str(exception).strip().splitlines() or [""])[0]
    log.warning(
        "Database unavailable %s %s %s: %s",
        where,
        request.method,
        request.path,
        first_line,
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
            body: str = render_to_string(template, {"retry_url": request.path})
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


class AtomicWritesMiddleware:
    """Run a write request in one transaction that ends only when its answer is ready.

    Otherwise a service commits its rows and the view then builds the answer (the API counting a
    new job's outcomes, checking a new outcome against its siblings): a connection lost there
    gave a 503 for a row that was stored, and the client's retry stored it twice. Here the view, the
    serializers, template rendering and every middleware below this one share the transaction,
    which commits after the answer exists; a 5xx answer (a lost connection turned into a 503, a
    bug) rolls it back.

    One window is left: COMMIT sent, its answer lost. The database may or may not have stored
    the transaction, so PostgreSQL is asked (`pg_xact_status`) by the transaction's id, taken
    just before COMMIT: stored, and the answer already built is sent; not stored, a 503. Only
    if the database cannot be reached for COMMIT_OUTCOME_WAIT_SECONDS does a 503 go out without
    knowing (logged as an error; docs/security.md says so).
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method not in WRITE_METHODS or request.path.startswith(OWN_TRANSACTIONS):
            return self.get_response(request)
        xid: object = _NOT_ASKED
        try:
            with transaction.atomic():
                response = self.get_response(request)
                if response.status_code >= 500:
                    transaction.set_rollback(True)
                else:
                    xid = _transaction_id()
        except TRANSIENT_ERRORS as exc:
            # Raised by COMMIT or just before it: everything inside answered already.
            # xid: None (nothing written), the transaction's id, or _NOT_ASKED (cannot ask).
            if xid is None or (isinstance(xid, str) and _committed(xid, request)):
                return response  # nothing to store, or stored: the answer is true
            log.warning(
                "Database unavailable while committing %s %s: %s", request.method, request.path, exc
            )
            _drop_connections()
            return unavailable(request)
        return response


def _transaction_id() -> str | object | None:
    """The id of the open transaction if it wrote anything (None if it wrote nothing);
    _NOT_ASKED where the database cannot say what became of a transaction later."""
    if connection.vendor != "postgresql":
        return _NOT_ASKED
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_xact_id_if_assigned()::text")
        return cursor.fetchone()[0]


def _committed(xid: str, request: HttpRequest) -> bool:
    """Whether transaction `xid`, whose COMMIT went unanswered, was stored; False when the
    database says it was not, or cannot be asked in time."""
    deadline = time.monotonic() + COMMIT_OUTCOME_WAIT_SECONDS
    while True:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_xact_status(%s::xid8)", [xid])
                status = cursor.fetchone()[0]
        except TRANSIENT_ERRORS:
            _drop_connections()
            status = None
        if status in ("committed", "aborted"):
            log.warning(
                "The answer to COMMIT of %s %s was lost; it was %s",
                request.method,
                request.path,
                status,
            )
            return status == "committed"
        if time.monotonic() > deadline:
            log.error(
                "The answer to COMMIT of %s %s was lost and the database could not say whether "
                "transaction %s was stored; answering 503",
                request.method,
                request.path,
                xid,
            )
            return False
        time.sleep(0.2)
