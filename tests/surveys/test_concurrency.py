"""Real concurrency on PostgreSQL: many threads, each with its own connection, firing together.

SQLite serialises every writer, so these only mean something on PostgreSQL; the suite's
PostgreSQL pass runs them (DATABASE_URL=postgres://...).
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections, transaction
from django.test import Client

from jtbd.models import JobStep
from surveys import flow, importing, ratings, services, submission, tasks, wide_csv
from surveys.fastpath.path import FAST
from surveys.models import DesignCounter, Invitation, Outbox, Response, ResponseStatus, Survey
from tests.factories import JobFactory, add_outcomes

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="real concurrency needs PostgreSQL (SQLite serialises writers); "
        "run with DATABASE_URL=postgres://root@127.0.0.1:5432/opportunity_engine",
    ),
    pytest.mark.django_db(transaction=True),
]

THREADS = 50


@pytest.fixture(autouse=True)
def _no_rate_limit(settings):
    # Hundreds of respondents from the test's one address: the per-address limit would refuse
    # them (tests/security/test_rate_limits.py tests the limit itself).
    settings.RATE_LIMIT_PUBLIC = 0


@pytest.fixture
def survey(workspace) -> Survey:
    """Four outcomes on two steps: a welcome page and two rating pages."""
    job = JobFactory(workspace=workspace, statement="Get a newly purchased tool adopted")
    first, second = JobStep.objects.filter(job=job).order_by("order")[:2]
    add_outcomes(
        job,
        [
            "Minimize the time it takes to find who has not started using the tool",
            "Minimize the likelihood that team members revert to the old way of working",
        ],
        step=first,
    )
    add_outcomes(
        job,
        [
            "Minimize the number of questions the team asks about where to find information",
            "Minimize the time it takes to set up accounts for the whole team",
        ],
        step=second,
    )
    survey = services.create_survey(workspace=workspace, job=job, title="Adoption")
    services.publish_survey(survey=survey)
    survey.refresh_from_db()
    pages = flow.build_pages(survey.current_version.content)
    assert [p.kind for p in pages] == ["welcome", "outcomes", "outcomes"]
    return survey


def run_together(count: int, work: Callable[[int], object]) -> tuple[list, list[str]]:
    """Run work(i) in `count` threads released at once by a barrier; return results, errors."""
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list[str] = []

    def target(i: int) -> None:
        try:
            barrier.wait(timeout=60)
            results[i] = work(i)
        except Exception:
            errors.append(traceback.format_exc())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "threads still running"
    return results, errors


def page_data(pages: list[flow.Page], index: int, answers: dict[str, tuple[int, int]]) -> dict:
    data = {"page": str(index)}
    for code in pages[index].outcome_codes:
        data[f"imp-{code}"], data[f"sat-{code}"] = (str(v) for v in answers[code])
    return data


def answers_for(codes: list[str], seed: int) -> dict[str, tuple[int, int]]:
    # Varied per respondent, never the same answer to everything (no straight-liners).
    return {c: ((seed + j) % 5 + 1, (seed * 3 + 2 * j + 1) % 5 + 1) for j, c in enumerate(codes)}


def test_fifty_simultaneous_final_submits_complete_the_response_once(survey):
    version = survey.current_version
    codes = version.outcome_codes
    pages = flow.build_pages(version.content)
    last = len(pages) - 1
    invitation = Invitation.objects.create(survey=survey, external_id="p-1")
    response = services.response_for_invitation(invitation)
    answers = answers_for(codes, 1)
    for index in range(last):
        result = services.submit_page(
            response_id=response.pk, page_index=index, data=page_data(pages, index, answers)
        )
        assert not result.problems
    final = page_data(pages, last, answers)

    results, errors = run_together(
        THREADS,
        lambda i: services.submit_page(response_id=response.pk, page_index=last, data=final),
    )

    assert errors == []
    assert all(not r.problems for r in results)
    assert all(r.response.status == ResponseStatus.COMPLETED for r in results)
    assert Response.objects.filter(survey=survey).count() == 1
    response.refresh_from_db()
    assert response.status == ResponseStatus.COMPLETED
    assert response.page == len(pages)
    assert ratings.decode_answers(response.ratings, codes) == answers
    assert Outbox.objects.filter(survey=survey, kind="response_completed").count() == 1


def test_fifty_simultaneous_first_visits_create_one_response(survey):
    invitation = Invitation.objects.create(survey=survey, email="first@example.com")

    def visit(i: int) -> int:
        # Each thread loads the invitation itself, as each request would.
        return services.response_for_invitation(Invitation.objects.get(pk=invitation.pk)).pk

    results, errors = run_together(THREADS, visit)

    assert errors == []
    assert Response.objects.filter(survey=survey).count() == 1
    only = Response.objects.get(invitation=invitation)
    assert set(results) == {only.pk}
    assert only.respondent_id == "first@example.com"
    assert only.status == ResponseStatus.IN_PROGRESS


def take_survey(path: str, pages: list[flow.Page], answers: dict) -> list[str]:
    """One respondent through the whole web survey; returns what went wrong, if anything."""
    client = Client()
    wrong = []
    start = client.get(path)
    if start.status_code != 200:
        wrong.append(f"GET {path}: {start.status_code}")
    for index in range(len(pages)):
        page = client.post(path, page_data(pages, index, answers))
        expected = path + ("?done=1" if index == len(pages) - 1 else "")
        if page.status_code != 302 or page["Location"] != expected:
            wrong.append(f"POST page {index}: {page.status_code} {page.get('Location')}")
    thanks = client.get(path + "?done=1")
    if thanks.status_code != 200 or b"Thank you" not in thanks.content:
        wrong.append(f"thank-you page: {thanks.status_code}")
    return wrong


def test_two_hundred_respondents_at_once_are_all_stored_with_their_own_answers(survey):
    version = survey.current_version
    codes = version.outcome_codes
    pages = flow.build_pages(version.content)
    invitations = Invitation.objects.bulk_create(
        Invitation(survey=survey, external_id=f"resp-{i:03d}") for i in range(200)
    )
    go = threading.Event()

    def respondent(i: int) -> list[str]:
        try:
            go.wait(timeout=60)
            return take_survey(invitations[i].path(), pages, answers_for(codes, i))
        except Exception:
            return [traceback.format_exc()]
        finally:
            connections.close_all()

    # Fewer workers than respondents: PostgreSQL allows 100 connections.
    with ThreadPoolExecutor(max_workers=40) as pool:
        futures = [pool.submit(respondent, i) for i in range(200)]
        go.set()
        problems = {i: f.result(timeout=300) for i, f in enumerate(futures)}

    assert {i: p for i, p in problems.items() if p} == {}
    stored = {r.respondent_id: r for r in Response.objects.filter(survey=survey)}
    assert len(stored) == 200
    for i in range(200):
        response = stored[f"resp-{i:03d}"]
        assert response.status == ResponseStatus.COMPLETED
        assert response.invitation_id == invitations[i].pk
        assert ratings.decode_answers(response.ratings, codes) == answers_for(codes, i)
    matrix = ratings.load_matrix(survey, responses=Response.objects.filter(survey=survey))
    assert sorted(matrix.respondent_ids) == sorted(stored)
    completions = Outbox.objects.filter(survey=survey, kind="response_completed")
    # Completions join an unprocessed entry of the survey when one is free (one entry each at
    # most), and every completion's background work (speeder marking) ran, none failed, e.g. on
    # a deadlock.
    assert 1 <= completions.count() <= 200
    assert list(completions.exclude(last_error="").values_list("last_error", flat=True)) == []
    assert completions.filter(processed_at=None).count() == 0


def test_a_final_page_posted_twice_at_once_thanks_both_and_completes_once(survey):
    version = survey.current_version
    codes = version.outcome_codes
    pages = flow.build_pages(version.content)
    last = len(pages) - 1
    rounds = 10
    invitations = [
        Invitation.objects.create(survey=survey, external_id=f"twice-{n}") for n in range(rounds)
    ]
    for n, invitation in enumerate(invitations):
        client = Client()
        for index in range(last):
            page = client.post(invitation.path(), page_data(pages, index, answers_for(codes, n)))
            assert page.status_code == 302
    for n, invitation in enumerate(invitations):
        path = invitation.path()
        final = page_data(pages, last, answers_for(codes, n))
        results, errors = run_together(
            2, lambda i, path=path, final=final: Client().post(path, final)
        )
        assert errors == []
        for page in results:
            if page.status_code == 302:
                assert page["Location"] == path + "?done=1"
            else:
                # The second request arrived after the first had committed: the thanks directly.
                assert page.status_code == 200, page.status_code
                assert b"Thank you" in page.content
        response = Response.objects.get(invitation=invitation)
        assert response.status == ResponseStatus.COMPLETED
        assert ratings.decode_answers(response.ratings, codes) == answers_for(codes, n)
    assert Response.objects.filter(survey=survey).count() == rounds
    assert Outbox.objects.filter(survey=survey, kind="response_completed").count() == rounds


def test_two_simultaneous_imports_of_the_same_file_store_it_once(survey, monkeypatch):
    codes = survey.current_version.outcome_codes
    lines = ["respondent_id," + ",".join(f"imp_{c},sat_{c}" for c in codes)]
    lines += [f"imp-{i}," + ",".join(["3"] * 2 * len(codes)) for i in range(500)]
    data = "\n".join(lines).encode()
    # Validation is slowed down so that, without the survey lock, both imports would read the
    # survey's ids and validate before either stores (the test fails that way without it).
    parse = wide_csv.parse_wide_csv

    def slow_parse(*args, **kwargs):
        parsed = parse(*args, **kwargs)
        time.sleep(1.0)
        return parsed

    monkeypatch.setattr(importing, "parse_wide_csv", slow_parse)
    outcomes: list[str] = []
    raised: list[BaseException] = []

    def run(i: int) -> None:
        try:
            importing.import_responses(
                survey=Survey.objects.get(pk=survey.pk),
                data=data,
                options=wide_csv.ImportOptions(),
            )
            outcomes.append("stored")
        except wide_csv.ResponseImportError as exc:
            outcomes.append("refused: " + exc.report().splitlines()[1])
        except Exception as exc:
            raised.append(exc)

    run_together(2, run)

    if raised:
        raise raised[0]
    assert sorted(outcomes)[-1] == "stored"
    assert "already in this survey" in sorted(outcomes)[0]
    assert Response.objects.filter(survey=survey).count() == 500


# --- Coalesced background requests (services.request_background) ------------------------------


def complete_one(survey: Survey, key: str, seed: int) -> Response:
    codes = survey.current_version.outcome_codes
    answers = {
        "ratings": {
            c: {"importance": i, "satisfaction": s}
            for c, (i, s) in answers_for(codes, seed).items()
        }
    }
    result = submission.submit_response(
        survey=survey, invitation=None, idempotency_key=key, answers=answers, path=FAST
    )
    assert result.created, result
    return result.response


def completed_count(survey_id: int) -> int:
    return Response.objects.filter(survey_id=survey_id, status=ResponseStatus.COMPLETED).count()


def test_a_completion_joining_a_waiting_entry_commits_before_the_entry_is_processed(
    survey, monkeypatch
):
    # Pending, as after a failed publish; the catch-up or a worker may process it any moment.
    entry = Outbox.objects.create(survey=survey, kind="response_completed")
    seen: list[int] = []
    monkeypatch.setitem(
        tasks.HANDLERS, "response_completed", lambda sid: seen.append(completed_count(sid))
    )
    joined, commit = threading.Event(), threading.Event()

    def respondent() -> None:
        try:
            with transaction.atomic():
                complete_one(survey, "joiner", 1)
                joined.set()
                assert commit.wait(timeout=30)
        finally:
            connections.close_all()

    submitting = threading.Thread(target=respondent)
    submitting.start()
    assert joined.wait(timeout=30)
    processing = threading.Thread(
        target=lambda: (tasks.process_outbox_entry(entry.pk), connections.close_all())
    )
    processing.start()
    time.sleep(0.5)
    assert seen == []  # waits for the joining transaction
    commit.set()
    submitting.join(timeout=30)
    processing.join(timeout=30)

    assert seen == [1]  # the processing saw the response
    assert list(Outbox.objects.values_list("id", flat=True)) == [entry.pk]  # nothing new
    entry.refresh_from_db()
    assert entry.processed_at is not None


def test_a_completion_while_the_entry_is_processed_gets_an_entry_of_its_own(survey, monkeypatch):
    entry = Outbox.objects.create(survey=survey, kind="response_completed")
    processing, finish = threading.Event(), threading.Event()
    seen: list[tuple[int, int]] = []

    def handler(survey_id: int) -> None:
        if not processing.is_set():  # the first entry: stays in the middle of processing
            processing.set()
            assert finish.wait(timeout=30)
        seen.append(completed_count(survey_id))

    monkeypatch.setitem(tasks.HANDLERS, "response_completed", handler)
    worker = threading.Thread(
        target=lambda: (tasks.process_outbox_entry(entry.pk), connections.close_all())
    )
    worker.start()
    assert processing.wait(timeout=30)

    started = time.monotonic()
    complete_one(survey, "during", 2)  # tasks run in-process here: its entry is processed now
    assert time.monotonic() - started < 5  # skipped the locked entry, never waited for it
    finish.set()
    worker.join(timeout=30)

    entries = list(Outbox.objects.order_by("id"))
    assert [e.pk == entry.pk for e in entries] == [True, False]
    assert all(e.processed_at is not None for e in entries)
    assert seen == [1, 1]


def test_completions_one_after_another_share_one_waiting_entry_per_survey(survey, workspace):
    other = services.create_survey(workspace=workspace, job=survey.job, title="Other")
    services.publish_survey(survey=other)
    other.refresh_from_db()
    waiting = [Outbox.objects.create(survey=s, kind="response_completed") for s in (survey, other)]
    for n in range(3):
        complete_one(survey, f"first-{n}", n)
        complete_one(other, f"second-{n}", n)
    assert list(Outbox.objects.order_by("id")) == waiting
    assert [e.processed_at for e in waiting] == [None, None]


def test_respondents_arriving_together_keep_a_planned_subset_design_balanced(workspace):
    """Sixty respondents start at once on a design where each rates 3 of 12: every one is
    assigned from the counts the one before left, so no two draw from the same counts."""
    job = JobFactory(workspace=workspace, statement="Get a newly purchased tool adopted")
    step = JobStep.objects.filter(job=job).order_by("order").first()
    add_outcomes(
        job, [f"Minimize the time it takes to finish set-up task {i}" for i in range(12)], step=step
    )
    survey = services.create_survey(workspace=workspace, job=job, title="Planned")
    survey.subset_size, survey.design_seed = 3, 5
    survey.save()
    services.publish_survey(survey=survey)
    count = 60

    results, errors = run_together(
        count, lambda i: Client().post(survey.public_path(), {"page": 0}).status_code
    )

    assert errors == [] and results == [302] * count
    subsets = [
        {c for page in r.shown_order.values() for c in page}
        for r in Response.objects.filter(survey=survey)
    ]
    assert len(subsets) == count and all(len(s) == 3 for s in subsets)
    shown = {code: sum(code in s for s in subsets) for code in survey.current_version.outcome_codes}
    assert set(shown.values()) == {count * 3 // 12}, shown  # 15 each: exactly balanced
    counter = DesignCounter.objects.get(survey=survey)
    assert counter.assigned == count and counter.counts == shown
