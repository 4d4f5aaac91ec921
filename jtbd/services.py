"""Write workflows of the catalogue that touch several rows at once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.defaultfilters import pluralize

from jtbd.models import (
    UNIVERSAL_JOB_MAP,
    DesiredOutcome,
    Job,
    JobStep,
    OutcomeStatus,
)
from jtbd.statements import Finding, check_statement
from workspaces.models import Workspace


@transaction.atomic
def create_job(
    *,
    workspace: Workspace,
    statement: str,
    executor: str,
    kind: str,
    parent: Job | None = None,
    notes: str = "",
    universal_steps: bool = True,
) -> Job:
    """Create a job; a new job starts with the eight universal job-map steps."""
    job = Job(
        workspace=workspace,
        statement=statement.strip(),
        executor=executor.strip(),
        kind=kind,
        parent=parent,
        notes=notes,
    )
    job.full_clean()
    job.save()
    if universal_steps:
        JobStep.objects.bulk_create(
            JobStep(job=job, stage=stage, title=title, description=description, order=i)
            for i, (stage, title, description) in enumerate(UNIVERSAL_JOB_MAP, start=1)
        )
    return job


def _check_blocking(job: Job, statement: str) -> None:
    result = check_statement(statement, solution_words=job.workspace.solution_word_list())
    if result.blocking:
        raise ValidationError(
            {"statement": [f.message for f in result.findings if f.severity == "error"]}
        )


@transaction.atomic
def add_outcome(
    *,
    step: JobStep,
    statement: str,
    code: str = "",
    status: str = OutcomeStatus.DRAFT,
    confirm_flagged: bool = False,
) -> DesiredOutcome:
    """Add an outcome at the end of its step, with the next free code unless one is given.

    Added as approved, a statement the check flags is refused (FlaggedOutcome) unless
    `confirm_flagged`, as approve_outcome does: the page and the API pass the person's tick,
    the import of a fielded study True (its outcomes were approved when it was fielded)."""
    job = Job.objects.select_for_update().get(pk=step.job_id)
    _check_blocking(job, statement)
    code = code.strip() or job.next_outcome_code()
    if job.outcomes.filter(code=code).exists():
        raise ValidationError({"code": f"Code {code} is already used in this job."})
    if code in job.published_codes():
        raise ValidationError({"code": f"Code {code} was used in a published survey."})
    last = step.outcomes.order_by("-order").values_list("order", flat=True).first()
    outcome = DesiredOutcome(job=job, step=step, code=code, status=status, order=(last or 0) + 1)
    outcome.set_statement(statement)
    outcome.full_clean()
    outcome.save()
    if status == OutcomeStatus.APPROVED:
        _approval_is_deliberate(outcome, confirm_flagged)
    job.remember_outcome_codes()
    return outcome


@transaction.atomic
def update_outcome(
    *,
    outcome: DesiredOutcome,
    statement: str | None = None,
    code: str | None = None,
    step: JobStep | None = None,
    status: str | None = None,
    confirm_flagged: bool = False,
) -> DesiredOutcome:
    """Change an outcome. The page and the API pass the person's `confirm_flagged`: set to
    approved, a statement the check flags is then refused (FlaggedOutcome, nothing changes),
    the rule of approve_outcome."""
    fields: list[str] = ["updated_at"]
    approving = status == OutcomeStatus.APPROVED and outcome.status != OutcomeStatus.APPROVED
    if statement is not None and statement.strip() != outcome.statement:
        _check_blocking(outcome.job, statement)
        outcome.set_statement(statement)
        fields += ["statement", "direction", "metric", "object_of_control", "clarifier"]
    renamed = code is not None and code != outcome.code
    if code is not None and renamed:  # (the first test narrows `code` for the type checker)
        if outcome.job.outcomes.exclude(pk=outcome.pk).filter(code=code).exists():
            raise ValidationError({"code": f"Code {code} is already used in this job."})
        published = outcome.job.published_codes()
        if outcome.code in published:
            raise ValidationError(
                {"code": f"{outcome.code} is in a published survey; its code cannot change."}
            )
        if code in published:
            raise ValidationError(
                {"code": f"Code {code} was used in a published survey; choose another."}
            )
        outcome.code = code
        fields.append("code")
    if step is not None and step.pk != outcome.step_id:
        if step.job_id != outcome.job_id:
            raise ValidationError({"step": "The step belongs to another job."})
        outcome.step = step
        last = step.outcomes.order_by("-order").values_list("order", flat=True).first()
        outcome.order = (last or 0) + 1
        fields += ["step", "order"]
    if status is not None and status != outcome.status:
        outcome.status = status
        fields.append("status")
    outcome.full_clean()
    outcome.save(update_fields=fields)
    if approving:
        _approval_is_deliberate(outcome, confirm_flagged)
    if renamed:
        outcome.job.remember_outcome_codes()
    return outcome


@transaction.atomic
def delete_outcome(*, outcome: DesiredOutcome) -> None:
    """Delete an outcome that no respondent has seen; published ones stay for the analyses."""
    if outcome.code in outcome.job.published_codes():
        raise ValidationError(
            f"{outcome.code} is in a published survey, so analyses refer to it: it cannot be "
            "deleted. Leave it out of the survey's next version instead."
        )
    outcome.delete()


@transaction.atomic
def delete_job(*, job: Job) -> None:
    """Delete a job with its steps and outcomes; refused while surveys use it."""
    count = job.surveys.count()
    if count:
        raise ValidationError(
            f"The job has {count} survey(s) with their responses and results: delete those first."
        )
    job.delete()


def _renumber(rows: list, field: str = "order") -> None:
    for i, row in enumerate(rows, start=1):
        if getattr(row, field) != i:
            setattr(row, field, i)
            row.save(update_fields=[field])


@transaction.atomic
def move_step(*, step: JobStep, offset: int) -> None:
    """Move a step up (negative offset) or down the job map."""
    steps = list(
        JobStep.objects.select_for_update().filter(job_id=step.job_id).order_by("order", "id")
    )
    index = next(i for i, s in enumerate(steps) if s.pk == step.pk)
    target = max(0, min(len(steps) - 1, index + offset))
    steps.insert(target, steps.pop(index))
    _renumber(steps)


@transaction.atomic
def reorder_steps(*, job: Job, step_ids: list[int]) -> None:
    steps = {s.pk: s for s in JobStep.objects.select_for_update().filter(job=job)}
    if sorted(step_ids) != sorted(steps):
        raise ValidationError({"steps": "Give every step of the job exactly once."})
    _renumber([steps[pk] for pk in step_ids])


@transaction.atomic
def move_outcome(*, outcome: DesiredOutcome, offset: int) -> None:
    """Move an outcome up or down within its step."""
    rows = list(
        DesiredOutcome.objects.select_for_update()
        .filter(step_id=outcome.step_id)
        .order_by("order", "id")
    )
    index = next(i for i, o in enumerate(rows) if o.pk == outcome.pk)
    target = max(0, min(len(rows) - 1, index + offset))
    rows.insert(target, rows.pop(index))
    _renumber(rows)


@transaction.atomic
def add_step(*, job: Job, stage: str, title: str, description: str = "") -> JobStep:
    step = JobStep(
        job=job,
        stage=stage,
        title=title.strip(),
        description=description.strip(),
        order=job.next_step_order(),
    )
    step.full_clean()
    step.save()
    return step


@transaction.atomic
def delete_step(*, step: JobStep) -> None:
    """Delete a step; refused while it still has outcomes, so no outcome is lost by accident."""
    count = step.outcomes.count()
    if count:
        raise ValidationError(
            f"Step “{step.title}” still has {count} outcome{pluralize(count)}: move or delete "
            f"{pluralize(count, 'it,them')} first."
        )
    job_id = step.job_id
    step.delete()
    _renumber(list(JobStep.objects.filter(job_id=job_id).order_by("order", "id")))


class FlaggedOutcome(ValidationError):
    """Approving an outcome the statement check flagged was not confirmed; nothing changed."""

    def __init__(self, flagged: dict[str, list[Finding]]) -> None:
        self.flagged = flagged
        codes = ", ".join(flagged)
        super().__init__(
            f"The statement check flagged {codes}: read the findings and confirm to approve anyway."
        )


@dataclass(frozen=True)
class Approval:
    approved: list[str]  # codes approved now
    flagged: dict[str, list[Finding]]  # drafts left as drafts because the check flagged them


@transaction.atomic
def approve_drafts(
    *, job: Job, codes: Iterable[str] | None = None, confirm_flagged: bool = False
) -> Approval:
    """Approve the job's drafts (those in `codes`, if given) that the statement check does not
    flag; flagged ones only with `confirm_flagged`, so approving one is always deliberate."""
    outcomes = list(
        job.outcomes.select_for_update(of=("self",)).order_by("step__order", "order", "id")
    )
    findings = job.findings_by_code(outcomes)
    wanted = None if codes is None else set(codes)
    drafts = [
        o.code
        for o in outcomes
        if o.status == OutcomeStatus.DRAFT and (wanted is None or o.code in wanted)
    ]
    approved = [c for c in drafts if confirm_flagged or not findings[c]]
    job.outcomes.filter(code__in=approved).update(status=OutcomeStatus.APPROVED)
    return Approval(
        approved=approved,
        flagged={c: findings[c] for c in drafts if c not in approved},
    )


@transaction.atomic
def approve_outcome(*, outcome: DesiredOutcome, confirm_flagged: bool = False) -> None:
    """Approve one outcome; if the statement check flags it, only with `confirm_flagged`."""
    _approval_is_deliberate(outcome, confirm_flagged)
    outcome.approve()


def _approval_is_deliberate(outcome: DesiredOutcome, confirm_flagged: bool) -> None:
    """Raise FlaggedOutcome (rolling back the caller's transaction) when the statement check
    flags the outcome, as it reads now among its job's outcomes, and approving it was not
    confirmed: approving a flagged statement is always a deliberate act, on every route."""
    if confirm_flagged:
        return
    job = outcome.job
    findings = job.findings_by_code(list(job.outcomes.select_for_update()))[outcome.code]
    if findings:
        raise FlaggedOutcome({outcome.code: findings})
