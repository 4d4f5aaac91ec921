"""The catalogue: jobs, their steps (the job map) and the desired outcomes of each step."""

from __future__ import annotations

import re

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Max
from django.urls import reverse

from jtbd.similarity import near_duplicates
from jtbd.statements import (
    HARD_MAX_LENGTH,
    Finding,
    check_statement,
    near_duplicate_finding,
    parse_statement,
)
from workspaces.models import Workspace

OUTCOME_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
OUTCOME_CODE_HELP = (
    "1–32 characters: letters, digits, '_', '.', '-', starting with a letter or digit "
    "(codes name CSV columns such as imp_O017)."
)


class JobKind(models.TextChoices):
    CORE_FUNCTIONAL = "core_functional", "Core functional"
    RELATED = "related", "Related"
    EMOTIONAL = "emotional", "Emotional"
    SOCIAL = "social", "Social"
    CONSUMPTION_CHAIN = "consumption_chain", "Consumption chain"


class Stage(models.TextChoices):
    DEFINE = "define", "Define"
    LOCATE = "locate", "Locate"
    PREPARE = "prepare", "Prepare"
    CONFIRM = "confirm", "Confirm"
    EXECUTE = "execute", "Execute"
    MONITOR = "monitor", "Monitor"
    MODIFY = "modify", "Modify"
    CONCLUDE = "conclude", "Conclude"


UNIVERSAL_JOB_MAP: list[tuple[str, str, str]] = [
    (Stage.DEFINE, "Define", "Determine goals and plan how to get the job done."),
    (Stage.LOCATE, "Locate", "Gather the inputs and information needed to do the job."),
    (Stage.PREPARE, "Prepare", "Set up the environment and organise the inputs."),
    (Stage.CONFIRM, "Confirm", "Verify that everything is ready before starting."),
    (Stage.EXECUTE, "Execute", "Carry out the job."),
    (Stage.MONITOR, "Monitor", "Check that the job is going to plan."),
    (Stage.MODIFY, "Modify", "Make changes when it is not going to plan."),
    (Stage.CONCLUDE, "Conclude", "Finish the job and wrap up."),
]


def outcome_number(code: str) -> int | None:
    """The number of an O-code ("O017" → 17), None for other codes."""
    return int(code[1:]) if code[:1] == "O" and code[1:].isdigit() else None


def validate_outcome_code(value: str) -> None:
    if not OUTCOME_CODE_RE.match(value):
        raise ValidationError(f"{value!r} is not a valid outcome code: {OUTCOME_CODE_HELP}")


class JobQuerySet(models.QuerySet):
    def for_user(self, user) -> JobQuerySet:
        if not user.is_authenticated:
            return self.none()
        return self.filter(workspace__memberships__user=user)

    def in_workspace(self, workspace: Workspace) -> JobQuerySet:
        return self.filter(workspace=workspace)


class Job(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="jobs")
    statement = models.CharField(
        max_length=300,
        help_text="Verb + object + optional contextual clarifier, free of solutions.",
    )
    executor = models.CharField(max_length=120, help_text="Who does the job, e.g. 'Team lead'.")
    kind = models.CharField(max_length=24, choices=JobKind.choices, default=JobKind.CORE_FUNCTIONAL)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    notes = models.TextField(blank=True)
    # Highest O-number ever handed out, so a deleted outcome's code is never given to another
    # (imports and analyses refer to outcomes by code).
    last_outcome_number = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        ordering = ["statement", "id"]

    def __str__(self) -> str:
        return self.statement

    def get_absolute_url(self) -> str:
        return reverse("jtbd:job-detail", args=[self.pk])

    def clean(self) -> None:
        if self.parent_id and self.parent is not None:  # (a set parent_id loads its job)
            if self.parent.workspace_id != self.workspace_id:
                raise ValidationError({"parent": "The parent job must be in the same workspace."})
            ancestor: Job | None = self.parent
            seen = set()
            while ancestor is not None and ancestor.pk not in seen:
                if self.pk and ancestor.pk == self.pk:
                    raise ValidationError({"parent": "A job cannot be its own ancestor."})
                seen.add(ancestor.pk)
                ancestor = ancestor.parent

    def highest_outcome_number(self) -> int:
        numbers = [outcome_number(code) for code in self.outcomes.values_list("code", flat=True)]
        return max([self.last_outcome_number, *(n for n in numbers if n is not None)])

    def next_outcome_code(self) -> str:
        """The next code of the form O001, O002, …; no code is ever handed out twice."""
        return f"O{self.highest_outcome_number() + 1:03d}"

    def remember_outcome_codes(self) -> None:
        """Record the highest O-number in use, after outcomes were added in bulk."""
        highest = self.highest_outcome_number()
        if highest != self.last_outcome_number:
            self.last_outcome_number = highest
            self.save(update_fields=["last_outcome_number"])

    def published_codes(self) -> set[str]:
        """Codes respondents have seen in a published survey version of this job. Analyses and
        imports refer to outcomes by these codes, so they may not change or disappear."""
        version_model = apps.get_model("surveys", "SurveyVersion")
        codes: set[str] = set()
        for content in version_model.objects.filter(survey__job=self).values_list(
            "content", flat=True
        ):
            codes.update(content.get("outcome_codes", []))
        return codes

    def next_step_order(self) -> int:
        return (self.steps.aggregate(m=Max("order"))["m"] or 0) + 1

    def findings_by_code(self, outcomes: list[DesiredOutcome]) -> dict[str, list[Finding]]:
        """The statement check's findings for each of the job's `outcomes` (all of them, so
        near-duplicates are found among the whole job): what the job page shows as "Why
        flagged" and what approving a draft asks to be confirmed."""
        duplicates = near_duplicates((o.code, o.statement) for o in outcomes)
        solution_words = self.workspace.solution_word_list()
        return {
            o.code: [
                *check_statement(o.statement, solution_words=solution_words).findings,
                *(near_duplicate_finding(code, score) for code, score in duplicates[o.code]),
            ]
            for o in outcomes
        }


class JobStep(models.Model):
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="steps")
    stage = models.CharField(max_length=16, choices=Stage.choices)
    title = models.CharField(max_length=120)
    description = models.CharField(max_length=500, blank=True)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return f"{self.title} ({self.get_stage_display()})"


class OutcomeStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    APPROVED = "approved", "Approved"


class OutcomeQuerySet(models.QuerySet):
    def for_user(self, user) -> OutcomeQuerySet:
        if not user.is_authenticated:
            return self.none()
        return self.filter(job__workspace__memberships__user=user)

    def approved(self) -> OutcomeQuerySet:
        return self.filter(status=OutcomeStatus.APPROVED)


class DesiredOutcome(models.Model):
    # The job is stored beside the step so the database can enforce a code unique per job.
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="outcomes")
    # RESTRICT: a step with outcomes cannot be deleted alone, but deleting the job removes both.
    step = models.ForeignKey(JobStep, on_delete=models.RESTRICT, related_name="outcomes")
    code = models.CharField(max_length=32, validators=[validate_outcome_code])
    statement = models.CharField(max_length=HARD_MAX_LENGTH)
    direction = models.CharField(max_length=40, blank=True)
    metric = models.CharField(max_length=80, blank=True)
    object_of_control = models.CharField(max_length=HARD_MAX_LENGTH, blank=True)
    clarifier = models.CharField(max_length=HARD_MAX_LENGTH, blank=True)
    status = models.CharField(
        max_length=16, choices=OutcomeStatus.choices, default=OutcomeStatus.DRAFT
    )
    order = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OutcomeQuerySet.as_manager()

    class Meta:
        ordering = ["step__order", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["job", "code"], name="outcome_code_unique_in_job")
        ]

    def __str__(self) -> str:
        return f"{self.code}: {self.statement}"

    def clean(self) -> None:
        if self.step_id and self.job_id and self.step.job_id != self.job_id:
            raise ValidationError({"step": "The step belongs to another job."})

    def set_statement(self, statement: str) -> None:
        """Store the statement with its parsed parts, so exports and filters need no re-parse."""
        self.statement = statement.strip()
        parts = parse_statement(self.statement)
        self.direction = parts.direction[:40]
        self.metric = parts.metric[:80]
        self.object_of_control = parts.object_of_control
        self.clarifier = parts.clarifier

    def statement_check(self, *, others: list[tuple[str, str]] | None = None):
        """Run the statement check against the workspace's solution words and sibling outcomes."""
        if others is None:
            others = list(self.job.outcomes.exclude(pk=self.pk).values_list("code", "statement"))
        return check_statement(
            self.statement,
            solution_words=self.job.workspace.solution_word_list(),
            others=others,
        )

    def approve(self) -> None:
        self.status = OutcomeStatus.APPROVED
        self.save(update_fields=["status", "updated_at"])
