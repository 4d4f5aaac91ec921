"""The WSGI application: Django behind a guard that bounds how long a request's body may stall.

A client that declares a body (Content-Length) and sends less would otherwise hold one of
gunicorn's threads for as long as it keeps the connection open: the view's read blocks on the
socket, and no gunicorn setting bounds it. `BodyDeadline` reads the declared body before Django
starts, with a timeout of REQUEST_BODY_TIMEOUT seconds on each read of gunicorn's socket: a body
that stalls that long is answered 408 and its connection shut. A body that ends early (the
client closed its side) is a 400. Bodies over UPLOAD_MAX_BYTES are left unread for
RequestSizeLimitMiddleware's 413.

The timeout bounds each pause, not the whole body: a client sending a byte now and then still
holds a thread. That, and slow headers, are what the reverse proxy in front of gunicorn is for
(deploy/nginx.conf): nginx waits for bodies without a thread and passes them on whole.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from tempfile import SpooledTemporaryFile

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

CHUNK_BYTES = 64 * 1024
IN_MEMORY_BYTES = 1024 * 1024  # larger bodies wait in a temporary file

StartResponse = Callable[..., object]


class BodyDeadline:
    """WSGI middleware: read the declared body with no pause over `timeout`, or answer 408."""

    def __init__(self, app: Callable, *, timeout: float, max_bytes: int | None) -> None:
        self.app, self.timeout, self.max_bytes = app, timeout, max_bytes

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        sock = environ.get("gunicorn.socket")
        try:
            declared = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0  # Django refuses it itself
        if sock is None or declared <= 0 or (self.max_bytes and declared > self.max_bytes):
            return self.app(environ, start_response)
        body = SpooledTemporaryFile(max_size=IN_MEMORY_BYTES)  # noqa: SIM115 (handed to Django)
        previous = sock.gettimeout()
        received = 0
        try:
            sock.settimeout(self.timeout)
            stream = environ["wsgi.input"]
            while received < declared:
                chunk = stream.read(min(CHUNK_BYTES, declared - received))
                if not chunk:
                    break
                body.write(chunk)
                received += len(chunk)
        except (TimeoutError, OSError):
            body.close()
            return _refuse(
                environ,
                start_response,
                "408 Request Timeout",
                f"The request body stopped arriving: Content-Length declared {declared} bytes, "
                f"and nothing more came for {self.timeout:g} s.",
            )
        finally:
            with suppress(OSError):  # the response is written without a read timeout
                sock.settimeout(previous)
        if received < declared:
            body.close()
            return _refuse(
                environ,
                start_response,
                "400 Bad Request",
                f"The request body ended after {received} of the {declared} bytes its "
                "Content-Length declared.",
            )
        body.seek(0)
        environ["wsgi.input"] = body
        return self.app(environ, start_response)


def _refuse(environ: dict, start_response: StartResponse, status: str, message: str) -> Iterable:
    if environ.get("PATH_INFO", "").startswith("/api/"):
        content, kind = json.dumps({"detail": message}).encode(), "application/json"
    else:
        content, kind = message.encode(), "text/plain; charset=utf-8"
    start_response(status, [("Content-Type", kind), ("Content-Length", str(len(content)))])
    return _ThenShut(content, environ["gunicorn.socket"])


class _ThenShut:
    """The answer, then the connection shut: what is left of the body would be read as the next
    request, and waiting for it is what the answer refuses. (gunicorn keeps the connection alive
    whatever Connection header the application sends; it closes it once it reads the end.)"""

    def __init__(self, content: bytes, sock: socket.socket) -> None:
        self.content, self.sock = content, sock

    def __iter__(self) -> Iterator[bytes]:
        yield self.content

    def close(self) -> None:  # called by the server once the answer is written
        with suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)


def _application() -> Callable:
    django_app = get_wsgi_application()
    from django.conf import settings

    return BodyDeadline(
        django_app,
        timeout=settings.REQUEST_BODY_TIMEOUT,
        max_bytes=settings.DATA_UPLOAD_MAX_MEMORY_SIZE,
    )


application = _application()
