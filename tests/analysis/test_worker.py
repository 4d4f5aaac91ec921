"""Analysis runs on a real Celery worker against Redis and PostgreSQL.

Skipped unless the suite runs on PostgreSQL (DATABASE_URL=postgres://…) and Redis answers at
127.0.0.1:6379: the worker is a separate process, so it needs a database server it can share with
the test (the pytest-django test database, committed data: transaction=True) and a real broker.

Each test uses its own Redis queue (in database ANALYSIS_TEST_REDIS_DB, default 13), removes its
keys afterwards and kills its workers in `finally` blocks.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
import warnings
from pathlib import Path

import pytest
from celery.exceptions import AlwaysEagerIgnored
from django.conf import settings
from django.db import connection

from analysis.core import synthetic
from analysis.models import AnalysisRun, OutcomeResult, RunStatus
from analysis.parameters import clean_parameters
from tests.analysis.test_runs import import_arrays
from tests.factories import WorkspaceFactory

PROJECT = Path(__file__).resolve().parents[2]
CELERY = PROJECT / ".venv" / "bin" / "celery"
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
REDIS_DB = int(os.environ.get("ANALYSIS_TEST_REDIS_DB", "13"))
REDIS_URL = f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}"
# The worker's limits: short, so that a message whose worker was killed comes back quickly (the
# visibility timeout must exceed the hard time limit; settings refuse anything else).
TIME_LIMIT, SOFT_TIME_LIMIT, VISIBILITY_TIMEOUT = 20, 18, 21


def _redis():
    import redis

    return redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB, socket_connect_timeout=1)


def _redis_answers() -> bool:
    try:
        return bool(_redis().ping())
    except Exception:
        return False


pytestmark = [
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
        reason="needs PostgreSQL shared with a worker process: set DATABASE_URL=postgres://…",
    ),
    pytest.mark.skipif(
        not _redis_answers(), reason=f"needs Redis answering at {REDIS_HOST}:{REDIS_PORT}"
    ),
    pytest.mark.django_db(transaction=True),
]


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{db['USER']}{password}@{host}:{port}/{db['NAME']}"


class Broker:
    """One test's queue on the shared Redis, and the workers consuming it."""

    def __init__(self, tmp_path: Path) -> None:
        self.queue = f"analysis-test-{uuid.uuid4().hex[:10]}"
        self.tmp_path = tmp_path
        self.workers: list[subprocess.Popen] = []
        self.env = {
            **{k: v for k, v in os.environ.items() if k not in ("DEBUG", "REDIS_URL")},
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "SECRET_KEY": os.environ.get("SECRET_KEY", "test-only-secret-key"),
            "DATABASE_URL": _database_url(),
            "REDIS_URL": REDIS_URL,
            "ANALYSIS_TIME_LIMIT": str(TIME_LIMIT),
            "ANALYSIS_SOFT_TIME_LIMIT": str(SOFT_TIME_LIMIT),
            "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
            "DB_CONN_MAX_AGE": "0",
        }

    def start_worker(self, name: str) -> subprocess.Popen:
        log = (self.tmp_path / f"{name}.log").open("w")
        worker = subprocess.Popen(
            [
                str(CELERY),
                "-A",
                "config",
                "worker",
                "--pool=solo",
                "--concurrency=1",
                "-Q",
                self.queue,
                "-n",
                f"{name}-{self.queue}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-l",
                "INFO",
            ],
            cwd=PROJECT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, killed as one
        )
        self.workers.append(worker)
        self._wait_for(lambda: "ready." in self.log(name), 30, f"worker {name} to start", name)
        return worker

    def log(self, name: str) -> str:
        path = self.tmp_path / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def send(self, run_id: int) -> str:
        from config.celery import app

        task_id = str(uuid.uuid4())
        # The test process itself runs tasks eagerly (no REDIS_URL); send_task always publishes.
        with warnings.catch_warnings(), app.connection_for_write(REDIS_URL) as conn:
            warnings.simplefilter("ignore", AlwaysEagerIgnored)
            app.send_task(
                "analysis.tasks.run_analysis",
                args=[run_id],
                queue=self.queue,
                task_id=task_id,
                connection=conn,
            )
        return task_id

    @staticmethod
    def kill(worker: subprocess.Popen) -> None:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)

    def close(self) -> None:
        for worker in self.workers:
            self.kill(worker)
        client = _redis()
        client.delete(self.queue)
        # Unacknowledged messages of this queue (a killed worker's), nothing else's.
        for tag, raw in client.hgetall("unacked").items():
            try:
                _message, exchange, routing_key = json.loads(raw)
            except (ValueError, TypeError):
                continue
            if self.queue in (exchange, routing_key):
                client.hdel("unacked", tag)
                client.zrem("unacked_index", tag)
        for pattern in (f"_kombu.binding.{self.queue}*", f"_kombu.binding_permanent.{self.queue}"):
            for key in client.scan_iter(pattern):
                client.delete(key)

    def _wait_for(self, condition, timeout: float, what: str, log_name: str | None = None):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.2)
        logs = "\n".join(
            f"--- {p.name}\n{p.read_text()[-3000:]}" for p in self.tmp_path.glob("*.log")
        )
        raise AssertionError(f"timed out waiting for {what}\n{logs}")

    def wait_for_run(self, run_id: int, condition, timeout: float, what: str) -> AnalysisRun:
        holder: list[AnalysisRun] = []

        def check() -> bool:
            run = AnalysisRun.objects.get(pk=run_id)
            holder[:] = [run]
            return condition(run)

        self._wait_for(check, timeout, what)
        return holder[0]


@pytest.fixture
def broker(tmp_path):
    b = Broker(tmp_path)
    try:
        yield b
    finally:
        b.close()


def _survey(n: int, m: int, segments: int):
    imp, sat, _ = synthetic.generate(n, m, segments, seed=17)
    return import_arrays(WorkspaceFactory(name=f"Worker {uuid.uuid4().hex[:6]}"), imp, sat)


@pytest.mark.timeout(400)
def test_a_worker_executes_a_queued_run(broker):
    survey = _survey(900, 20, 3)
    run = AnalysisRun.objects.create(survey=survey, parameters=clean_parameters({}))
    broker.start_worker("w1")
    task_id = broker.send(run.pk)
    # Generous bounds: the run takes seconds, but a loaded 2-core machine can be many times slower.
    done = broker.wait_for_run(run.pk, lambda r: r.is_finished, 180, "the run to finish")
    assert done.status == RunStatus.SUCCEEDED, done.error
    assert done.task_id == task_id and done.attempts == 1
    assert done.segmentation["found"] and done.segmentation["k"] == 3
    assert OutcomeResult.objects.filter(run=done).count() == 20 * 4
    # A second delivery of the same message after success does nothing.
    broker.send(run.pk)
    time.sleep(1.5)
    again = AnalysisRun.objects.get(pk=run.pk)
    assert again.attempts == 1 and again.finished_at == done.finished_at
