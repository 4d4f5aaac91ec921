"""The outbox: work a stored response asks for (re-analysis), written in the response's
transaction and dispatched to the broker after it commits."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import connections, models
from django.db.models import Q
from django.utils import timezone

from surveys.fastpath import sql
from surveys.models.respondents import Response
from surveys.models.survey import Survey


def resend_after() -> timedelta:
    """How long after its last send an unprocessed entry is sent again.

    Being sent is no proof of being received: Redis may die with the message (and responses
    arriving meanwhile join the same entry), or the task may fail on a dropped database
    connection after its retries. So what is not processed this long after it was sent is sent
    again. The short default (OUTBOX_RESEND_SECONDS, a minute: processing an entry takes
    milliseconds) keeps analysis fresh after an outage; the price is that a task waiting out a
    retry's backoff may be overtaken by the re-send, which processes the entry, and the retry
    then finds it done (a processed entry is skipped under its row lock). A duplicate costs
    one message."""
    return timedelta(seconds=settings.OUTBOX_RESEND_SECONDS)


class OutboxQuerySet(models.QuerySet):
    def pending(self, now=None) -> OutboxQuerySet:
        """Entries not processed: never sent, or sent `resend_after()` ago or longer."""
        stale = (now or timezone.now()) - resend_after()
        return (
            self.filter(processed_at=None)
            .filter(Q(dispatched_at=None) | Q(dispatched_at__lt=stale))
            .order_by("id")
        )

    def lock_unprocessed(self, *, survey_id: int, kind: str) -> int | None:
        """Lock until the transaction ends the newest entry of this survey and kind whose
        processing has not finished (pending, on its way to a worker) and that no other
        transaction holds (a worker processing it, say); its id, or None. PostgreSQL only.

        Written in SQL: it runs on every completion, and compiling it through the ORM costs
        several times what the database needs to answer it."""
        with connections[self.db].cursor() as cursor:
            cursor.execute(self._unprocessed_sql(), [survey_id, kind])
            row = cursor.fetchone()
        return row[0] if row else None

    def insert_requesting(
        self, response: Response, *, accepting_at, kind: str, claimed_at
    ) -> tuple[bool, int | None]:
        """`Response.objects.insert(response, accepting_at=…)` and, if it stored the response,
        a request for `kind` on its survey, in the same statement: join an unprocessed entry
        that nobody holds (`lock_unprocessed`), or else write one claimed at `claimed_at`.
        Returns whether the response was stored, and the new entry's id (to send after
        commit) or None if an entry was joined. PostgreSQL only.

        What `request_background` does inside a transaction, in one round trip instead of four
        (BEGIN, INSERT, the lock, COMMIT): on every API submission those cost PostgreSQL half
        again the work of the INSERT itself. One statement is one transaction, or part of the
        caller's; the joined entry stays locked until it commits."""
        connection = connections[self.db]
        row = sql.insert_of(response, connection)
        accepting, accepting_params = Survey.objects.db_manager(self.db).accepting_sql(
            survey_id=response.survey_id, version_id=response.version_id, now=accepting_at
        )
        entry = sql.insert_of(
            self.model(survey_id=response.survey_id, kind=kind, dispatched_at=claimed_at),
            connection,
        )
        with sql.prepared_cursor(connection) as cursor:
            cursor.execute(
                f"WITH inserted AS ({row.where(accepting)} RETURNING id), "
                f"joined AS ({self._unprocessed_sql()}), "
                f"entry AS ({entry.where('EXISTS (SELECT FROM inserted)')} "
                "AND NOT EXISTS (SELECT FROM joined) RETURNING id) "
                "SELECT (SELECT id FROM inserted), (SELECT id FROM entry)",
                [
                    *row.params,
                    *accepting_params,
                    response.survey_id,
                    kind,
                    *entry.params,
                ],
            )
            pk, entry_id = cursor.fetchone()
        if pk is None:
            return False, None
        sql.mark_saved(response, pk, self.db)
        return True, entry_id

    def _unprocessed_sql(self) -> str:
        return (
            f"SELECT id FROM {self.model._meta.db_table} "
            "WHERE survey_id = %s AND kind = %s AND processed_at IS NULL "
            "ORDER BY id DESC LIMIT 1 FOR UPDATE SKIP LOCKED"
        )


class Outbox(models.Model):
    """Background work requested inside a transaction, dispatched after commit.

    A row is written with the data that needs the work, so a broker that is down at that moment
    loses nothing: pending rows are dispatched again later."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=40)
    created_at = models.DateTimeField(auto_now_add=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)

    objects = OutboxQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["processed_at", "id"]),
            # Finds the entry a request joins (`lock_unprocessed`) among only the survey's
            # unfinished entries, however many processed ones the survey has collected.
            models.Index(
                fields=["survey", "kind", "-id"],
                condition=Q(processed_at=None),
                name="outbox_unprocessed_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for survey {self.survey_id}"
