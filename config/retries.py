"""Which errors a Celery task retries, and how: one rule for every task.

A dropped database connection (PostgreSQL restarted, failed over, a backend terminated) reaches
a task as `OperationalError` or `InterfaceError` from its next query. Nothing half-written is
stored (the database rolled the open transaction back), so the task is simply run again, with
exponential backoff and jitter, `TASK_MAX_RETRIES` times. What happens once the retries run out
is the task's own business (an analysis run goes back to the queue, an outbox entry stays
unprocessed); either way the periodic sweep picks the work up again later.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError, connections

TRANSIENT_ERRORS: tuple[type[Exception], ...] = (OperationalError, InterfaceError)


def retry_options() -> dict[str, Any]:
    """Keyword arguments of `shared_task` for a task that retries transient errors."""
    return {
        "autoretry_for": TRANSIENT_ERRORS,
        "retry_backoff": settings.TASK_RETRY_BACKOFF,
        "retry_backoff_max": 300,
        "retry_jitter": True,
        "max_retries": settings.TASK_MAX_RETRIES,
    }


def drop_broken_connections() -> None:
    """Close connections a transient error left unusable, so the next query opens a fresh one
    (a task's failure handler runs before Celery tidies the connections up). A connection
    inside a transaction is the caller's to manage and is left alone."""
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()
