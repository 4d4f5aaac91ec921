"""Surveys, their frozen versions, invitations and responses."""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import connections, models
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac

from config import sql
from jtbd.models import DesiredOutcome, Job
from workspaces.models import Workspace

DEFAULT_IMPORTANCE_LABELS = [
    "Not at all important",
    "Slightly important",
    "Moderately important",
    "Very important",
    "Extremely important",
]
DEFAULT_SATISFACTION_LABELS = [
    "Not at all satisfied",
    "Slightly satisfied",
    "Moderately satisfied",
    "Very satisfied",
    "Extremely satisfied",
]
CURRENT_SOLUTION_TEXT = "What do you use today to get this job done?"
ERASURE_HMAC_SALT = "surveys.erasure.reference"
NPS_TEXT = "How likely are you to recommend {subject} to a colleague?"
CES_TEXT = "How easy or difficult is it to get this job done today?"


def new_token() -> str:
    """An unguessable link token: 192 random bits, URL-safe."""
    return secrets.token_urlsafe(24)


def default_importance_labels() -> list[str]:
    return list(DEFAULT_IMPORTANCE_LABELS)


def default_satisfaction_labels() -> list[str]:
    return list(DEFAULT_SATISFACTION_LABELS)


class SurveyStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class SurveyQuerySet(models.QuerySet):
    def for_user(self, user) -> SurveyQuerySet:
        if not user.is_authenticated:
            return self.none()
        return self.filter(workspace__memberships__user=user)

    def for_submission(self, public_token: str) -> Survey | None:
        """The survey with this public token, holding only what decides whether it accepts
        answers now (status, close date) and its current version's id and content hash (all
        `surveys.versions` needs); None if no survey has the token.

        Written in SQL: it runs on every submission, and compiling it through the ORM
        (`select_related(...).only(...)`) cost about four times the query itself (0.6 ms
        against 0.15 ms a call, measured in one process against PostgreSQL)."""
        survey_table = self.model._meta.db_table
        version_table = SurveyVersion._meta.db_table
        with connections[self.db].cursor() as cursor:
            cursor.execute(
                f"SELECT s.id, s.status, s.closes_at, s.current_version_id, v.content_hash "
                f"FROM {survey_table} s LEFT JOIN {version_table} v ON v.id = s.current_version_id "
                "WHERE s.public_token = %s",
                [public_token],
            )
            row = cursor.fetchone()
        if row is None:
            return None
        survey_id, status, closes_at, version_id, content_hash = row
        if closes_at is not None and timezone.is_naive(closes_at):
            # SQLite hands a plain cursor naive UTC datetimes; the ORM would make them aware.
            closes_at = timezone.make_aware(closes_at, connections[self.db].timezone)
        survey = self.model.from_db(
            self.db,
            ["id", "status", "closes_at", "current_version_id"],
            [survey_id, status, closes_at, version_id],
        )
        if version_id is not None:
            survey.current_version = SurveyVersion.from_db(
                self.db, ["id", "content_hash"], [version_id, content_hash]
            )
        return survey

    def accepting_sql(self, *, survey_id: int, version_id: int, now) -> tuple[str, list]:
        """An SQL condition, with its parameters: the survey accepts answers at `now` (as
        `Survey.is_accepting` says) and `version_id` is its current version. Stores a response
        only while that holds, checked in the statement that stores it."""
        connection = connections[self.db]
        return (
            f"EXISTS (SELECT 1 FROM {self.model._meta.db_table} WHERE id = %s AND status = %s "
            "AND current_version_id = %s AND (closes_at IS NULL OR closes_at > %s))",
            [
                survey_id,
                SurveyStatus.OPEN.value,
                version_id,
                connection.ops.adapt_datetimefield_value(now),
            ],
        )


class Survey(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="surveys")
    job = models.ForeignKey(Job, on_delete=models.PROTECT, related_name="surveys")
    title = models.CharField(max_length=200)
    status = models.CharField(
        max_length=12, choices=SurveyStatus.choices, default=SurveyStatus.DRAFT
    )
    public_token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    outcomes = models.ManyToManyField(
        DesiredOutcome, through="SurveyOutcome", related_name="surveys"
    )
    welcome_text = models.TextField(
        default="Thank you for taking part. This survey asks how you get your work done today. "
        "It takes about 10 minutes; your answers are confidential."
    )
    consent_text = models.TextField(
        blank=True, help_text="If set, respondents must tick a box agreeing to it before starting."
    )
    thank_you_text = models.TextField(default="Thank you! Your answers have been saved.")
    screened_out_text = models.TextField(
        default="Thank you for your interest. This survey is looking for people in a different "
        "situation, so there are no more questions for you."
    )
    importance_labels = models.JSONField(default=default_importance_labels)
    satisfaction_labels = models.JSONField(default=default_satisfaction_labels)
    ask_current_solution = models.BooleanField(default=False)
    current_solution_options = models.JSONField(default=list, blank=True)
    ask_nps = models.BooleanField("Ask likelihood to recommend (NPS)", default=False)
    nps_subject = models.CharField(max_length=120, default="the way you do this today")
    ask_ces = models.BooleanField("Ask customer effort (CES)", default=False)
    attention_check = models.BooleanField(default=False)
    target_completes = models.PositiveIntegerField(null=True, blank=True)
    closes_at = models.DateTimeField(null=True, blank=True)
    current_version = models.ForeignKey(
        "SurveyVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SurveyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "id"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("surveys:survey-detail", args=[self.pk])

    def public_path(self) -> str:
        return reverse("surveys:public", args=[self.public_token])

    def is_accepting(self, now=None) -> bool:
        """Whether respondents may answer right now: open, published and before the close date."""
        now = now or timezone.now()
        return (
            self.status == SurveyStatus.OPEN
            and self.current_version_id is not None
            and (self.closes_at is None or now < self.closes_at)
        )

    def ordered_outcomes(self):
        return self.outcomes.select_related("step").order_by(
            "step__order", "step_id", "surveyoutcome__order", "order", "id"
        )

    def snapshot(self) -> dict:
        """What respondents see, as plain data: frozen into a version when published."""
        steps: list[dict] = []
        by_step: dict[int, dict] = {}
        for outcome in self.ordered_outcomes():
            if outcome.step_id not in by_step:
                by_step[outcome.step_id] = {
                    "title": outcome.step.title,
                    "stage": outcome.step.stage,
                    "outcomes": [],
                }
                steps.append(by_step[outcome.step_id])
            by_step[outcome.step_id]["outcomes"].append(
                {"code": outcome.code, "statement": outcome.statement}
            )
        questions = [q.snapshot() for q in self.questions.order_by("order", "id")]
        return {
            "title": self.title,
            "job": self.job.statement,
            "welcome_text": self.welcome_text,
            "consent_text": self.consent_text,
            "thank_you_text": self.thank_you_text,
            "screened_out_text": self.screened_out_text,
            "importance_labels": list(self.importance_labels),
            "satisfaction_labels": list(self.satisfaction_labels),
            "steps": steps,
            "outcome_codes": [o["code"] for s in steps for o in s["outcomes"]],
            "questions": questions,
            "current_solution": (
                {"text": CURRENT_SOLUTION_TEXT, "options": list(self.current_solution_options)}
                if self.ask_current_solution
                else None
            ),
            "nps": NPS_TEXT.format(subject=self.nps_subject) if self.ask_nps else None,
            "ces": CES_TEXT if self.ask_ces else None,
            "attention_check": self.attention_check,
        }

    def close(self) -> None:
        self.status = SurveyStatus.CLOSED
        self.save(update_fields=["status", "updated_at"])

    def reopen(self) -> None:
        self.status = SurveyStatus.OPEN
        self.save(update_fields=["status", "updated_at"])


class SurveyOutcome(models.Model):
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE)
    outcome = models.ForeignKey(DesiredOutcome, on_delete=models.CASCADE)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["survey", "outcome"], name="outcome_once_per_survey")
        ]

    def __str__(self) -> str:
        return f"{self.outcome_id} in survey {self.survey_id}"


class QuestionKind(models.TextChoices):
    SINGLE = "single", "Single choice"
    MULTIPLE = "multiple", "Multiple choice"
    NUMBER = "number", "Number"
    TEXT = "text", "Short text"


class Question(models.Model):
    """A profile or screener question. Screener questions end the survey on certain answers."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="questions")
    key = models.SlugField(
        max_length=40, help_text="Short stable name used in exports, e.g. 'role' or 'team_size'."
    )
    kind = models.CharField(max_length=12, choices=QuestionKind.choices)
    text = models.CharField(max_length=300)
    options = models.JSONField(default=list, blank=True)
    required = models.BooleanField(default=True)
    complexity_factor = models.BooleanField(
        default=False, help_text="Used later to describe how segments differ."
    )
    screener = models.BooleanField(default=False)
    disqualifying = models.JSONField(
        default=list, blank=True, help_text="Screener answers that end the survey politely."
    )
    minimum = models.FloatField(null=True, blank=True)
    maximum = models.FloatField(null=True, blank=True)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["survey", "key"], name="question_key_unique_in_survey")
        ]

    def __str__(self) -> str:
        return self.text

    def snapshot(self) -> dict:
        return {
            "key": self.key,
            "kind": self.kind,
            "text": self.text,
            "options": list(self.options),
            "required": self.required,
            "complexity_factor": self.complexity_factor,
            "screener": self.screener,
            "disqualifying": list(self.disqualifying),
            "minimum": self.minimum,
            "maximum": self.maximum,
        }


class SurveyVersion(models.Model):
    """What respondents saw, frozen at publication; responses point at the version they answered."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    content = models.JSONField()
    content_hash = models.CharField(max_length=64)
    published_at = models.DateTimeField(default=timezone.now)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["survey_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["survey", "number"], name="version_number_unique")
        ]

    def __str__(self) -> str:
        return f"{self.survey} v{self.number}"

    @staticmethod
    def hash_content(content: dict) -> str:
        canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    @property
    def outcome_codes(self) -> list[str]:
        return list(self.content["outcome_codes"])


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

        Written in SQL (`config.sql`): it runs on every API submission, and compiling the
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
        indexes = [models.Index(fields=["survey", "status"])]

    def __str__(self) -> str:
        return f"{self.respondent_id} ({self.get_status_display()})"

    @property
    def included(self) -> bool:
        if self.include_override is not None:
            return self.include_override
        return not self.flags


# A dispatched entry still unprocessed after this long is assumed lost and dispatched again
# (processing is idempotent, so a duplicate costs nothing).
OUTBOX_REDISPATCH_AFTER = timedelta(minutes=10)


class OutboxQuerySet(models.QuerySet):
    def pending(self, now=None) -> OutboxQuerySet:
        """Entries never dispatched, or dispatched long ago and still not processed."""
        stale = (now or timezone.now()) - OUTBOX_REDISPATCH_AFTER
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


class ErasureScope(models.TextChoices):
    RESPONDENT = "respondent", "One respondent"
    SURVEY = "survey", "Whole survey"


class ErasureRecord(models.Model):
    """The audit of one erasure of personal data (see surveys/erasure.py).

    It holds who erased, when, where and how many rows changed, never the erased values: a
    respondent erasure keeps only keyed hashes (HMAC-SHA256 with the SECRET_KEY) of the
    identifiers it removed, so an auditor holding an identifier can confirm that it was erased
    (`covers`) while nobody can read the identifier back from the record. A survey-wide erasure
    keeps no hash at all: a list of everyone who took part would itself be personal data."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    # SET_NULL: the record outlives the survey, as the proof that the erasure happened.
    survey = models.ForeignKey(
        Survey, null=True, blank=True, on_delete=models.SET_NULL, related_name="erasures"
    )
    # The survey's id and title, kept when the survey is deleted; the hashes are tied to the id.
    survey_key = models.PositiveBigIntegerField()
    survey_title = models.CharField(max_length=200)
    scope = models.CharField(max_length=12, choices=ErasureScope.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    by_username = models.CharField(max_length=150, help_text="Kept if the user is deleted.")
    created_at = models.DateTimeField(default=timezone.now)
    invitations = models.PositiveIntegerField(default=0, help_text="Invitations changed.")
    responses = models.PositiveIntegerField(default=0, help_text="Responses changed.")
    analysis_runs = models.PositiveIntegerField(
        default=0, help_text="Stored analyses whose respondent ids were replaced."
    )
    exports = models.PositiveIntegerField(
        default=0, help_text="Stored export files with respondent ids that were deleted."
    )
    references = models.JSONField(
        default=list, blank=True, help_text="Keyed hashes of the erased identifiers."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["survey", "-created_at"])]

    def __str__(self) -> str:
        return f"Erasure {self.pk} ({self.get_scope_display()}) in {self.survey_title}"

    @staticmethod
    def reference(survey_id: int, identifier: str, *, secret: str | None = None) -> str:
        """The keyed hash kept for an identifier: tied to the survey, so the same e-mail address
        erased from two surveys gives two unrelated references."""
        return salted_hmac(
            ERASURE_HMAC_SALT, f"{survey_id}:{identifier}", secret=secret, algorithm="sha256"
        ).hexdigest()

    def covers(self, identifier: str) -> bool:
        """Whether this erasure removed `identifier` (an e-mail address, external id, link
        token or respondent id as the auditor gives it). A survey-wide erasure covers everyone
        who was in the survey. Keys the site has rotated away from (SECRET_KEY_FALLBACKS) are
        tried too, so rotating the key does not make old records unverifiable."""
        if self.scope == ErasureScope.SURVEY:
            return True
        value = identifier.strip()
        candidates = {value, value.lower()}
        stored = set(self.references)
        for secret in [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]:
            for candidate in candidates:
                if self.reference(self.survey_key, candidate, secret=secret) in stored:
                    return True
        return False
