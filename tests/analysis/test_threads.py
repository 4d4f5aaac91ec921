"""The rule for BLAS/OpenMP threads per process (analysis/threads.py) and gunicorn's use of it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.threads import available_cores, threads_per_process

PROJECT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("sharers", "cores", "threads"),
    [(1, 2, 2), (2, 2, 1), (3, 2, 1), (2, 8, 4), (3, 8, 2), (16, 8, 1), (0, 4, 4)],
)
def test_each_process_gets_the_cores_divided_by_the_processes_sharing_them(sharers, cores, threads):
    assert threads_per_process(sharers, cores) == threads


GUNICORN_WORKER = """
import json, types
import numpy, sklearn.cluster  # their thread pools, loaded as in a web process
from threadpoolctl import threadpool_info
import config.gunicorn as conf
before = sorted({{p["num_threads"] for p in threadpool_info()}})
server = types.SimpleNamespace(cfg=types.SimpleNamespace(workers={workers}, threads={threads}))
conf.post_fork(server, worker=None)
print(json.dumps([before, sorted({{p["num_threads"] for p in threadpool_info()}})]))
"""


@pytest.mark.skipif(available_cores() < 2, reason="one core: nothing to divide")
def test_a_gunicorn_worker_limits_its_threads_by_processes_times_threads():
    code = GUNICORN_WORKER.format(workers=2, threads=4)
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT, capture_output=True, text=True, check=True
    )
    before, after = json.loads(out.stdout.strip().splitlines()[-1])
    assert before == [available_cores()]  # the libraries' default: one per core
    assert after == [threads_per_process(2 * 4)]
