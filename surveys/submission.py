"""A whole response submitted as JSON in one request (surveys embedded in other tools).

The answers are judged by the same rules as the web survey: the JSON is turned into the web
form's field names and every page of the version is read with `flow.read_page`. The database's
unique constraints (one response per invitation, per idempotency key) make a repeated submission
return the first response instead of storing a second.

How the version is read, the answers read and the row stored is the submission path's
(`SubmissionPath`): the fast path (surveys/fastpath/) or the plain reference path beside it,
held equal by tests/surveys/test_fastpath.py. What is decided, and answered, is here, once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from surveys import flow, ratings, services, versions
from surveys.models import (
    Invitation,
    Response,
    ResponseSource,
    ResponseStatus,
    Survey,
)


@dataclass
class Submission:
    response: Response | None
    created: bool = False
    problems: list[flow.Problem] = field(default_factory=list)
    conflict: str = ""  # why an existing response blocks this submission, if one does
    closed: bool = False  # the survey accepts no answers now
    # Nothing stored: the survey no longer accepts answers with the version it was given with
    # (closed, republished or deleted since the caller read it). Read it again and resubmit.
    stale: bool = False


def _text(value: object) -> str:
    """A JSON scalar as the web form would have sent it; anything else reads as unanswered,
    or as a value the survey's rules refuse."""
    if type(value) is int:  # the common case, a rating, first (a bool's type is bool, not int)
        return str(value)
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, int | float | str):
        return str(value)
    return "?"  # a list or object where one number belongs: never a valid answer


def form_data(
    content: Mapping, answers: object, codes: frozenset[str] | None = None
) -> tuple[dict[str, object], list[flow.Problem]]:
    """The web form's fields for JSON answers, and problems the pages cannot see (answers to
    outcomes or questions the version does not have). `codes`: the version's outcome codes, if
    the caller has them as a set already."""
    if not isinstance(answers, Mapping):
        return {}, [flow.Problem("answers", "Send the answers as an object.")]
    data: dict[str, object] = {}
    problems: list[flow.Problem] = []
    if codes is None:
        codes = frozenset(content["outcome_codes"])
    given = answers.get("ratings") or {}
    if not isinstance(given, Mapping):
        problems.append(flow.Problem("ratings", "Send the ratings as an object keyed by code."))
        given = {}
    for code, rating in given.items():
        if code not in codes:
            problems.append(flow.Problem(f"ratings.{code}", "Not an outcome of this survey."))
            continue
        # JSON's own dict tested first: the Mapping check alone is slow, once per outcome.
        if type(rating) is not dict and not isinstance(rating, Mapping):
            rating = {}
        data[f"imp-{code}"] = _text(rating.get("importance"))
        data[f"sat-{code}"] = _text(rating.get("satisfaction"))
    questions = {q["key"]: q for q in content.get("questions", [])}
    profile = answers.get("profile") or {}
    if not isinstance(profile, Mapping):
        problems.append(flow.Problem("profile", "Send the profile as an object keyed by question."))
        profile = {}
    for key, value in profile.items():
        question = questions.get(key)
        name = f"q-{key}"
        if question is None:
            problems.append(flow.Problem(f"profile.{key}", "Not a question of this survey."))
        elif question["kind"] == "multiple":
            chosen = [_text(v) for v in (value if isinstance(value, list) else [value])]
            # The web form cannot send an answer it does not offer; JSON can, so say so.
            unknown = [v for v in chosen if v and v not in question["options"]]
            if unknown:
                problems.append(flow.Problem(name, f"Not among the answers: {', '.join(unknown)}"))
            data[name] = chosen
        elif isinstance(value, list | Mapping):
            problems.append(flow.Problem(name, f"Give one answer: “{question['text']}”"))
        else:
            data[name] = _text(value)
    solution = answers.get("current_solution")
    if content.get("current_solution") and solution is not None:
        text = _text(solution).strip()
        options = content["current_solution"]["options"]
        if text in options:
            data["current_solution"] = text
        else:
            # Anything but one of the listed answers is the web form's "Something else".
            data["current_solution"] = "__other__" if options and text else ""
            data["current_solution_other"] = text
    for name in ("nps", "ces", "attention"):
        data[name] = _text(answers.get(name))
    data["consent"] = "yes" if answers.get("consent") is True else ""
    return data, problems


@dataclass
class ReadAnswers:
    answers: flow.PageAnswers = field(default_factory=flow.PageAnswers)
    problems: list[flow.Problem] = field(default_factory=list)
    pages: list[flow.Page] = field(default_factory=list)
    screened_out: bool = False


def read_answers(
    content: Mapping,
    data: Mapping,
    pages: Sequence[flow.Page] | None = None,
    ratings: Mapping[str, tuple[int, int]] | None = None,
) -> ReadAnswers:
    """Every page read as if submitted one after another; a screener that ends the survey
    ends the reading there, as it ends the web survey. `pages`: the version's pages, if the
    caller has them already. `ratings`: every outcome's ratings, already known to be valid
    (`complete_ratings`); `data` then holds the other answers only."""
    result = ReadAnswers(pages=list(pages) if pages is not None else flow.build_pages(content))
    merged = result.answers
    for page in result.pages:
        if ratings is not None and page.kind == "outcomes":
            merged.ratings.update((code, ratings[code]) for code in page.outcome_codes)
            if not page.attention:
                continue
            page = replace(page, outcome_codes=())  # only its check question is left to read
        answers, problems = flow.read_page(page, content, data)
        result.problems += problems
        merged.ratings.update(answers.ratings)
        merged.profile.update(answers.profile)
        for name in ("current_solution", "nps", "ces", "attention_passed"):
            if getattr(answers, name) is not None:
                setattr(merged, name, getattr(answers, name))
        if answers.screened_out:
            result.screened_out = True
            break
    return result


def shown(
    published: versions.PublishedVersion, answers: object
) -> tuple[frozenset[str], Sequence[flow.Page], list[flow.Problem]]:
    """The outcomes this submission was asked, its pages, and problems with the subset.

    Without a planned-subset design: every outcome and the version's pages. Under one, the
    respondent was asked the outcomes the submission rates, which must be the core outcomes and
    K in all (unless a screener ends it first); the others are stored as not shown by design.
    The client chose the subset (`POST .../assignment/` hands out balanced ones), so it does not
    move the design's counts."""
    design = published.content.get("design")
    if not design:
        return published.codes, published.pages, []
    given = answers.get("ratings") if isinstance(answers, Mapping) else None
    rated = (
        frozenset(c for c in given if c in published.codes)
        if isinstance(given, Mapping)
        else frozenset()
    )
    problems = []
    missing = [code for code in design["core"] if code not in rated]
    if missing:
        problems.append(
            flow.Problem(
                "ratings", f"Rate the outcomes every respondent rates: {', '.join(missing)}."
            )
        )
    if len(rated) != design["k"]:
        problems.append(
            flow.Problem(
                "ratings",
                f"Each respondent of this survey rates {design['k']} of its "
                f"{len(published.codes)} outcomes (a planned subset); these answers rate "
                f"{len(rated)}.",
            )
        )
    return rated, flow.build_pages(published.content, subset=rated), problems


def _unshown(version, read: ReadAnswers) -> dict[str, tuple[int, int]]:
    """The outcomes a planned subset left out of this submission, as stored."""
    if not version.content.get("design"):
        return {}
    asked = {code for page in read.pages for code in page.outcome_codes}
    gone = (ratings.NOT_SHOWN, ratings.NOT_SHOWN)
    return {code: gone for code in version.outcome_codes if code not in asked}


class SubmissionPath(Protocol):
    """How a submission is read and stored: the mechanics, not the rules."""

    def published(self, survey: Survey) -> versions.PublishedVersion:
        """The survey's current version, parsed."""
        ...

    def read(self, published: versions.PublishedVersion, answers: object) -> ReadAnswers:
        """JSON answers read by the web survey's rules; `problems` lists every problem,
        including answers to outcomes or questions the version does not have."""
        ...

    def store(self, response: Response, *, accepting_at: datetime) -> bool:
        """Store a new response (and, if completed, request the work a completion needs)
        only while its survey accepts answers at `accepting_at` with its version; whether it
        was stored. Raises IntegrityError when a unique constraint refuses it."""
        ...


def _existing(
    survey: Survey, invitation: Invitation | None, idempotency_key: str | None
) -> Response | None:
    match = Q(invitation=invitation) if invitation else Q(pk__in=[])
    if idempotency_key:
        match |= Q(survey=survey, idempotency_key=idempotency_key)
    return Response.objects.filter(match).order_by("id").first()


def _replay(existing: Response) -> Submission:
    if existing.source != ResponseSource.API:
        return Submission(existing, conflict="This invitation was already used on the web survey.")
    return Submission(existing)


def submit_response(
    *,
    survey: Survey,
    invitation: Invitation | None,
    idempotency_key: str | None,
    answers: object,
    path: SubmissionPath,
    now: datetime | None = None,
) -> Submission:
    """Store one complete response, or return the one this invitation or key already stored.

    Problems: nothing is stored and `problems` lists every one, with the web form's field
    names (`imp-CODE`, `q-KEY`, `nps`, …) so clients can point at the question. `survey` may be
    a reading kept from earlier (`versions.kept_target`): the statement that stores the
    response checks that the survey still accepts answers with that version, and `stale` says
    when it did not (nothing stored)."""
    now = now or timezone.now()
    # A first submission, the common case, is stored without looking for an earlier one first:
    # the unique constraints find a repeat (see the IntegrityError below). A repeat that would
    # be refused on its own (survey closed since, answers the rules refuse) still learns what
    # became of its first attempt.
    if not survey.is_accepting(now):
        existing = _existing(survey, invitation, idempotency_key)
        return _replay(existing) if existing is not None else Submission(None, closed=True)
    published = path.published(survey)
    version = published.version
    read = path.read(published, answers)
    if read.problems:
        existing = _existing(survey, invitation, idempotency_key)
        if existing is not None:
            return _replay(existing)
        return Submission(None, problems=read.problems)
    codes = version.outcome_codes
    response = Response(
        survey=survey,
        version=version,
        invitation=invitation,
        idempotency_key=idempotency_key or None,
        respondent_id=(invitation.respondent_id if invitation else f"api-{idempotency_key}"[:200]),
        source=ResponseSource.API,
        status=ResponseStatus.SCREENED_OUT if read.screened_out else ResponseStatus.COMPLETED,
        page=len(read.pages),
        ratings=ratings.encode_answers(codes, {**_unshown(version, read), **read.answers.ratings}),
        profile=read.answers.profile,
        current_solution=read.answers.current_solution or "",
        nps=read.answers.nps,
        ces=read.answers.ces,
        attention_passed=read.answers.attention_passed,
        started_at=now,
        page_started_at=now,
        completed_at=now,
        duration_seconds=None,  # unknown: the answers were collected elsewhere
    )
    if response.status == ResponseStatus.COMPLETED:
        response.flags = services.own_flags(response, read.pages)
    try:
        # Each insert is one statement, its own transaction. Inside a caller's transaction a
        # savepoint keeps a refused insert (a repeat) from spoiling the rest of it.
        with transaction.atomic() if connection.in_atomic_block else nullcontext():
            stored = path.store(response, accepting_at=now)
    except IntegrityError:
        # A concurrent submission with the same invitation or key won the insert.
        existing = _existing(survey, invitation, idempotency_key)
        if existing is not None:
            return _replay(existing)
        return Submission(
            None,
            conflict=f"The respondent id {response.respondent_id!r} is already taken in this "
            "survey, or the survey was deleted meanwhile.",
        )
    if not stored:
        return Submission(None, stale=True)
    return Submission(response, created=True)


def answer(
    survey: Survey | None, values: dict, malformed: list[dict], path: SubmissionPath
) -> tuple[Submission | None, int, dict]:
    """What the public API answers to one submission on one reading of the survey: (the
    submission, if one was attempted; the HTTP status; the JSON body). `values` and
    `malformed`: the body's fields as PublicSubmissionSerializer reads them, or its problems
    as `{"field", "message"}`."""
    if survey is None or survey.current_version_id is None:
        return None, 404, {"detail": "No published survey has this link."}
    if malformed:
        return None, 400, {"detail": "The submission is malformed.", "problems": malformed}
    invitation = None
    if token := values.get("invitation"):
        invitation = Invitation.objects.filter(token=token, survey=survey).first()
        if invitation is None:
            problem = {"field": "invitation", "message": "No such invitation to this survey."}
            return None, 400, {"detail": "The submission is malformed.", "problems": [problem]}
    result = submit_response(
        survey=survey,
        invitation=invitation,
        idempotency_key=values.get("idempotency_key"),
        answers=values["answers"],
        path=path,
    )
    if result.problems:
        problems = [{"field": p.field, "message": p.message} for p in result.problems]
        return (
            result,
            400,
            {"detail": f"{len(problems)} answer(s) need attention.", "problems": problems},
        )
    if result.closed:
        return result, 410, {"detail": "This survey is closed."}
    if result.conflict:
        return result, 409, {"detail": result.conflict}
    if result.stale:  # on a reading just made: it changed again meanwhile
        return (
            result,
            409,
            {"detail": "The survey changed while this response was stored. Send it again."},
        )
    response = result.response
    assert response is not None  # no problem, conflict or closed survey: it was stored
    body = {"id": response.pk, "status": response.status, "respondent_id": response.respondent_id}
    return result, 201 if result.created else 200, body
