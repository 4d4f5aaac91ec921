"""Researcher pages for the catalogue. Views parse, authorise, call a service and render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views.decorators.http import require_POST

from jtbd import services
from jtbd.forms import (
    JobForm,
    OutcomeForm,
    StatementCheckForm,
    StepForm,
)
from jtbd.models import DesiredOutcome, Job, JobStep, OutcomeStatus
from jtbd.statements import check_statement
from workspaces.access import current_membership


def job_for(request: HttpRequest, pk: int, *, write: bool = False) -> Job:
    """The job in the user's workspaces (404 otherwise); with write, only for those who may edit."""
    job = get_object_or_404(Job.objects.for_user(request.user).select_related("workspace"), pk=pk)
    if write and not job.workspace.can_write(request.user):
        raise PermissionDenied("Viewers can read but cannot change the catalogue.")
    return job


def _step_for(request: HttpRequest, pk: int) -> JobStep:
    step = get_object_or_404(
        JobStep.objects.filter(job__in=Job.objects.for_user(request.user)).select_related(
            "job__workspace"
        ),
        pk=pk,
    )
    if not step.job.workspace.can_write(request.user):
        raise PermissionDenied("Viewers can read but cannot change the catalogue.")
    return step


def _outcome_for(request: HttpRequest, pk: int) -> DesiredOutcome:
    outcome = get_object_or_404(
        DesiredOutcome.objects.filter(job__in=Job.objects.for_user(request.user)).select_related(
            "job__workspace", "step"
        ),
        pk=pk,
    )
    if not outcome.job.workspace.can_write(request.user):
        raise PermissionDenied("Viewers can read but cannot change the catalogue.")
    return outcome


def _add_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _offset(request: HttpRequest) -> int:
    return -1 if request.POST.get("direction") == "up" else 1


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return redirect("jtbd:job-list")


@login_required
def job_list(request: HttpRequest) -> HttpResponse:
    membership = current_membership(request)
    if membership is None:
        return render(request, "jtbd/no_workspace.html", status=200)
    jobs = (
        Job.objects.in_workspace(membership.workspace)
        .annotate(
            step_count=Count("steps", distinct=True), outcome_count=Count("outcomes", distinct=True)
        )
        .select_related("parent")
    )
    return render(request, "jtbd/job_list.html", {"jobs": jobs})


@login_required
def job_create(request: HttpRequest) -> HttpResponse:
    membership = current_membership(request)
    if membership is None:
        raise PermissionDenied("You are not a member of any workspace.")
    if not membership.can_write:
        raise PermissionDenied("Viewers can read but cannot change the catalogue.")
    form = JobForm(request.POST or None, workspace=membership.workspace)
    if request.method == "POST" and form.is_valid():
        try:
            job = services.create_job(workspace=membership.workspace, **form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, "Job created with the eight universal job-map steps.")
            return redirect(job)
    return render(request, "jtbd/job_form.html", {"form": form, "job": None})


@login_required
def job_edit(request: HttpRequest, pk: int) -> HttpResponse:
    job = job_for(request, pk, write=True)
    initial = {f: getattr(job, f) for f in ("statement", "executor", "kind", "parent", "notes")}
    form = JobForm(
        request.POST or None, initial=initial, workspace=job.workspace, exclude_pk=job.pk
    )
    if request.method == "POST" and form.is_valid():
        for name, value in form.cleaned_data.items():
            setattr(job, name, value)
        try:
            job.full_clean()
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            job.save(update_fields=[*form.cleaned_data, "updated_at"])
            messages.success(request, "Job saved.")
            return redirect(job)
    return render(request, "jtbd/job_form.html", {"form": form, "job": job})


@login_required
@require_POST
def job_delete(request: HttpRequest, pk: int) -> HttpResponse:
    job = job_for(request, pk, write=True)
    if request.POST.get("confirm") != job.statement:
        messages.error(request, "Type the job statement exactly to confirm deleting it.")
        return redirect(job)
    try:
        services.delete_job(job=job)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(job)
    messages.success(request, "Job deleted.")
    return redirect("jtbd:job-list")


@login_required
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = job_for(request, pk)
    steps = list(job.steps.order_by("order", "id"))
    outcomes = list(job.outcomes.order_by("order", "id"))
    findings = job.findings_by_code(outcomes)
    by_step: dict[int, list] = {s.pk: [] for s in steps}
    for o in outcomes:
        o.findings = findings[o.code]
        by_step[o.step_id].append(o)
    for step in steps:
        step.outcome_list = by_step[step.pk]  # type: ignore[attr-defined]  # for the template
    context = {
        "job": job,
        "steps": steps,
        "outcome_total": len(outcomes),
        "approved_total": sum(o.status == OutcomeStatus.APPROVED for o in outcomes),
        "flagged_total": sum(bool(o.findings) for o in outcomes),
        # Drafts in job-map order: what "Approve flagged drafts" lists for a deliberate choice.
        "flagged_drafts": [
            o for s in steps for o in by_step[s.pk] if o.findings and o.status == "draft"
        ],
        "clean_drafts": sum(not o.findings and o.status == "draft" for o in outcomes),
        "empty_steps": sum(not by_step[s.pk] for s in steps),
        "can_write": job.workspace.can_write(request.user),
        "step_form": StepForm(),
    }
    return render(request, "jtbd/job_detail.html", context)


@login_required
def step_create(request: HttpRequest, pk: int) -> HttpResponse:
    job = job_for(request, pk, write=True)
    form = StepForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.add_step(job=job, **form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, "Step added at the end of the job map.")
            return redirect(job)
    return render(request, "jtbd/step_form.html", {"form": form, "job": job, "step": None})


@login_required
def step_edit(request: HttpRequest, pk: int) -> HttpResponse:
    step = _step_for(request, pk)
    initial = {"stage": step.stage, "title": step.title, "description": step.description}
    form = StepForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        for name, value in form.cleaned_data.items():
            setattr(step, name, value)
        step.save(update_fields=list(form.cleaned_data))
        messages.success(request, "Step saved.")
        return redirect(step.job)
    return render(request, "jtbd/step_form.html", {"form": form, "job": step.job, "step": step})


@login_required
@require_POST
def step_delete(request: HttpRequest, pk: int) -> HttpResponse:
    step = _step_for(request, pk)
    job = step.job
    try:
        services.delete_step(step=step)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Step deleted.")
    return redirect(job)


@login_required
@require_POST
def step_move(request: HttpRequest, pk: int) -> HttpResponse:
    step = _step_for(request, pk)
    services.move_step(step=step, offset=_offset(request))
    return redirect(f"{step.job.get_absolute_url()}#step-{step.pk}")


@login_required
def outcome_create(request: HttpRequest, pk: int) -> HttpResponse:
    job = job_for(request, pk, write=True)
    initial = {"step": request.GET.get("step")}
    form = OutcomeForm(request.POST or None, job=job, initial=initial)
    result = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            outcome = services.add_outcome(
                step=data["step"],
                statement=data["statement"],
                code=data["code"],
                status=data["status"],
                confirm_flagged=data["confirm_flagged"],
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, f"Outcome {outcome.code} added.")
            if request.POST.get("next") == "another":
                return redirect(
                    f"{reverse('jtbd:outcome-create', args=[job.pk])}?step={outcome.step_id}"
                )
            return redirect(f"{job.get_absolute_url()}#outcome-{outcome.pk}")
    if request.method == "POST" and form.data.get("statement"):
        result = _check_for_job(job, form.data["statement"])
    return render(
        request,
        "jtbd/outcome_form.html",
        {"form": form, "job": job, "outcome": None, "check": result},
    )


def _check_for_job(job: Job, statement: str, exclude_code: str = ""):
    others = [(c, s) for c, s in job.outcomes.values_list("code", "statement") if c != exclude_code]
    return check_statement(
        statement, solution_words=job.workspace.solution_word_list(), others=others
    )


@login_required
def outcome_edit(request: HttpRequest, pk: int) -> HttpResponse:
    outcome = _outcome_for(request, pk)
    job = outcome.job
    initial = {
        "step": outcome.step_id,
        "statement": outcome.statement,
        "code": outcome.code,
        "status": outcome.status,
    }
    form = OutcomeForm(request.POST or None, job=job, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.update_outcome(
                outcome=outcome,
                statement=data["statement"],
                code=data["code"] or None,
                step=data["step"],
                status=data["status"],
                confirm_flagged=data["confirm_flagged"],
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, f"Outcome {outcome.code} saved.")
            return redirect(f"{job.get_absolute_url()}#outcome-{outcome.pk}")
    statement = form.data.get("statement") if request.method == "POST" else outcome.statement
    result = _check_for_job(job, statement or "", exclude_code=outcome.code)
    return render(
        request,
        "jtbd/outcome_form.html",
        {"form": form, "job": job, "outcome": outcome, "check": result},
    )


@login_required
@require_POST
def outcome_delete(request: HttpRequest, pk: int) -> HttpResponse:
    outcome = _outcome_for(request, pk)
    job = outcome.job
    try:
        services.delete_outcome(outcome=outcome)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(f"{job.get_absolute_url()}#outcome-{outcome.pk}")
    messages.success(request, f"Outcome {outcome.code} deleted.")
    return redirect(job)


@login_required
@require_POST
def outcome_move(request: HttpRequest, pk: int) -> HttpResponse:
    outcome = _outcome_for(request, pk)
    services.move_outcome(outcome=outcome, offset=_offset(request))
    return redirect(f"{outcome.job.get_absolute_url()}#outcome-{outcome.pk}")


@login_required
@require_POST
def outcome_approve(request: HttpRequest, pk: int) -> HttpResponse:
    outcome = _outcome_for(request, pk)
    try:
        services.approve_outcome(
            outcome=outcome, confirm_flagged=request.POST.get("confirm_flagged") == "1"
        )
    except services.FlaggedOutcome as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Outcome {outcome.code} approved.")
    return redirect(f"{outcome.job.get_absolute_url()}#outcome-{outcome.pk}")


@login_required
@require_POST
def job_approve_all(request: HttpRequest, pk: int) -> HttpResponse:
    """Approve the drafts without findings; say which flagged ones were left, and why."""
    job = job_for(request, pk, write=True)
    result = services.approve_drafts(job=job)
    n, left = len(result.approved), len(result.flagged)
    messages.success(request, f"{n} draft outcome{pluralize(n)} approved.")
    if left:
        messages.warning(
            request,
            f"{left} flagged draft{pluralize(left)} left as draft{pluralize(left)} "
            f"({', '.join(result.flagged)}): the statement check found problems. Read why under "
            "each, then fix or approve deliberately with “Approve flagged drafts”.",
        )
    return redirect(job)


@login_required
@require_POST
def job_approve_flagged(request: HttpRequest, pk: int) -> HttpResponse:
    """The deliberate step: approve the flagged drafts the researcher ticked, one by one."""
    job = job_for(request, pk, write=True)
    if codes := request.POST.getlist("confirm_flagged"):
        done = services.approve_drafts(job=job, codes=codes, confirm_flagged=True).approved
        approved = f"{len(done)} flagged draft{pluralize(len(done))} approved despite findings"
        messages.success(request, f"{approved}: {', '.join(done)}." if done else f"{approved}.")
        return redirect(job)
    messages.error(request, "Tick each flagged draft you mean to approve despite its findings.")
    return redirect(f"{job.get_absolute_url()}#approve-flagged")


@login_required
def statement_check(request: HttpRequest, pk: int) -> HttpResponse:
    """A scratch page: paste a statement, see its parts and findings against this job. POST, so
    the statement stays out of URLs (history, logs); nothing is stored."""
    job = job_for(request, pk)
    statement = request.POST.get("statement", "") if request.method == "POST" else ""
    result = _check_for_job(job, statement) if request.method == "POST" else None
    # Unbound: the findings (far_too_long included) say what is wrong; the text stays as typed.
    form = StatementCheckForm(initial={"statement": statement})
    context = {"job": job, "form": form, "check": result}
    return render(request, "jtbd/statement_check.html", context)
