"""How many BLAS and OpenMP threads each process may use, so processes sharing the cores do not
fight over them.

numpy's OpenBLAS, and the OpenMP of scikit-learn, start one thread per core in every process.
Two processes computing at once on two cores then run four busy threads that keep preempting one
another: two whole-sample bootstraps of 100,000 × 100 at once took several times as long each
as one alone (bench/bench_concurrent.py prints the figures). The rule, here and nowhere else:
a process gets the cores divided by the processes that may compute at the same time, at least
one thread. It is applied to each Celery pool process (config/celery.py) and each gunicorn
worker (config/gunicorn.py), whose request threads run analyses in-process when no broker is
configured and compare groups on request.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, e.g. a container's cpuset)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def threads_per_process(sharers: int, cores: int | None = None) -> int:
    """BLAS/OpenMP threads for each of `sharers` processes computing at once on `cores`."""
    cores = cores if cores is not None else available_cores()
    return max(1, cores // max(1, sharers))


def limit_blas_threads(sharers: int) -> int:
    """Limit this process's BLAS and OpenMP thread pools for its lifetime; the threads each
    pool may now use. Libraries are limited as loaded: numpy and scikit-learn are imported
    first, so theirs are."""
    import numpy  # noqa: F401  (loads OpenBLAS)
    import sklearn.cluster  # noqa: F401  (loads its OpenMP runtime)
    from threadpoolctl import threadpool_limits

    threads = threads_per_process(sharers)
    threadpool_limits(limits=threads)
    log.debug("BLAS/OpenMP threads limited to %s (%s processes share the cores)", threads, sharers)
    return threads
