from django.apps import AppConfig
from django.conf import settings


class AnalysisConfig(AppConfig):
    name = "analysis"

    def ready(self) -> None:
        if settings.CELERY_TASK_ALWAYS_EAGER:
            # No broker (the demo): analyses run in-process, in the threads of whatever serves
            # the requests, possibly several at once; give each one thread (analysis/threads.py).
            from analysis.threads import available_cores, limit_blas_threads

            limit_blas_threads(sharers=available_cores())
