import os

from celery import Celery
from celery.signals import celeryd_after_setup, worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("opportunity_engine")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Processes of the worker's pool that may compute at once, read by each pool process after fork.
_pool_processes = 1


@celeryd_after_setup.connect
def _remember_pool_size(sender, instance, **kwargs) -> None:
    global _pool_processes
    _pool_processes = instance.concurrency


@worker_process_init.connect
def _share_the_cores(**kwargs) -> None:
    """Each pool process (prefork) gets cores ÷ pool processes BLAS threads (analysis/threads.py).
    A solo pool sends no such signal: its one process keeps every core."""
    from analysis.threads import limit_blas_threads

    limit_blas_threads(sharers=_pool_processes)
