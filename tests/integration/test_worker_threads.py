"""A real Celery worker's pool processes share the cores: cores ÷ pool processes BLAS and OpenMP
threads each (analysis/threads.py), read inside a task the worker runs.

Skipped unless the suite runs on PostgreSQL (the pass that starts real processes).
"""

from __future__ import annotations

import json
import warnings

import pytest
from celery.exceptions import AlwaysEagerIgnored
from django.conf import settings
from threadpoolctl import threadpool_info

from analysis.threads import available_cores, threads_per_process
from tests.integration.servers import (
    BIN,
    NEEDS_REDIS_SERVER,
    Process,
    RedisServer,
    app_env,
    wait_for,
)

pytestmark = [
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
        reason="starts a worker process: runs in the PostgreSQL pass",
    ),
    NEEDS_REDIS_SERVER,
]


def pools_in_worker(tmp_path, concurrency: int) -> dict:
    redis = RedisServer(tmp_path)
    worker = Process(
        f"worker-{concurrency}",
        [
            *(str(BIN / "celery"), "-A", "config", "worker", f"--concurrency={concurrency}"),
            *("--include", "tests.integration.thread_probe", "-l", "INFO"),
            *("--without-gossip", "--without-mingle", "--without-heartbeat"),
        ],
        tmp_path / f"worker-{concurrency}.log",
        app_env(REDIS_URL=redis.url),
    )
    try:
        wait_for(lambda: "ready." in worker.log(), 60, "the worker", worker.log())
        from config.celery import app

        report = tmp_path / f"pools-{concurrency}.json"
        with warnings.catch_warnings(), app.connection_for_write(redis.url) as conn:
            warnings.simplefilter("ignore", AlwaysEagerIgnored)  # this process has no broker
            app.send_task(
                "tests.integration.thread_probe.report_thread_pools",
                args=[str(report)],
                connection=conn,
            )
        wait_for(report.exists, 60, "the task", worker.log())
        wait_for(lambda: report.read_text().endswith("}"), 10, "the report", worker.log())
        return json.loads(report.read_text())
    finally:
        worker.stop()
        redis.stop()


@pytest.mark.timeout(180)
@pytest.mark.parametrize("concurrency", [1, 2])
def test_each_pool_process_of_a_worker_uses_cores_divided_by_the_pool_size(tmp_path, concurrency):
    report = pools_in_worker(tmp_path, concurrency)
    expected = threads_per_process(concurrency)
    assert expected == max(1, available_cores() // concurrency)
    apis = {pool["api"] for pool in report["pools"]}
    assert {"openblas", "openmp"} <= apis, report  # numpy's and scikit-learn's pools, loaded
    assert {pool["threads"] for pool in report["pools"]} == {expected}, report


def test_in_process_analyses_without_a_broker_use_one_thread_each():
    # This process has no broker, like the demo: analyses run in request threads.
    assert settings.CELERY_TASK_ALWAYS_EAGER
    assert {pool["num_threads"] for pool in threadpool_info()} == {1}
