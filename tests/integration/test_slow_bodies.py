"""Clients that declare a request body and stop sending it get a 408 and a closed connection
within REQUEST_BODY_TIMEOUT of their last data, and the server thread is free again at once.

Through real gunicorn with one worker of one thread, so a held thread would hold every other
request. Skipped unless the suite runs on PostgreSQL, like every test that starts gunicorn.
"""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest

from surveys.models import Response
from tests.integration.servers import (
    SHARES_POSTGRES,
    Browser,
    Gunicorn,
    stopped_after,
)
from tests.integration.test_faults import make_survey

pytestmark = SHARES_POSTGRES

TIMEOUT = 2  # REQUEST_BODY_TIMEOUT given to the server


def send_head(port: int, path: str, declared: int, first: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {declared}\r\n\r\n"
    )
    sock.sendall(head.encode() + first)
    return sock


def read_until_closed(sock: socket.socket, limit: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and when it closed."""
    started = time.monotonic()
    sock.settimeout(limit)
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except TimeoutError:
        raise AssertionError(f"still open after {limit} s; received {received[:300]!r}") from None
    finally:
        sock.close()
    return received, time.monotonic() - started


@pytest.mark.timeout(120)
def test_a_body_shorter_than_declared_is_refused_in_time_and_frees_the_thread(tmp_path):
    survey, _ = make_survey(outcomes=4, invitations=0)
    path = f"/api/public/surveys/{survey.public_token}/responses/"
    server = Gunicorn(tmp_path, workers=1, threads=1, REQUEST_BODY_TIMEOUT=str(TIMEOUT))
    with stopped_after([server]):
        started = time.monotonic()
        slow = send_head(server.port, path, declared=1000, first=b'{"answers": ')
        # Another request, while the only thread waits for the rest of that body.
        other: list = []
        thread = threading.Thread(target=lambda: other.append(Browser(server.port).get(path)))
        thread.start()

        answer, _ = read_until_closed(slow, limit=TIMEOUT + 8)
        refused_after = time.monotonic() - started
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408"), answer[:300]
        assert b"application/json" in head
        assert "stopped arriving" in json.loads(body)["detail"]
        assert TIMEOUT - 0.5 < refused_after < TIMEOUT + 5, refused_after

        thread.join(timeout=10)
        assert other and other[0].status == 405, other  # GET on a POST route: answered
        assert other[0].seconds < TIMEOUT + 3, other[0].seconds
        assert not Response.objects.exists()


@pytest.mark.timeout(120)
def test_a_body_that_stalls_half_way_is_refused_and_a_whole_one_is_served(tmp_path):
    survey, _ = make_survey(outcomes=4, invitations=0)
    path = f"/api/public/surveys/{survey.public_token}/responses/"
    server = Gunicorn(tmp_path, workers=1, threads=1, REQUEST_BODY_TIMEOUT=str(TIMEOUT))
    with stopped_after([server]):
        body = b'{"answers": {}}' + b" " * 985
        # Half the body a little at a time, each pause shorter than the timeout, then nothing.
        stalling = send_head(server.port, path, declared=len(body), first=b"")
        for i in range(0, 500, 100):
            stalling.sendall(body[i : i + 100])
            time.sleep(TIMEOUT / 2)
        stalled = time.monotonic()
        answer, _ = read_until_closed(stalling, limit=TIMEOUT + 8)
        assert answer.startswith(b"HTTP/1.1 408"), answer[:300]
        assert b"nothing more came for 2 s" in answer
        assert time.monotonic() - stalled < TIMEOUT + 3

        # The same body whole is read and answered by the application as usual.
        whole = Browser(server.port).post_json(path, body)
        assert whole.status == 400, whole.text  # no invitation nor key: the API says which
        assert json.loads(whole.text), whole.text
        # A body that ends before its Content-Length (the client closed its side) is a 400.
        short = send_head(server.port, path, declared=len(body), first=body[:10])
        short.shutdown(socket.SHUT_WR)
        answer, _ = read_until_closed(short, limit=TIMEOUT + 8)
        assert answer.startswith(b"HTTP/1.1 400"), answer[:300]
        assert b"ended after 10 of the 1000 bytes" in answer
        assert not Response.objects.exists()
