"""Tasks whose database connection drops retry, on a real worker, Redis and PostgreSQL.

The test terminates the worker's PostgreSQL backend (pg_terminate_backend, as an administrator
or a failover would) while an analysis runs. The task's next query fails, and Celery retries it
with the same task id: that must not count as a lost worker, and once the retries run out the
run goes back to the queue, where beat's sweep picks it up again with nobody touching anything.

Skipped unless the suite runs on PostgreSQL and redis-server is installed.
"""

from __future__ import annotations

import numpy as np
import pytest

from analysis import runs
from analysis.core import synthetic
from analysis.models import AnalysisRun, RunStatus
from analysis.parameters import clean_parameters
from tests.analysis.test_runs import import_arrays
from tests.factories import WorkspaceFactory
from tests.integration.servers import (
    APP_NAME,
    NEEDS_REDIS_SERVER,
    SHARES_POSTGRES,
    CeleryWorker,
    Process,
    RedisServer,
    logs,
    pg_connect,
    stopped_after,
    wait_for,
)
from tests.integration.test_faults import point_celery_at

pytestmark = [*SHARES_POSTGRES, NEEDS_REDIS_SERVER]


def long_run() -> AnalysisRun:
    """A queued run that computes for a few seconds (20,000 bootstrap resamples), so that a
    connection dropped while it runs is noticed at its next progress write."""
    imp, sat, _ = synthetic.generate(3000, 25, 3, seed=3)
    survey = import_arrays(WorkspaceFactory(), np.asarray(imp), np.asarray(sat))
    return AnalysisRun.objects.create(
        survey=survey, parameters=clean_parameters({"segments": "off", "n_resamples": 20_000})
    )


def drop_connections_while_running(run_id: int, times: int, processes: list[Process]) -> None:
    """Terminate the worker's backends once in each of `times` claims of the run (a new claim
    token each time: the first delivery, then each retry)."""
    seen: set[str] = set()
    with pg_connect() as admin:
        for _ in range(times):

            def started() -> str | None:
                run = AnalysisRun.objects.get(pk=run_id)
                fresh = run.status == RunStatus.RUNNING and run.claim_token not in seen
                return run.claim_token if fresh and run.progress >= 5 else None

            token = wait_for(started, 120, f"claim {len(seen) + 1} of the run", logs(processes))
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = %s",
                (APP_NAME,),
            )
            seen.add(token)


def start(tmp_path, run: AnalysisRun, *, beat: bool = False, **env: str) -> list[Process]:
    redis = RedisServer(tmp_path)
    processes: list[Process] = [redis]
    worker = CeleryWorker(tmp_path, beat=beat, REDIS_URL=redis.url, DB_CONN_MAX_AGE="0", **env)
    processes.append(worker)
    point_celery_at(redis.url)
    try:
        assert runs.enqueue(run.pk)
    finally:
        point_celery_at(None)
    return processes


def finished(run_id: int) -> AnalysisRun | None:
    run = AnalysisRun.objects.get(pk=run_id)
    return run if run.is_finished else None


@pytest.mark.timeout(300)
def test_an_analysis_whose_connection_drops_three_times_retries_and_succeeds(tmp_path):
    run = long_run()
    processes = start(tmp_path, run, TASK_RETRY_BACKOFF="1")

    with stopped_after(processes):
        drop_connections_while_running(run.pk, 3, processes)
        done = wait_for(lambda: finished(run.pk), 180, "the run to finish", logs(processes))
        print(f"\n{done.status} after {done.retries} retries, {done.attempts} attempt(s)")
        assert done.status == RunStatus.SUCCEEDED, done.error
        assert done.error == ""
        # Three retries after dropped connections; no worker was lost.
        assert (done.retries, done.attempts, done.requeues) == (3, 1, 0)


@pytest.mark.timeout(300)
def test_an_analysis_out_of_retries_goes_back_to_the_queue_and_the_sweep_finishes_it(tmp_path):
    run = long_run()
    processes = start(
        tmp_path,
        run,
        beat=True,
        TASK_RETRY_BACKOFF="1",
        TASK_MAX_RETRIES="1",
        # Beat's sweep every 2 s hands over a run queued again 3 s ago.
        ANALYSIS_SWEEP_SECONDS="2",
        ANALYSIS_REQUEUE_SECONDS="3",
    )

    with stopped_after(processes):
        drop_connections_while_running(run.pk, 2, processes)  # the first try and its one retry
        done = wait_for(lambda: finished(run.pk), 180, "the run to finish", logs(processes))
        print(f"\n{done.status}: {done.requeues} requeue(s), {done.attempts} attempt(s)")
        assert done.status == RunStatus.SUCCEEDED, done.error
        assert (done.requeues, done.attempts) == (1, 1)
