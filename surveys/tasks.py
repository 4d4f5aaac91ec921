"""Celery tasks of surveys: thin adapters that take ids and call services."""

from __future__ import annotations

import logging

from celery import Task, shared_task
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from config.retries import drop_broken_connections, retry_options
from surveys import services
from surveys.models import Outbox

log = logging.getLogger(__name__)


def _response_completed(survey_id: int) -> None:
    services.refresh_speeders(survey_id=survey_id)
    if settings.CELERY_TASK_ALWAYS_EAGER:
        # Without a broker tasks run inside the request, so a re-analysis here would make the
        # respondent wait for it; researchers start one from the Analysis page instead.
        return
    # Re-analyse with the new response. Debounced: while a run of this survey is queued the
    # request joins it (at most one queued run per survey; it reads the data when it starts).
    from analysis.runs import request_reanalysis

    request_reanalysis(survey_id=survey_id)


HANDLERS = {
    "response_completed": _response_completed,
}


class OutboxTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        # The entry stays unprocessed, so `dispatch_pending` sends it again later; say why.
        if not args:
            return
        try:
            drop_broken_connections()
            Outbox.objects.filter(pk=args[0]).update(
                last_error=f"{type(exc).__name__}: {exc}"[:500]
            )
        except Exception as problem:  # the database may still be down
            log.warning("Could not record the failure of outbox entry %s: %s", args[0], problem)


@shared_task(
    base=OutboxTask, acks_late=True, soft_time_limit=120, time_limit=150, **retry_options()
)
def process_outbox_entry(entry_id: int) -> None:
    """Handle one outbox entry once; a second delivery of a processed entry does nothing, so a
    re-sent entry (`services.dispatch_pending`) or a retry after a dropped database connection
    (config/retries.py) is harmless.

    The lock on the entry comes first: a request that joined this entry (see
    `services.request_background`) holds it until its transaction commits, so the handler reads
    that transaction's data; and while the handler runs, new requests see the entry locked and
    write an entry of their own."""
    with transaction.atomic():
        entry = Outbox.objects.select_for_update().filter(pk=entry_id, processed_at=None).first()
        if entry is None:
            return
        Outbox.objects.filter(pk=entry_id).update(attempts=F("attempts") + 1)
        HANDLERS[entry.kind](entry.survey_id)
        Outbox.objects.filter(pk=entry_id).update(processed_at=timezone.now(), last_error="")


@shared_task
def dispatch_pending_outbox() -> int:
    """Periodic catch-up: send again what is not processed (Redis was down or lost the message,
    or the task failed)."""
    return services.dispatch_pending()
