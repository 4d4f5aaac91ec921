"""The public submission's fast path and its plain reference path (surveys/fastpath/) answer every
submission alike: the same HTTP status, the same body and the same stored rows, for valid and
invalid submissions, repeats under one idempotency key or invitation, and closed surveys. Runs on
SQLite and, with DATABASE_URL set, on PostgreSQL, where the fast path's statements differ (one
INSERT joined with the outbox request, on a cursor that prepares it)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import transaction
from django.test import Client, override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surveys import services, versions
from surveys.models import Invitation, Outbox, Question, Response, Survey, SurveyStatus
from tests.factories import JobFactory, WorkspaceFactory, add_outcomes

pytestmark = pytest.mark.django_db

CODES_WANTED = 3


@pytest.fixture
def survey() -> Survey:
    """Three outcomes, a free-text and a multiple-choice profile question, a screener, "what do
    you use today", NPS and an attention check: every kind of answer the API takes."""
    job = JobFactory(workspace=WorkspaceFactory())
    add_outcomes(job, [f"Minimize the time it takes to do thing {i}" for i in range(3)])
    survey = services.create_survey(workspace=job.workspace, job=job, title="Adoption")
    Survey.objects.filter(pk=survey.pk).update(
        ask_current_solution=True,
        current_solution_options=["Email", "Wiki"],
        ask_nps=True,
        attention_check=True,
    )
    Question.objects.create(survey=survey, key="role", kind="text", text="Your role?", order=1)
    Question.objects.create(
        survey=survey, key="tools", kind="multiple", text="Tools?", options=["A", "B"], order=2
    )
    Question.objects.create(
        survey=survey,
        key="uses",
        kind="single",
        text="Do you use it?",
        options=["Yes", "No"],
        screener=True,
        disqualifying=["No"],
        order=3,
    )
    survey.refresh_from_db()
    services.publish_survey(survey=survey)
    survey.refresh_from_db()
    Invitation.objects.create(survey=survey, external_id="person-1")
    started = Invitation.objects.create(survey=survey, email="ann@example.com")
    # Started on the web survey: the API refuses it (409).
    assert Client().post(started.path(), {"page": "0"}).status_code == 302
    versions.clear()
    return survey


rating = st.one_of(
    st.integers(1, 5),  # nearly always
    st.integers(1, 5),
    st.sampled_from([0, 6, -1, 2.5, "3", True, None, [], {}]),
)
text = st.one_of(
    st.sampled_from(["Lead", "Email", "Wiki", "", "  Wiki  ", "Ünïcødé 😀", "a" * 250]),
    st.text(max_size=12),
)
keys = st.sampled_from(["k1", "k2", " k1 ", "ключ-😀", "", "x" * 197, None, 7])


@st.composite
def valid_answers(draw: st.DrawFn, codes: list[str]) -> dict:
    """Answers the survey accepts (a screener answer of "No" screens the respondent out)."""
    return {
        "ratings": {
            c: {"importance": draw(st.integers(1, 5)), "satisfaction": draw(st.integers(1, 5))}
            for c in codes
        },
        "profile": {
            "role": draw(st.text(min_size=1, max_size=20).filter(str.strip)),
            "tools": draw(st.lists(st.sampled_from(["A", "B"]), unique=True)),
            "uses": draw(st.sampled_from(["Yes", "Yes", "No"])),
        },
        "current_solution": draw(st.sampled_from(["Email", "Wiki", "Sheets ✓", ""])),
        "nps": draw(st.integers(0, 10)),
        "attention": draw(st.integers(1, 5)),
        "consent": True,
    }


@st.composite
def answers(draw: st.DrawFn, codes: list[str]) -> object:
    """Valid answers, valid answers with one thing spoilt, or anything at all."""
    kind = draw(st.sampled_from(["valid", "valid", "bad-rating", "spoilt", "any"]))
    if kind != "any":
        valid = draw(valid_answers(codes))
        if kind == "bad-rating":  # one number out of range or of the wrong type
            which = valid["ratings"][draw(st.sampled_from(codes))]
            which[draw(st.sampled_from(["importance", "satisfaction"]))] = draw(
                st.sampled_from([0, 6, -1, 2.5, 3.0, "3", True, None, [4]])
            )
        if kind == "spoilt":
            spoilt = draw(answers_any(codes))
            if isinstance(spoilt, dict) and spoilt:
                name = draw(st.sampled_from(sorted(spoilt)))
                valid[name] = spoilt[name]
            else:
                valid.pop(draw(st.sampled_from(sorted(valid))))
        return valid
    return draw(answers_any(codes))


@st.composite
def answers_any(draw: st.DrawFn, codes: list[str]) -> object:
    if draw(st.integers(0, 19)) == 0:  # not an object at all
        return draw(st.sampled_from([None, [], "answers", 3]))
    rated = (
        draw(st.lists(st.sampled_from([*codes, "NOPE"]), unique=True))
        if draw(st.booleans()) is False
        else list(codes)
    )
    out: dict[str, Any] = {
        "ratings": {
            c: draw(
                st.fixed_dictionaries(
                    {},
                    optional={"importance": rating, "satisfaction": rating, "extra": rating},
                )
                if draw(st.integers(0, 4)) == 0
                else st.fixed_dictionaries({"importance": rating, "satisfaction": rating})
            )
            for c in rated
        }
    }
    profile = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "role": text,
                "tools": st.one_of(st.lists(st.sampled_from(["A", "B", "C"])), text),
                "uses": st.sampled_from(["Yes", "No", "Maybe", ["Yes"]]),
                "unknown": text,
            },
        )
    )
    if profile or draw(st.booleans()):
        out["profile"] = profile
    optional = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "current_solution": text,
                "nps": st.one_of(st.integers(-1, 11), st.sampled_from(["7", None])),
                "attention": rating,
                "consent": st.sampled_from([True, False, "yes"]),
                "extra_key": text,
            },
        )
    )
    return {**out, **optional}


@st.composite
def submissions(draw: st.DrawFn, codes: list[str], tokens: list[str]) -> list[dict]:
    """One to three requests: a repeat under one key or invitation is the common case."""
    sent: list[dict] = []
    for _ in range(draw(st.integers(1, 3))):
        body: Any = {"answers": draw(answers(codes))}
        previous = sent[-1]["body"] if sent and isinstance(sent[-1]["body"], dict) else None
        if previous is not None and draw(st.booleans()):
            # A repeat of the previous request's key and invitation, with other answers.
            body.update(
                {k: previous[k] for k in ("idempotency_key", "invitation") if k in previous}
            )
        else:
            if (key := draw(keys)) is not None:
                body["idempotency_key"] = key
            if draw(st.integers(0, 2)) == 0:
                body["invitation"] = draw(st.sampled_from([*tokens, "no-such-token", ""]))
        if draw(st.integers(0, 29)) == 0:
            body = draw(st.sampled_from([[body], None, "text"]))
        sent.append(
            {
                "body": body,
                "query": draw(st.sampled_from(["", "", "?format=json"])),
                "accept": draw(st.sampled_from(["application/json", "*/*", None])),
            }
        )
    return sent


VALID = {
    "ratings": {},  # filled in by the test: every outcome rated
    "profile": {"role": "Lead", "tools": ["A"], "uses": "Yes"},
    "current_solution": "Email",
    "nps": 7,
    "attention": 4,
    "consent": True,
}


def send(survey: Survey, request: dict) -> tuple[int, str, object]:
    url = f"/api/public/surveys/{survey.public_token}/responses/{request['query']}"
    headers = {"HTTP_ACCEPT": request["accept"]} if request["accept"] else {}
    reply = Client().post(
        url, json.dumps(request["body"]), content_type="application/json", **headers
    )
    return reply.status_code, reply["Content-Type"], json.loads(reply.content)


RESPONSE_FIELDS = (
    *("id", "invitation_id", "idempotency_key", "respondent_id", "source", "status", "page"),
    *("ratings", "profile", "current_solution", "nps", "ces", "attention_passed", "flags"),
    *("include_override", "shown_order", "page_seconds", "duration_seconds", "browser_key"),
    *("survey_id", "version_id", "completed_at"),
)


def stored() -> list[list]:
    """The rows a submission writes, without what differs by when or in which order they were
    written (times, ids, which the answers replace by their order of creation)."""
    # Every column but the two times the request sets to now (NOT NULL, so always set).
    columns = {f.attname for f in Response._meta.concrete_fields}
    assert columns - set(RESPONSE_FIELDS) == {"started_at", "page_started_at"}
    responses = list(Response.objects.order_by("id").values(*RESPONSE_FIELDS))
    for row in responses:
        row["ratings"] = bytes(row["ratings"])
        row["completed_at"] = row["completed_at"] is not None
    entries = [
        (*row[:-1], row[-1] is not None)  # claimed for dispatch after commit, or not
        for row in Outbox.objects.order_by("id").values_list(
            "survey_id", "kind", "processed_at", "attempts", "last_error", "dispatched_at"
        )
    ]
    return [responses, entries]


def run(path: str, survey: Survey, requests: list[dict]) -> tuple[list, list]:
    """Every request through one path, then the rows; all of it rolled back afterwards."""
    with override_settings(PUBLIC_SUBMISSION_PATH=path), transaction.atomic():
        first_id = (Response.objects.order_by("-id").values_list("id", flat=True).first()) or 0
        answers = [send(survey, r) for r in requests]
        rows = stored()
        transaction.set_rollback(True)
    # Ids as their order of creation: sequences do not roll back on PostgreSQL.
    order = {row["id"]: n for n, row in enumerate(rows[0]) if row["id"] > first_id}
    for row in rows[0]:
        row["id"] = order.get(row["id"], row["id"])
    for _, _, body in answers:
        if isinstance(body, dict) and "id" in body:
            body["id"] = order.get(body["id"], body["id"])
    return answers, rows


@pytest.mark.parametrize("state", ["open", "closed"])
def test_the_fast_and_the_reference_path_answer_and_store_every_submission_alike(
    survey, settings_override, state
):
    codes = list(survey.current_version.outcome_codes)
    VALID["ratings"] = {c: {"importance": 4, "satisfaction": 2} for c in codes}
    tokens = list(Invitation.objects.values_list("token", flat=True))
    if state == "closed":
        # One response stored before it closed: a repeat of it is answered, not refused.
        first = {"body": {"idempotency_key": "k1", "answers": VALID}, "query": "", "accept": None}
        assert send(survey, first)[0] == 201, send(survey, first)
        Survey.objects.filter(pk=survey.pk).update(status=SurveyStatus.CLOSED)
    answered: set[int] = set()

    @settings(
        max_examples=80,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        derandomize=True,
    )
    @given(submissions(codes, tokens))
    def check(requests: list[dict]) -> None:
        fast = run("fast", survey, requests)
        reference = run("reference", survey, requests)
        assert fast == reference
        answered.update(status for status, _, _ in fast[0])

    check()
    # The examples reached the outcomes that matter, not only refusals.
    assert answered >= ({201, 200, 400, 409} if state == "open" else {200, 410})


@pytest.fixture
def settings_override(settings):
    settings.RATE_LIMIT_PUBLIC = 0  # hundreds of requests from one address
    return settings
