"""The documented deployment keeps analysing through Redis outages with nobody touching it.

deploy/supervisord.conf, as shipped, runs gunicorn, a Celery worker and beat against the test's
PostgreSQL database and a redis-server of this test alone. Analyses are requested through the
API; the test then kills Redis (SIGKILL: its queue is lost, as with the production settings)
while analyses run, several times, requests more during the outages, brings Redis back, and
finally kills the worker outright. Every analysis must finish, and the killed worker must be
back, with nothing done by hand: the worker reconnects, its supervisor restarts what exits,
and beat's sweep hands over the runs whose messages Redis lost.

Skipped unless the suite runs on PostgreSQL and redis-server is installed.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time

import numpy as np
import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token

from analysis.core import synthetic
from analysis.models import AnalysisRun, OutcomeResult, RunStatus, SegmentMembership
from tests.analysis.test_runs import import_arrays
from tests.factories import MembershipFactory
from tests.integration.servers import (
    BIN,
    NEEDS_REDIS_SERVER,
    PROJECT,
    SHARES_POSTGRES,
    Browser,
    Process,
    RedisServer,
    app_env,
    free_port,
    logs,
    stopped_after,
    wait_for,
)
from workspaces.models import Role

pytestmark = [*SHARES_POSTGRES, NEEDS_REDIS_SERVER]

CONF = PROJECT / "deploy" / "supervisord.conf"
PROGRAMS = ("web", "worker", "beat")
OUTAGES = 3


class Supervisord(Process):
    """supervisord running the shipped configuration."""

    def __init__(self, tmp_path, env: dict[str, str]) -> None:
        super().__init__(
            "supervisord",
            [str(BIN / "supervisord"), "-c", str(CONF)],
            tmp_path / "supervisord.log",
            env,
        )

    def ctl(self, *args: str) -> str:
        done = subprocess.run(
            [str(BIN / "supervisorctl"), "-c", str(CONF), *args],
            capture_output=True,
            text=True,
            timeout=30,
        )
        return done.stdout.strip()

    def pid(self, program: str) -> int:
        text = self.ctl("pid", program)
        return int(text) if text.isdigit() else 0

    def running(self) -> set[str]:
        return {
            line.split()[0]
            for line in self.ctl("status").splitlines()
            if len(line.split()) > 1 and line.split()[1] == "RUNNING"
        }

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 90) -> None:
        children = [self.pid(program) for program in PROGRAMS]
        super().stop(sig, timeout)  # supervisord stops its programs first
        for pid in children:  # each runs in a process group of its own
            if pid:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)


def survey(workspace, seed: int):
    imp, sat, _ = synthetic.generate(3000, 25, 3, seed=seed)
    return import_arrays(workspace, np.asarray(imp), np.asarray(sat), name=f"Study {seed}")


@pytest.mark.timeout(600)
def test_analyses_requested_through_redis_outages_and_a_killed_worker_all_finish(tmp_path):
    membership = MembershipFactory(role=Role.RESEARCHER)
    surveys = [survey(membership.workspace, seed) for seed in range(2 * OUTAGES + 2)]
    token = Token.objects.create(user=membership.user).key
    port = free_port()
    redis = RedisServer(tmp_path)
    env = app_env(
        REDIS_URL=redis.url,
        GUNICORN_BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="1",
        GUNICORN_THREADS="4",
        DB_CONN_MAX_AGE="0",
        # Short limits, so that a message whose worker was killed comes back soon.
        ANALYSIS_TIME_LIMIT="15",
        ANALYSIS_SOFT_TIME_LIMIT="14",
        CELERY_VISIBILITY_TIMEOUT="16",
        # The catch-up of lost messages, in seconds instead of minutes.
        ANALYSIS_SWEEP_SECONDS="3",
        ANALYSIS_REQUEUE_SECONDS="10",
    )
    supervisor = Supervisord(tmp_path, env)
    processes: list[Process] = [redis, supervisor]

    def request(each, resamples: int = 5000, segments: str | int = "off") -> int:
        body = {"survey": each.pk, "segments": segments, "n_resamples": resamples}
        reply = Browser(port, timeout=60).request(
            "POST",
            "/api/runs/",
            json.dumps(body).encode(),
            **{"Content-Type": "application/json", "Authorization": f"Token {token}"},
        )
        assert reply.status in (200, 201), (reply.status, reply.text[:500])
        return json.loads(reply.text)["id"]

    def running(ids: list[int] | None = None) -> bool:
        started = AnalysisRun.objects.filter(status=RunStatus.RUNNING, progress__gt=0)
        return started.filter(pk__in=ids).exists() if ids else started.exists()

    def finished(ids: list[int]) -> bool:
        done = AnalysisRun.objects.filter(
            pk__in=ids, status__in=[RunStatus.SUCCEEDED, RunStatus.FAILED]
        )
        return done.count() == len(set(ids))

    def log() -> str:
        return logs(processes, 20000)

    with stopped_after(processes, 20000):
        wait_for(lambda: supervisor.running() == set(PROGRAMS), 60, "supervisord", log())
        wait_for(lambda: "ready." in supervisor.log(100_000), 60, "the worker", log())
        wait_for(lambda: _answers(port), 60, "gunicorn", log())
        first_worker = supervisor.pid("worker")
        begun = timezone.now()
        runs: list[int] = []
        for outage in range(OUTAGES):
            runs += [request(each) for each in surveys[2 * outage : 2 * outage + 2]]
            wait_for(running, 120, "an analysis to run", log())
            redis.stop(signal.SIGKILL)  # its queue and unacknowledged messages are gone
            runs.append(request(surveys[-2]))  # asked for while Redis is down
            time.sleep(3)
            redis = RedisServer(tmp_path, port=redis.port)
            processes.append(redis)
        survived = supervisor.pid("worker") == first_worker
        print(f"\nthe worker {'survived' if survived else 'did not survive'} {OUTAGES} outages")

        # The worker killed outright in the middle of an analysis: supervisord starts another,
        # which takes the run over once Redis hands its unacknowledged message back.
        wait_for(lambda: finished(runs), 300, "the analyses so far", log())
        # Long enough to be killed in, and segmented, so that storing it once can be checked whole.
        killed = request(surveys[-1], resamples=20000, segments=3)
        wait_for(lambda: running([killed]), 120, "the last analysis to run", log())
        before = supervisor.pid("worker")
        os.killpg(before, signal.SIGKILL)
        wait_for(lambda: supervisor.pid("worker") not in (0, before), 60, "a new worker", log())
        assert not OutcomeResult.objects.filter(run_id=killed).exists()

        wait_for(lambda: finished([killed]), 300, "the last analysis to finish", log())
        for run in AnalysisRun.objects.order_by("pk"):
            print(
                f"run {run.pk}: {run.status}, {run.attempts} attempt(s), requested "
                f"{(run.created_at - begun).total_seconds():.0f} s in, finished "
                f"{(run.finished_at - begun).total_seconds():.0f} s in"
            )
        outcome = dict(AnalysisRun.objects.filter(pk__in=runs).values_list("pk", "status"))
        assert set(outcome.values()) == {RunStatus.SUCCEEDED}, outcome
        last = AnalysisRun.objects.get(pk=killed)
        assert last.status == RunStatus.SUCCEEDED and last.attempts == 2, last.error
        # The redelivered run stored its results once: one row per outcome and group, one
        # membership naming every respondent.
        k = last.segmentation["k"]
        assert last.segmentation["found"] and k == 3, last.segmentation
        assert OutcomeResult.objects.filter(run=last).count() == 25 * (1 + k)
        assert OutcomeResult.objects.filter(run=last, segment=None).count() == 25
        assert last.segments.count() == k
        assert SegmentMembership.objects.filter(run=last).count() == 1
        assert len(last.membership.respondent_ids) == 3000
        # Every survey has its analysis, and nothing was left queued.
        for each in surveys:
            assert AnalysisRun.objects.filter(survey=each, status=RunStatus.SUCCEEDED).exists()
        assert not AnalysisRun.objects.filter(status=RunStatus.QUEUED).exists()
        assert supervisor.running() == set(PROGRAMS)


def _answers(port: int) -> bool:
    try:
        return Browser(port, timeout=5).get("/accounts/login/").status == 200
    except OSError:
        return False
