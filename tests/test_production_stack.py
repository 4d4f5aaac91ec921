"""The production stack of the README, started for real: `collectstatic`, gunicorn with
config/gunicorn.py, a Celery worker, PostgreSQL and Redis.

An analysis requested through gunicorn's API is executed by the worker process and its results
are read back through gunicorn; the hashed static files are served by whitenoise from gunicorn
with far-future caching and compression; error pages are the product's, not Django's debug pages.

Skipped unless the suite runs on PostgreSQL and Redis answers (the PostgreSQL pass of CI): the
server and the worker are separate processes sharing pytest-django's test database.
"""

from __future__ import annotations

import gzip
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.authtoken.models import Token

from analysis.core import synthetic
from tests.analysis.test_runs import import_arrays
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory
from workspaces.models import Role

PROJECT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
REDIS_DB = int(os.environ.get("STACK_TEST_REDIS_DB", "12"))
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"


def _redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), 1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


pytestmark = [
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
        reason="needs PostgreSQL shared with the server and worker: set DATABASE_URL=postgres://…",
    ),
    pytest.mark.skipif(not _redis_answers(), reason="needs Redis answering at 127.0.0.1:6379"),
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(300),
]


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return (
        f"postgres://{db['USER']}{password}@{db.get('HOST') or '127.0.0.1'}:"
        f"{db.get('PORT') or 5432}/{db['NAME']}"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Stack:
    """gunicorn and a Celery worker with the environment the README gives production."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.port = _free_port()
        self.procs: list[subprocess.Popen] = []
        self.env = {
            **{k: v for k, v in os.environ.items() if k not in ("DEBUG", "REDIS_URL")},
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "0",
            "SECRET_KEY": "stack-test-" + "k" * 50,
            "DATABASE_URL": _database_url(),
            "REDIS_URL": REDIS_URL,
            "ALLOWED_HOSTS": "127.0.0.1",
            # Plain HTTP on loopback: cookies may not demand HTTPS here.
            "SECURE_COOKIES": "0",
            "STATIC_MANIFEST": "1",
            "STATIC_ROOT": str(tmp_path / "staticfiles"),
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "WEB_CONCURRENCY": "2",
            "DB_CONN_MAX_AGE": "0",
        }

    def manage(self, *args: str) -> None:
        subprocess.run([sys.executable, "manage.py", *args], cwd=PROJECT, env=self.env, check=True)

    def start(self, name: str, *argv: str) -> None:
        log = (self.tmp_path / f"{name}.log").open("w")
        self.procs.append(
            subprocess.Popen(
                argv,
                cwd=PROJECT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
            for p in self.tmp_path.glob("*.log")
        )

    def request(
        self, method: str, path: str, body: dict | None = None, headers: dict | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            payload = json.dumps(body).encode() if body is not None else None
            all_headers = {"Host": "127.0.0.1", **(headers or {})}
            if payload is not None:
                all_headers["Content-Type"] = "application/json"
            conn.request(method, path, payload, all_headers)
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def wait_until_serving(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if self.request("GET", "/accounts/login/")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"gunicorn did not start\n{self.logs()}")

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, 15)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.wait(timeout=10)


@pytest.fixture
def stack(tmp_path) -> Iterator[Stack]:
    import redis

    stack = Stack(tmp_path)
    stack.manage("collectstatic", "--noinput", "-v", "0")
    stack.start("gunicorn", str(BIN / "gunicorn"), "-c", "config/gunicorn.py", "config.wsgi")
    stack.start(
        "worker",
        str(BIN / "celery"),
        "-A",
        "config",
        "worker",
        "--pool=solo",
        "--without-gossip",
        "--without-mingle",
        "-l",
        "INFO",
    )
    try:
        stack.wait_until_serving()
        yield stack
    finally:
        stack.stop()
        redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB).flushdb()


def test_an_analysis_requested_through_gunicorn_runs_on_the_worker(stack):
    imp, sat, _ = synthetic.generate(600, 12, 3, seed=3)
    workspace = WorkspaceFactory(name="Stack")
    survey = import_arrays(workspace, imp, sat)
    owner = UserFactory(username="stack-owner")
    MembershipFactory(workspace=workspace, user=owner, role=Role.OWNER)
    auth = {"Authorization": f"Token {Token.objects.create(user=owner).key}"}

    status, _, body = stack.request("POST", "/api/runs/", {"survey": survey.pk}, auth)
    assert status == 201, body
    run_id = json.loads(body)["id"]
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        run = json.loads(stack.request("GET", f"/api/runs/{run_id}/", headers=auth)[2])
        if run["status"] in ("succeeded", "failed", "cancelled"):
            break
        time.sleep(0.5)
    assert run["status"] == "succeeded", f"{run}\n{stack.logs()}"
    assert "run_analysis" in stack.logs()  # executed by the worker process, not in gunicorn

    status, _, body = stack.request("GET", f"/api/surveys/{survey.pk}/results/", headers=auth)
    assert status == 200
    outcomes = json.loads(body)["outcomes"]
    assert len(outcomes) == 12
    assert all(0 <= o["opportunity"] <= 20 for o in outcomes)


def test_static_files_are_hashed_cached_and_compressed_by_whitenoise(stack):
    status, headers, body = stack.request("GET", "/accounts/login/")
    assert status == 200
    stylesheet = re.search(rb'href="(/static/css/app\.[0-9a-f]{12}\.css)"', body)
    assert stylesheet, body[:2000]
    status, headers, css = stack.request(
        "GET", stylesheet.group(1).decode(), headers={"Accept-Encoding": "gzip"}
    )
    assert status == 200
    assert headers.get("Content-Encoding") == "gzip"
    assert "max-age=315360000" in headers.get("Cache-Control", "")
    assert headers.get("Content-Type", "").startswith("text/css")
    served = gzip.decompress(css)
    # The manifest points the stylesheet's url(...) at the font's hashed, cached name.
    font = re.search(
        rb'url\("(\.\./fonts/jetbrains-mono-latin-400-normal\.[0-9a-f]{12}\.woff2)"\)', served
    )
    assert font, served[:2000]
    unhashed = served.replace(font.group(1), b"../fonts/jetbrains-mono-latin-400-normal.woff2")
    assert (PROJECT / "static/css/app.css").read_bytes() in unhashed
    status, headers, _ = stack.request("GET", "/static/" + font.group(1).decode()[3:])
    assert status == 200 and "max-age=315360000" in headers.get("Cache-Control", "")


def test_production_errors_show_the_products_pages_not_debug_output(stack):
    status, headers, body = stack.request("GET", "/no-such-page/")
    assert status == 404
    assert b"Traceback" not in body and b"URLconf" not in body
    status, _, body = stack.request("GET", "/accounts/login/", headers={"Host": "evil.example"})
    assert status == 400  # not in ALLOWED_HOSTS
    assert b"DisallowedHost" not in body
    _, headers, _ = stack.request("GET", "/accounts/login/")
    assert headers.get("X-Frame-Options") == "DENY"
    assert headers.get("X-Content-Type-Options") == "nosniff"
