"""Real processes for the fault tests: gunicorn, a private redis-server, and a stdlib browser.

Everything here talks over sockets, as production does: the app runs in gunicorn against the
pytest-django test database (committed data: the tests use transaction=True), and the clients are
`http.client` with a cookie jar and an `html.parser` reader of the survey's form.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.db import connection

PROJECT = Path(__file__).resolve().parents[2]
BIN = PROJECT / ".venv" / "bin"
# Backends the app under test opens carry this name, so a test can find (and kill) exactly them.
APP_NAME = "oe-fault-test-app"

# The marks of a test whose processes (gunicorn, a worker) share the pytest-django test database:
# it needs PostgreSQL, and its data committed.
SHARES_POSTGRES = [
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
        reason="needs PostgreSQL shared with the processes under test: set DATABASE_URL=postgres://…",
    ),
    pytest.mark.django_db(transaction=True),
]
NEEDS_REDIS_SERVER = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="needs redis-server"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url(application_name: str | None = None, *, port: int | None = None) -> str:
    """The URL of the database this test process uses (pytest-django's test database); `port`
    reaches it through a relay on this machine instead (PgRelay)."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = "127.0.0.1" if port else db.get("HOST") or "127.0.0.1"
    port = port or db.get("PORT") or 5432
    url = f"postgres://{db['USER']}{password}@{host}:{port}/{db['NAME']}"
    return f"{url}?application_name={application_name}" if application_name else url


def pg_connect(autocommit: bool = True):
    import psycopg

    return psycopg.connect(database_url(), autocommit=autocommit)


def app_backend_waiting_on_a_lock(admin) -> int | None:
    """The pid of a backend of the app under test that waits for a lock, if one does."""
    row = admin.execute(
        "SELECT pid FROM pg_stat_activity WHERE application_name = %s AND wait_event_type = 'Lock'",
        (APP_NAME,),
    ).fetchone()
    return row[0] if row else None


def wait_for(condition: Callable[[], object], timeout: float, what: str, log: str = ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{log}")


class Process:
    """A child process in its own process group, its output in a log file."""

    def __init__(self, name: str, args: list[str], log_path: Path, env: dict[str, str]):
        self.name, self.log_path = name, log_path
        self._log = log_path.open("ab")
        self.proc = subprocess.Popen(
            args,
            cwd=PROJECT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log(self, tail: int = 6000) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return f"--- {self.name} ({self.log_path})\n{text[-tail:]}"

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, sig)
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
            except ProcessLookupError:
                pass
        self._log.close()


def logs(processes: list[Process], tail: int = 6000) -> str:
    """The end of each process's log, for a failing test to print."""
    return "\n".join(p.log(tail) for p in processes)


@contextlib.contextmanager
def stopped_after(processes: list[Process], tail: int = 6000) -> Iterator[None]:
    """Stops the processes when the block ends, newest first (the list may grow inside it), and
    prints their logs if it fails."""
    try:
        yield
    except BaseException:
        print(logs(processes, tail))
        raise
    finally:
        for process in reversed(processes):
            process.stop()


def app_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "REDIS_URL")}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        SECRET_KEY="fault-test-secret-key",
        DEBUG="0",
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_COOKIES="0",
        STATIC_MANIFEST="0",
        RATE_LIMIT_PUBLIC="0",
        DATABASE_URL=database_url(APP_NAME),
        LOG_LEVEL="WARNING",
    )
    env.update(overrides)
    return env


class Gunicorn(Process):
    def __init__(self, tmp_path: Path, *, workers: int = 2, threads: int = 2, **env: str):
        self.port = free_port()
        args = [
            str(BIN / "gunicorn"),
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--worker-class",
            "gthread",
            "--timeout",
            "60",
            "--graceful-timeout",
            "5",
            "--no-control-socket",  # its default path is shared by every gunicorn of the user
        ]
        super().__init__("gunicorn", args, tmp_path / f"gunicorn-{self.port}.log", app_env(**env))
        wait_for(self._answers, 60, "gunicorn to answer", self.log())

    def _answers(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"gunicorn exited with {self.proc.returncode}\n{self.log()}")
        try:
            return Browser(self.port).get("/accounts/login/").status == 200
        except OSError:
            return False


class RedisServer(Process):
    """A redis-server of this test alone: it can be killed without touching the shared one."""

    def __init__(self, tmp_path: Path, port: int | None = None):
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--save", "", "--appendonly", "no", "--daemonize", "no"]
        super().__init__("redis", args, tmp_path / f"redis-{self.port}.log", dict(os.environ))
        wait_for(self.answers, 20, "redis-server to answer", self.log())

    def client(self):
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=1)

    def answers(self) -> bool:
        try:
            return bool(self.client().ping())
        except Exception:
            return False


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    text: str
    seconds: float

    @property
    def location(self) -> str:
        return self.headers.get("Location", "")


class Browser:
    """One client: a cookie jar and a new connection per request (no keep-alive surprises)."""

    def __init__(self, port: int, timeout: float = 120) -> None:
        self.port = port
        self.timeout = timeout
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: bytes | None = None, **headers) -> Reply:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        headers = {"Connection": "close", **headers}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        started = time.monotonic()
        try:
            conn.request(method, path, body=body, headers=headers)
            answer = conn.getresponse()
            data = answer.read()
        finally:
            conn.close()
        for raw in answer.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(raw).items():
                self.cookies[name] = morsel.value
        return Reply(answer.status, answer.headers, data.decode(), time.monotonic() - started)

    def get(self, path: str) -> Reply:
        return self.request("GET", path)

    def post_form(self, path: str, fields: list[tuple[str, str]]) -> Reply:
        body = urlencode(fields).encode()
        return self.request(
            "POST", path, body, **{"Content-Type": "application/x-www-form-urlencoded"}
        )

    def post_json(self, path: str, body: bytes) -> Reply:
        return self.request("POST", path, body, **{"Content-Type": "application/json"})


class FormReader(HTMLParser):
    """The inputs of the page's POST form, in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.inputs: list[dict[str, str]] = []
        self.in_form = False

    def handle_starttag(self, tag: str, attrs) -> None:
        attributes = {k: v or "" for k, v in attrs}
        if tag == "form" and attributes.get("method", "").lower() == "post":
            self.in_form = True
        elif tag == "input" and self.in_form and attributes.get("name"):
            self.inputs.append(attributes)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.in_form = False


def read_form(html: str) -> list[dict[str, str]]:
    reader = FormReader()
    reader.feed(html)
    return reader.inputs


def fill_form(
    inputs: list[dict[str, str]], choose: Callable[[str, list[str]], str]
) -> list[tuple[str, str]]:
    """Hidden fields as given, one `choose(name, offered values)` per radio group, every
    checkbox ticked (the consent box), text fields left as they are."""
    fields: list[tuple[str, str]] = []
    groups: dict[str, list[str]] = {}
    for item in inputs:
        kind, name = item.get("type", "text"), item["name"]
        if kind == "radio":
            groups.setdefault(name, []).append(item.get("value", ""))
        elif kind == "checkbox":
            fields.append((name, item.get("value", "on")))
        elif kind in ("hidden", "text"):
            fields.append((name, item.get("value", "")))
    fields += [(name, choose(name, values)) for name, values in groups.items()]
    return fields


class PgRelay:
    """A TCP relay to PostgreSQL that can lose the answer to a COMMIT, as a network can.

    `lose_next_commit_answer()` arms it: the next COMMIT a client sends reaches the server, the
    server commits and answers, and the relay drops that answer and closes both sides. The
    client is left not knowing whether its transaction was stored; the server has it.
    """

    # psycopg sends COMMIT as a simple query: 'Q', int32 length (4 + 7), the text, a NUL.
    COMMIT = b"Q\x00\x00\x00\x0bCOMMIT\x00"

    def __init__(self, host: str = "127.0.0.1", port: int = 5432) -> None:
        self.target = (host, port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._armed = threading.Event()
        self.answers_lost = 0
        self._sockets: list[socket.socket] = []
        self._closing = False
        threading.Thread(target=self._accept, daemon=True).start()

    def lose_next_commit_answer(self) -> None:
        self._armed.set()

    def close(self) -> None:
        self._closing = True
        self._listener.close()
        for sock in self._sockets:
            _close_quietly(sock)

    def _accept(self) -> None:
        while not self._closing:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            self._sockets += [client, server]
            losing = threading.Event()
            threading.Thread(target=self._up, args=(client, server, losing), daemon=True).start()
            threading.Thread(target=self._down, args=(server, client, losing), daemon=True).start()

    def _up(self, client: socket.socket, server: socket.socket, losing: threading.Event) -> None:
        tail = b""
        try:
            while data := client.recv(65536):
                if self._armed.is_set() and self.COMMIT in tail + data:
                    self._armed.clear()
                    losing.set()  # before the server can answer
                server.sendall(data)
                tail = (tail + data)[-len(self.COMMIT) :]
        except OSError:
            pass
        _close_quietly(server)

    def _down(self, server: socket.socket, client: socket.socket, losing: threading.Event) -> None:
        try:
            while data := server.recv(65536):
                if losing.is_set():
                    # The server has committed and said so; the client never hears it.
                    self.answers_lost += 1
                    break
                client.sendall(data)
        except OSError:
            pass
        _close_quietly(client)
        _close_quietly(server)


def _close_quietly(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


class CeleryWorker(Process):
    """A Celery worker (solo pool) of the app under test, with beat inside it when `beat`: the
    periodic sweeps then run as in the documented deployment. Its database backends carry
    APP_NAME, like gunicorn's."""

    def __init__(self, tmp_path: Path, *, beat: bool = False, **env: str) -> None:
        args = [str(BIN / "celery"), "-A", "config", "worker", "--pool=solo", "-Q", "celery"]
        args += ["--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "INFO"]
        if beat:
            args += ["-B", "-s", str(tmp_path / "beat-schedule")]
        super().__init__("celery worker", args, tmp_path / "worker.log", app_env(**env))
        wait_for(lambda: "ready." in self.log(100_000), 60, "the worker to start", self.log())
