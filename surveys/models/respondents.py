"""Invitations and responses: who was asked, and what each respondent answered."""

from __future__ import annotations

from django.db import connections, models
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from surveys.fastpath import sql
from surveys.models.survey import Survey, SurveyVersion, new_token

# Respondent ids the product makes up itself: `api-` + the idempotency key of an anonymous API
# submission, `web-…` for the public link, `inv-<id>` for an invitation without an id of its
# own. Ids the researcher gives invitations may not begin with these (surveys.invitations), so
# the two sources never claim the same id in a survey (its unique constraint would lock the
# second claimant out).
GENERATED_ID_PREFIXES = ("api-", "web-", "inv-")


class InvitationQuerySet(models.QuerySet):
    def with_status(self) -> InvitationQuerySet:
        return self.select_related("response")


class Invitation(models.Model):
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="invitations")
    token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    external_id = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["survey", "external_id"],
                condition=~Q(external_id=""),
                name="invitation_external_id_unique",
            ),
            models.UniqueConstraint(
                fields=["survey", "email"], condition=~Q(email=""), name="invitation_email_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.external_id or self.email or self.token[:8]

    def path(self) -> str:
        return reverse("surveys:invitation", args=[self.token])

    @property
    def respondent_id(self) -> str:
        return self.external_id or self.email or f"inv-{self.pk}"


class ResponseStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
    SCREENED_OUT = "screened_out", "Screened out"


class ResponseSource(models.TextChoices):
    WEB = "web", "Web survey"
    API = "api", "API"
    IMPORT = "import", "Imported file"


class Flag(models.TextChoices):
    SPEEDER = "speeder", "Speeder: under a third of the median time"
    STRAIGHT_LINER = "straight_liner", "Straight-liner: the same answer to every rating"
    ATTENTION = "attention", "Failed the attention check"


class ResponseQuerySet(models.QuerySet):
    def for_user(self, user) -> ResponseQuerySet:
        if not user.is_authenticated:
            return self.none()
        return self.filter(survey__workspace__memberships__user=user)

    def completed(self) -> ResponseQuerySet:
        return self.filter(status=ResponseStatus.COMPLETED)

    def insert(self, response: Response, *, accepting_at) -> bool:
        """Store a new response as `response.save()` would (no signals: this project sends
        none) and set its id, but only while its survey accepts answers at `accepting_at` with
        the response's version (`Survey.objects.accepting_sql`); whether it was stored.

        Written in SQL (`surveys.fastpath.sql`): it runs on every API submission, and compiling the
        INSERT through the ORM cost more than PostgreSQL took to run it."""
        connection = connections[self.db]
        row = sql.insert_of(response, connection)
        accepting, accepting_params = Survey.objects.db_manager(self.db).accepting_sql(
            survey_id=response.survey_id, version_id=response.version_id, now=accepting_at
        )
        statement, params = row.where(accepting), [*row.params, *accepting_params]
        with sql.prepared_cursor(connection) as cursor:
            if connection.features.can_return_columns_from_insert:
                cursor.execute(f"{statement} RETURNING id", params)
                found = cursor.fetchone()
                pk = found[0] if found else None
            else:
                cursor.execute(statement, params)
                pk = cursor.lastrowid if cursor.rowcount else None
        if pk is None:
            return False
        sql.mark_saved(response, pk, self.db)
        return True

    def analysable(self) -> ResponseQuerySet:
        """Completed responses that analysis uses: unflagged, or flagged but included by hand."""
        return self.completed().filter(
            Q(include_override=True) | (Q(include_override__isnull=True) & Q(flags=[]))
        )

    def counts(self) -> dict[str, int]:
        return self.aggregate(
            started=Count("id"),
            completed=Count("id", filter=Q(status=ResponseStatus.COMPLETED)),
            screened_out=Count("id", filter=Q(status=ResponseStatus.SCREENED_OUT)),
            in_progress=Count("id", filter=Q(status=ResponseStatus.IN_PROGRESS)),
            flagged=Count("id", filter=Q(status=ResponseStatus.COMPLETED) & ~Q(flags=[])),
        )


class Response(models.Model):
    # No index of its own: the (survey, status) index and the unique constraints below all
    # start with the survey and serve its lookups; one index fewer to update on every insert.
    survey = models.ForeignKey(
        Survey, on_delete=models.CASCADE, related_name="responses", db_index=False
    )
    version = models.ForeignKey(SurveyVersion, on_delete=models.PROTECT, related_name="responses")
    # One response per invitation, enforced by the database (not check-then-insert).
    invitation = models.OneToOneField(
        Invitation, null=True, blank=True, on_delete=models.SET_NULL, related_name="response"
    )
    # NULL, not "", for "none": the unique constraints below only apply to keys that exist.
    browser_key = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001
    respondent_id = models.CharField(max_length=200)
    source = models.CharField(
        max_length=8, choices=ResponseSource.choices, default=ResponseSource.WEB
    )
    status = models.CharField(
        max_length=16, choices=ResponseStatus.choices, default=ResponseStatus.IN_PROGRESS
    )
    page = models.PositiveIntegerField(default=0, help_text="Index of the next page to answer.")
    ratings = models.BinaryField(default=b"", help_text="Packed ratings: see surveys/ratings.py.")
    shown_order = models.JSONField(default=dict, blank=True)
    profile = models.JSONField(default=dict, blank=True)
    current_solution = models.CharField(max_length=200, blank=True)
    nps = models.PositiveSmallIntegerField(null=True, blank=True)
    ces = models.PositiveSmallIntegerField(null=True, blank=True)
    attention_passed = models.BooleanField(null=True, blank=True)
    flags = models.JSONField(default=list, blank=True)
    include_override = models.BooleanField(
        null=True, blank=True, help_text="The researcher's decision; empty = follow the flags."
    )
    page_seconds = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    page_started_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.FloatField(null=True, blank=True)

    objects = ResponseQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["survey", "respondent_id"], name="respondent_id_unique_in_survey"
            ),
            models.UniqueConstraint(
                fields=["survey", "browser_key"],
                condition=Q(browser_key__isnull=False),
                name="one_response_per_browser",
            ),
            models.UniqueConstraint(
                fields=["survey", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="one_response_per_idempotency_key",
            ),
        ]
        indexes = [
            models.Index(fields=["survey", "status"]),
            # The welcome page's time: the latest completions of a version (surveys/length.py).
            models.Index(
                fields=["version", "-id"],
                condition=Q(status="completed"),
                name="response_completed_by_version",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.respondent_id} ({self.get_status_display()})"

    @property
    def duration_minutes(self) -> float | None:
        return None if self.duration_seconds is None else self.duration_seconds / 60

    @property
    def included(self) -> bool:
        if self.include_override is not None:
            return self.include_override
        return not self.flags
