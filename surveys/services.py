"""Write workflows of surveys: publishing, answering, importing side effects."""

from __future__ import annotations

import logging
import random
import secrets
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from surveys import design, flow, ratings
from surveys.models import (
    Flag,
    Invitation,
    Outbox,
    Response,
    ResponseSource,
    ResponseStatus,
    Survey,
    SurveyOutcome,
    SurveyStatus,
    SurveyVersion,
)
from surveys.quality import speeders, straight_lined

log = logging.getLogger(__name__)


@transaction.atomic
def create_survey(*, workspace, job, title: str, outcomes=None) -> Survey:
    """A draft survey over the job's approved outcomes (or the given ones)."""
    if job.workspace_id != workspace.id:
        raise ValidationError({"job": "The job belongs to another workspace."})
    survey = Survey(workspace=workspace, job=job, title=title.strip())
    survey.full_clean()  # a blank or too long title, whichever way it came (page, API, import)
    survey.save()
    chosen = outcomes if outcomes is not None else job.outcomes.approved()
    set_outcomes(survey=survey, outcomes=chosen)
    return survey


@transaction.atomic
def set_outcomes(*, survey: Survey, outcomes) -> None:
    outcomes = list(outcomes)
    if any(o.job_id != survey.job_id for o in outcomes):
        raise ValidationError({"outcomes": "Every outcome must belong to the survey's job."})
    SurveyOutcome.objects.filter(survey=survey).delete()
    SurveyOutcome.objects.bulk_create(
        SurveyOutcome(survey=survey, outcome=o, order=i) for i, o in enumerate(outcomes, start=1)
    )


@transaction.atomic
def publish_survey(*, survey: Survey, by=None) -> SurveyVersion:
    """Freeze what respondents will see. Unchanged content keeps the current version.

    The caller's `survey` object is updated too, so it shows the new version and status."""
    given = survey
    survey = Survey.objects.select_for_update().get(pk=survey.pk)
    content = survey.snapshot()
    if not content["outcome_codes"]:
        raise ValidationError("Choose at least one outcome before publishing.")
    for name in ("importance_labels", "satisfaction_labels"):
        labels = content[name]
        if len(labels) != 5 or not all(isinstance(x, str) and x.strip() for x in labels):
            raise ValidationError({name: "Give five non-empty scale labels."})
    check_design(survey, content)
    digest = SurveyVersion.hash_content(content)
    current = survey.current_version
    if current is None or current.content_hash != digest:
        number = (current.number if current else 0) + 1
        current = SurveyVersion.objects.create(
            survey=survey, number=number, content=content, content_hash=digest, published_by=by
        )
        survey.current_version = current
    if survey.status == SurveyStatus.DRAFT:
        survey.status = SurveyStatus.OPEN
    survey.save(update_fields=["current_version", "status", "updated_at"])
    given.current_version, given.status = survey.current_version, survey.status
    return current


def check_design(survey: Survey, content: dict | None = None) -> None:
    """Refuse (ValidationError by field) planned-subset settings that do not fit the survey's
    outcomes: asked on publishing, and by the API when settings or outcomes change."""
    content = content if content is not None else survey.snapshot()
    wrong = design.problems(
        codes=list(content["outcome_codes"]),
        content=content,
        size=survey.subset_size,
        minutes=survey.subset_minutes,
        core=list(survey.core_outcomes or []),
    )
    if wrong:
        raise ValidationError(
            {
                name: f"Planned subsets: {message} Change it in the survey's settings."
                for name, message in wrong.items()
            }
        )


def _new_response(survey: Survey, **identity) -> Response:
    """A respondent's response, stored; call it inside a transaction (see `assign_subset`)."""
    version = survey.current_version
    assert version is not None  # only a published survey takes responses
    subset = design.assign_subset(version)
    pages = flow.build_pages(version.content, subset=subset)
    rng = random.Random(secrets.randbits(64))
    unshown = [
        None if subset is None or code in subset else ratings.NOT_SHOWN
        for code in version.outcome_codes
    ]
    response = Response(
        survey=survey,
        version=version,
        source=ResponseSource.WEB,
        shown_order=flow.shuffled_orders(pages, rng),
        ratings=ratings.encode(unshown, unshown),
        **identity,
    )
    response.save()
    return response


class AlreadyAnswered(Exception):
    """The invitation's respondent id already has a response in this survey."""


def response_for_invitation(invitation: Invitation) -> Response:
    """The invitation's response, created on first visit; a concurrent first visit gets the
    same row (the unique constraint decides, not a check before the insert)."""
    existing = Response.objects.filter(invitation=invitation).first()
    if existing:
        return existing
    try:
        with transaction.atomic():  # a response not stored returns its subset's draw
            response = _new_response(
                invitation.survey, invitation=invitation, respondent_id=invitation.respondent_id
            )
    except IntegrityError:
        existing = Response.objects.filter(invitation=invitation).first()
        if existing is None:
            # Not a concurrent first visit: the person's id already has a response (imported).
            raise AlreadyAnswered(invitation.respondent_id) from None
        return existing
    return response


def response_for_browser(survey: Survey, browser_key: str | None) -> Response:
    """The browser's response to the public link, created on first start."""
    if browser_key:
        existing = Response.objects.filter(survey=survey, browser_key=browser_key).first()
        if existing:
            return existing
    key = secrets.token_urlsafe(24)
    with transaction.atomic():
        return _new_response(survey, browser_key=key, respondent_id=f"web-{key[:12]}")


@dataclass
class PageResult:
    response: Response
    problems: list[flow.Problem]
    answers: flow.PageAnswers | None = None


def _apply(response: Response, answers: flow.PageAnswers) -> list[str]:
    fields = []
    if answers.ratings:
        codes = response.version.outcome_codes
        current = ratings.decode_answers(response.ratings, codes)
        current.update(answers.ratings)
        response.ratings = ratings.encode_answers(codes, current)
        fields.append("ratings")
    if answers.profile or set(answers.cleared) & set(response.profile):
        kept = {k: v for k, v in response.profile.items() if k not in answers.cleared}
        response.profile = {**kept, **answers.profile}
        fields.append("profile")
    for name in ("current_solution", "nps", "ces", "attention_passed"):
        value = getattr(answers, name)
        if value is not None:
            setattr(response, name, value)
            fields.append(name)
    return fields


@transaction.atomic
def submit_page(*, response_id: int, page_index: int, data, now=None) -> PageResult:
    """Save one page. The row is locked, so a page submitted twice at once is saved once; a
    stale or repeated submit of an earlier page changes nothing and shows the current page."""
    now = now or timezone.now()
    response = Response.objects.select_for_update().select_related("version").get(pk=response_id)
    if response.status != ResponseStatus.IN_PROGRESS or page_index != response.page:
        return PageResult(response, [])
    content = response.version.content
    pages = flow.build_pages(content, response.shown_order)
    page = pages[page_index]
    answers, problems = flow.read_page(page, content, data)
    if problems:
        return PageResult(response, problems, answers)
    fields = _apply(response, answers)
    response.page_seconds = {
        **response.page_seconds,
        page.key: round((now - response.page_started_at).total_seconds(), 3),
    }
    response.page_started_at = now
    fields += ["page_seconds", "page_started_at", "page", "status"]
    if answers.screened_out:
        response.status = ResponseStatus.SCREENED_OUT
        response.completed_at = now
        fields.append("completed_at")
    else:
        response.page = page_index + 1
        if response.page >= len(pages):
            fields += _complete(response, pages, now)
    response.save(update_fields=fields)
    if response.status == ResponseStatus.COMPLETED:
        request_background(survey_id=response.survey_id, kind="response_completed")
    return PageResult(response, [])


@transaction.atomic
def go_back(*, response_id: int, page_index: int, data, now=None) -> Response:
    """Back to the page before, keeping what this page holds: every valid answer on it is saved
    (unanswered ones stay unanswered), nothing is required, and nothing ends the survey (a
    screen-out answer counts when the page is submitted forward again). A stale or repeated
    Back changes nothing."""
    now = now or timezone.now()
    response = Response.objects.select_for_update().select_related("version").get(pk=response_id)
    if response.status != ResponseStatus.IN_PROGRESS or not 0 < page_index == response.page:
        return response
    content = response.version.content
    page = flow.build_pages(content, response.shown_order)[page_index]
    answers, problems = flow.read_page(page, content, data)
    if page.attention and not data.get("attention"):
        answers.attention_passed = None  # not answered yet: neither passed nor failed
    if {p.field for p in problems} & {"current_solution", "current_solution_other"}:
        answers.current_solution = None  # left unanswered: what was saved stays
    fields = _apply(response, answers)
    response.page = page_index - 1
    response.page_started_at = now
    response.save(update_fields=[*fields, "page", "page_started_at"])
    return response


def _complete(response: Response, pages: list[flow.Page], now) -> list[str]:
    response.status = ResponseStatus.COMPLETED
    response.completed_at = now
    response.duration_seconds = (now - response.started_at).total_seconds()
    response.flags = own_flags(response, pages)
    return ["completed_at", "duration_seconds", "flags"]


def own_flags(response: Response, pages: list[flow.Page] | None = None) -> list[str]:
    """Flags that depend on this response alone; speeders are set survey-wide afterwards."""
    codes = response.version.outcome_codes
    imp, sat = ratings.unpack(response.ratings, len(codes))
    if pages is None:
        pages = flow.build_pages(response.version.content, response.shown_order)
    index = {c: i for i, c in enumerate(codes)}
    columns = [[index[c] for c in p.outcome_codes] for p in pages if p.kind == "outcomes"]
    flags = []
    if straight_lined(imp, sat, columns):
        flags.append(Flag.STRAIGHT_LINER.value)
    if response.attention_passed is False:
        flags.append(Flag.ATTENTION.value)
    return flags


@transaction.atomic
def refresh_speeders(*, survey_id: int) -> int:
    """Re-mark speeders against the survey's current median duration; returns how many."""
    rows = list(
        Response.objects.select_for_update()
        .filter(survey_id=survey_id, status=ResponseStatus.COMPLETED)
        .exclude(duration_seconds=None)
        .exclude(source=ResponseSource.IMPORT)
        .only("id", "flags", "duration_seconds")
    )
    fast = speeders({r.id: r.duration_seconds for r in rows})
    changed = []
    for r in rows:
        has = Flag.SPEEDER.value in r.flags
        if (r.id in fast) != has:
            others = [f for f in r.flags if f != Flag.SPEEDER.value]
            r.flags = [*others, Flag.SPEEDER.value] if r.id in fast else others
            changed.append(r)
    Response.objects.bulk_update(changed, ["flags"])
    return len(fast)


def set_inclusion(*, response: Response, include: bool | None) -> None:
    response.include_override = include
    response.save(update_fields=["include_override"])


def request_background(*, survey_id: int, kind: str) -> None:
    """Record a request for background work in this transaction; dispatch it after commit.

    The respondent's answers are committed whatever happens to the broker: a failed dispatch
    leaves the request pending and `dispatch_pending` (run by the worker's beat and by the
    `dispatch_pending` command) sends it later. The entry is written already claimed for this
    transaction's commit hook, so no other dispatcher sends it meanwhile and the hook needs no
    claim (and commit) of its own.

    Coalesced: the work looks at the whole survey, so a request joins an entry of the same
    survey and kind that is not processed yet, instead of writing and publishing its own. The
    entry is locked until this transaction ends, and processing starts by locking it
    (`process_outbox_entry`), so it runs after this commit and sees this transaction's data.
    An entry locked by someone else (being processed now, or joined by another transaction
    that might commit after the processing has read the data) is skipped, never waited for:
    then this request writes a new entry. An entry that is pending because the broker was down
    is joined too; the catch-up dispatches it. Unprocessed entries per survey are thus bounded by
    the number of transactions requesting at once, not by the number of requests."""
    with transaction.atomic(savepoint=False):
        if _join_unprocessed(survey_id=survey_id, kind=kind):
            return
        claimed_at = timezone.now()
        entry = Outbox.objects.create(survey_id=survey_id, kind=kind, dispatched_at=claimed_at)
        transaction.on_commit(lambda: _send(entry.pk, claimed_at))


def insert_completed(*, response: Response, accepting_at) -> bool:
    """Store a new, completed response while its survey accepts answers
    (`Response.objects.insert`) and request the work a completion needs
    (`request_background`), atomically; whether it was stored. Where SKIP LOCKED exists one
    statement does both (`Outbox.objects.insert_requesting`); elsewhere a transaction does."""
    kind = "response_completed"
    if not connection.features.has_select_for_update_skip_locked:
        with transaction.atomic():
            stored = Response.objects.insert(response, accepting_at=accepting_at)
            if stored:
                request_background(survey_id=response.survey_id, kind=kind)
        return stored
    claimed_at = timezone.now()
    stored, entry_id = Outbox.objects.insert_requesting(
        response, accepting_at=accepting_at, kind=kind, claimed_at=claimed_at
    )
    if entry_id is not None:
        transaction.on_commit(lambda: _send(entry_id, claimed_at))
    return stored


def _join_unprocessed(*, survey_id: int, kind: str) -> bool:
    """Lock an unprocessed entry of this survey and kind that nobody else holds; whether one was
    found. Without SKIP LOCKED (SQLite) nothing is joined: the guarantee rests on the row lock."""
    if not connection.features.has_select_for_update_skip_locked:
        return False
    return Outbox.objects.lock_unprocessed(survey_id=survey_id, kind=kind) is not None


def dispatch(entry_id: int) -> bool:
    """Send one pending outbox entry to the broker; never raises (the caller may be a respondent).

    The entry is claimed first, by a conditional update: of dispatchers running at once (the
    beat's catch-up, the command) only one sends it, so the broker gets each request once."""
    claimed_at = timezone.now()
    if not Outbox.objects.pending(claimed_at).filter(pk=entry_id).update(dispatched_at=claimed_at):
        return False  # processed, or another dispatcher has it
    return _send(entry_id, claimed_at)


def _send(entry_id: int, claimed_at) -> bool:
    """Publish a claimed entry; a failed send gives the claim back, so the entry stays pending.
    (A process that dies between claim and send leaves a claim that expires after
    `resend_after()`, and the entry is sent then.)"""
    from surveys.tasks import process_outbox_entry

    try:
        process_outbox_entry.delay(entry_id)
    except Exception as exc:  # broker down, connection refused, timeouts: all the same here
        log.warning("Background request %s not dispatched yet: %s", entry_id, exc)
        Outbox.objects.filter(pk=entry_id, dispatched_at=claimed_at).update(
            dispatched_at=None, last_error=str(exc)[:500]
        )
        return False
    return True


def dispatch_pending(limit: int = 500) -> int:
    """Send every entry not processed yet: never sent, or sent `resend_after()` ago or longer
    (its message may have died with Redis, or its task with the database connection); how many
    were sent. Run by beat every `OUTBOX_SWEEP_SECONDS` and by the `dispatch_pending` command."""
    sent = 0
    for entry_id in Outbox.objects.pending().values_list("id", flat=True)[:limit]:
        sent += dispatch(entry_id)
    return sent
