"""gunicorn settings for the production stack: `gunicorn -c config/gunicorn.py config.wsgi`.

Every value can be overridden from the environment, so one file serves a laptop and a fleet of
web machines behind a load balancer.
"""

from __future__ import annotations

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
# Requests spend most of their time in PostgreSQL, so a few threads per process keep the cores
# busy without the memory of more processes.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
# A request that takes longer than this is a bug (analysis and big exports run on the workers):
# gunicorn kills it rather than letting a stuck request pile up.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
# Recycle processes now and then so a slow leak in any library cannot grow without bound.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "5000"))
max_requests_jitter = max_requests // 10
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
# The wsgi module is imported once in the master; workers fork with Django already loaded.
preload_app = True


def post_fork(server, worker) -> None:
    """Each request thread may compute (comparisons on request; whole analyses in-process when no
    broker is configured): cores ÷ (processes × threads) BLAS threads each (analysis/threads.py).
    """
    from analysis.threads import limit_blas_threads

    limit_blas_threads(sharers=server.cfg.workers * server.cfg.threads)
