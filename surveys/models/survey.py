"""Surveys, the outcomes and questions they ask, and the versions freezing what respondents saw."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import connections, models
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

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
NPS_TEXT = "How likely are you to recommend {subject} to a colleague?"
CES_TEXT = "How easy or difficult is it to get this job done today?"


def new_token() -> str:
    """An unguessable link token: 192 random bits, URL-safe."""
    return secrets.token_urlsafe(24)


def new_seed() -> int:
    return secrets.randbelow(2**31)


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
    outcomes: models.ManyToManyField[DesiredOutcome, SurveyOutcome] = models.ManyToManyField(
        DesiredOutcome, through="SurveyOutcome", related_name="surveys"
    )
    welcome_text = models.TextField(
        default="Thank you for taking part. This survey asks how you get your work done today. "
        "Your answers are confidential.",
        help_text="The page adds how long the survey takes (estimated from what it asks, then "
        "measured once respondents finish), unless this text mentions minutes itself.",
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
    # Planned subsets (surveys/design.py): off while both sizes are empty.
    subset_size = models.PositiveIntegerField(
        "Outcomes each respondent rates",
        null=True,
        blank=True,
        help_text="Each respondent rates this many of the outcomes (core ones included), the "
        "rest shared out evenly. Leave empty for everyone to rate every outcome.",
    )
    subset_minutes = models.PositiveIntegerField(
        "Or a target length in minutes",
        null=True,
        blank=True,
        help_text="Instead of a number of outcomes: how long the survey should take; the number "
        "of outcomes follows from it.",
    )
    allow_not_applicable = models.BooleanField(
        "Allow “not applicable / can't say”",
        default=False,
        help_text="Respondents may answer an outcome's importance or satisfaction with “not "
        "applicable / can't say”; it is stored apart and left out of the outcome's n.",
    )
    core_outcomes = models.JSONField(default=list, blank=True)  # codes every respondent rates
    design_seed = models.PositiveIntegerField(default=new_seed)
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
        content = {
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
        from surveys.design import frozen_design  # (it reads the content built here)

        if self.allow_not_applicable:  # only then: an unchanged survey keeps its content hash
            content["not_applicable"] = True
        design = frozen_design(self, content)
        if design is not None:  # only then: an unchanged survey keeps its content hash
            content["design"] = design
        return content

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


CHOICE_KINDS = (QuestionKind.SINGLE, QuestionKind.MULTIPLE)


def unique_lines(items: Iterable[str]) -> list[str]:
    """Options as a researcher lists them: stripped, non-blank, at most 200 characters, the
    first occurrence only (the page's textareas and the API's lists alike)."""
    seen, out = set(), []
    for item in items:
        value = item.strip()[:200]
        if value and value not in seen:
            seen.add(value)
            out.append(value)
    return out


@dataclass(frozen=True)
class QuestionDefinition:
    """What a question will be saved with, or why it cannot be (`errors`, field -> message)."""

    key: str
    options: list[str]
    disqualifying: list[str]
    errors: dict[str, str]


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

    @staticmethod
    def key_from(raw: str) -> str:
        """A key made from a given key or the question's text: `role`, `team_size`."""
        return slugify(raw or "")[:40].replace("-", "_") or "q"

    def define(
        self,
        *,
        survey: Survey,
        kind: str | None,
        text: str,
        given_key: str | None,
        options: Iterable[str],
        disqualifying: Iterable[str],
        screener: bool,
        minimum: float | None,
        maximum: float | None,
    ) -> QuestionDefinition:
        """The rules a question must meet on every route (the page's form, the API): choice
        questions have two options or more, screen-out answers are options of a screener, the
        key is stable (`choose_key`), and the range is not upside down."""
        options, disqualifying = unique_lines(options), unique_lines(disqualifying)
        errors: dict[str, str] = {}
        if kind in CHOICE_KINDS and len(options) < 2:
            errors["options"] = "Give at least two options."
        if kind not in CHOICE_KINDS:
            options = []
        if unknown := [d for d in disqualifying if d not in options]:
            errors["disqualifying"] = f"Not among the options: {', '.join(unknown)}."
        if disqualifying and not screener:
            errors["screener"] = "Screen-out answers need the question to be a screener."
        key, refused = self.choose_key(survey=survey, given=given_key, text=text)
        if refused:
            errors["key"] = refused
        if minimum is not None and maximum is not None and minimum > maximum:
            errors["maximum"] = "The maximum must not be below the minimum."
        return QuestionDefinition(key, options, disqualifying, errors)

    def choose_key(self, *, survey: Survey, given: str | None, text: str) -> tuple[str, str]:
        """The key to save this question with, and why it cannot be saved ("" when it can).

        A key is made once, at creation (the given one, or one made from the text), and is
        stable for life like an outcome code: answers, exports and API clients name the
        question by it. Editing the text never changes it; a different key given on an edit is
        accepted only while no published version of the survey carries the current one."""
        if self.pk is None:
            key = self.key_from(given or text)
        elif not given or self.key_from(given) == self.key:
            return self.key, ""
        else:
            key = self.key_from(given)
            if self.key_is_published(survey):
                return self.key, (
                    f"The key “{self.key}” is in a published version of this survey, so it "
                    "cannot change: answers, exports and API clients use it."
                )
        if survey.questions.filter(key=key).exclude(pk=self.pk).exists():
            return key, f"Another question already uses the key “{key}”."
        return key, ""

    def key_is_published(self, survey: Survey) -> bool:
        return any(
            q.get("key") == self.key
            for content in survey.versions.values_list("content", flat=True)
            for q in content.get("questions", [])
        )

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
