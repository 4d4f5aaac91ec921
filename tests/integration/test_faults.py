"""Faults injected for real while respondents answer through gunicorn.

- Redis killed while respondents submit: every answer is stored and acknowledged; the analysis
  requests wait in the outbox, coalesced per survey, and reach the restarted broker exactly once;
  their processing sees every response.
- A PostgreSQL backend terminated in the middle of a final submit (and an idle persistent one
  terminated between requests): a clean 503 with Retry-After, nothing half-stored, the retry works.
- 200 respondents at once, some of them submitting the final page several times at once or
  through the JSON API as well: one response each, with the answers they sent, no 5xx.

Skipped unless the suite runs on PostgreSQL (DATABASE_URL=postgres://…): gunicorn and the Celery
worker are separate processes that share pytest-django's test database (committed data, hence
transaction=True). Each test starts its own gunicorn (and redis-server) and stops them in
`finally` blocks; the shared Redis is never touched.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import threading
import time
import traceback
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pytest
from django.conf import settings
from django.db import connections
from django.utils import timezone

from jtbd.models import JobStep
from surveys import flow, ratings, services
from surveys.models import Invitation, Outbox, Question, Response, ResponseStatus, Survey
from tests.factories import JobFactory, WorkspaceFactory, add_outcomes
from tests.integration.servers import (
    APP_NAME,
    BIN,
    NEEDS_REDIS_SERVER,
    SHARES_POSTGRES,
    Browser,
    Gunicorn,
    Process,
    RedisServer,
    Reply,
    app_env,
    fill_form,
    pg_connect,
    read_form,
    stopped_after,
    wait_for,
)

pytestmark = SHARES_POSTGRES

ROLES = ["Team lead", "Manager", "Individual contributor"]
PAGE_OF = re.compile(r"Page (\d+) of (\d+)")
T = TypeVar("T")


def make_survey(outcomes: int, invitations: int) -> tuple[Survey, list[Invitation]]:
    """A published survey: welcome, one profile question, `outcomes` outcomes on one step."""
    job = JobFactory(workspace=WorkspaceFactory(), statement="Get a newly purchased tool adopted")
    step = JobStep.objects.filter(job=job).order_by("order").first()
    statements = [
        f"Minimize the time it takes to finish adoption task number {i}" for i in range(outcomes)
    ]
    add_outcomes(job, statements, step=step)
    survey = services.create_survey(workspace=job.workspace, job=job, title="Adoption")
    Question.objects.create(
        survey=survey, key="role", kind="single", text="Your role?", options=ROLES, order=1
    )
    services.publish_survey(survey=survey)
    survey.refresh_from_db()
    invites = Invitation.objects.bulk_create(
        Invitation(survey=survey, external_id=f"resp-{i:03d}") for i in range(invitations)
    )
    return survey, invites


def rating(seed: int, name: str) -> int:
    """The answer respondent `seed` gives to field `name`: varied, reproducible."""
    return zlib.crc32(f"{seed}:{name}".encode()) % 5 + 1


def expected_answers(seed: int, codes: list[str]) -> dict[str, tuple[int, int]]:
    return {c: (rating(seed, f"imp-{c}"), rating(seed, f"sat-{c}")) for c in codes}


def chooser(seed: int) -> Callable[[str, list[str]], str]:
    def choose(name: str, values: list[str]) -> str:
        if name.startswith(("imp-", "sat-")):
            return str(rating(seed, name))
        return values[seed % len(values)]

    return choose


class Respondent:
    """One person taking the web survey through their invitation link."""

    def __init__(self, port: int, invitation: Invitation, seed: int) -> None:
        self.browser = Browser(port)
        self.path = invitation.path()
        self.token = invitation.token
        self.seed = seed
        self.replies: list[Reply] = []

    def _record(self, reply: Reply) -> Reply:
        self.replies.append(reply)
        return reply

    def open(self) -> Reply:
        return self._record(self.browser.get(self.path))

    def answer_until_final(self) -> tuple[list[tuple[str, str]], str]:
        """Answer every page but the last; return the last page's filled form and its HTML."""
        page = self.open()
        while True:
            assert page.status == 200, (page.status, page.text[:500])
            number, count = (int(x) for x in PAGE_OF.search(page.text).groups())
            fields = fill_form(read_form(page.text), chooser(self.seed))
            if number == count:
                return fields, page.text
            sent = self._record(self.browser.post_form(self.path, fields))
            assert (sent.status, sent.location) == (302, self.path), (sent.status, sent.text[:500])
            page = self._record(self.browser.get(self.path))

    def submit(self, fields: list[tuple[str, str]]) -> Reply:
        return self._record(self.browser.post_form(self.path, fields))

    def json_body(self, codes: list[str], idempotency_key: str | None = None) -> bytes:
        answers = {
            "ratings": {
                c: {"importance": i, "satisfaction": s}
                for c, (i, s) in expected_answers(self.seed, codes).items()
            },
            "profile": {"role": ROLES[self.seed % len(ROLES)]},
        }
        body: dict[str, object] = {"invitation": self.token, "answers": answers}
        if idempotency_key:
            body["idempotency_key"] = idempotency_key
        return json.dumps(body).encode()


def finished(reply: Reply, path: str) -> bool:
    """A final submit's answer: the redirect to the thanks, or the thanks page itself."""
    if reply.status == 302:
        return reply.location == path + "?done=1"
    return reply.status == 200 and "<h1>Thank you</h1>" in reply.text


def together(calls: list[Callable[[], T]]) -> list[T]:
    """Run the calls in threads released at the same moment; raise if any of them raised."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)
    errors: list[str] = []

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=60)
            results[i] = calls[i]()
        except Exception:
            errors.append(traceback.format_exc())
        finally:
            connections.close_all()  # a thread's own database connection, if it opened one

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    assert not any(t.is_alive() for t in threads), "calls still running"
    assert errors == [], "\n".join(errors)
    return results


def stored_answers(response: Response) -> dict[str, tuple[int | None, int | None]]:
    return ratings.decode_answers(response.ratings, response.version.outcome_codes)


# --- 1. Redis killed while respondents submit --------------------------------------------------


def queued_messages(redis_server: RedisServer, queue: str = "celery") -> list[tuple[str, list]]:
    """(task name, args) of every message waiting in the queue, decoded from kombu's JSON."""
    messages = []
    for raw in redis_server.client().lrange(queue, 0, -1):
        envelope = json.loads(raw)
        assert envelope["properties"]["body_encoding"] == "base64"
        args, _kwargs, _embed = json.loads(base64.b64decode(envelope["body"]))
        messages.append((envelope["headers"]["task"], args))
    return messages


def point_celery_at(url: str | None) -> None:
    """This test process publishes to `url` (None: back to in-process tasks)."""
    from config.celery import app

    app.conf.task_always_eager = url is None
    app.conf.broker_url = url or "memory://"
    app._pool = None
    app.amqp._producer_pool = None


@NEEDS_REDIS_SERVER
@pytest.mark.timeout(240)
def test_respondents_finish_while_redis_is_killed_and_each_request_reaches_it_once_later(
    tmp_path,
):
    n_down, n_other = 12, 4
    survey, invitations = make_survey(outcomes=20, invitations=n_down + 4)
    other, other_invitations = make_survey(outcomes=8, invitations=n_other)
    fresh, (fresh_invitation,) = make_survey(outcomes=8, invitations=1)
    codes = survey.current_version.outcome_codes
    broker = RedisServer(tmp_path)
    processes: list[Process] = [broker]
    workers, threads = 2, 2
    with stopped_after(processes):
        server = Gunicorn(tmp_path, workers=workers, threads=threads, REDIS_URL=broker.url)
        processes.append(server)
        people = [Respondent(server.port, inv, i) for i, inv in enumerate(invitations)]
        others = [Respondent(server.port, inv, 50 + i) for i, inv in enumerate(other_invitations)]

        # With Redis up, two respondents finish: their requests are published at once (and so
        # the app's workers hold pooled connections that the kill will break). Each request is
        # taken and processed before the next completion, as a worker would, so neither joins
        # the other's entry.
        for person in people[:2]:
            fields, _ = person.answer_until_final()
            assert finished(person.submit(fields), person.path)
            before = queued_messages(broker)
            assert len(before) == 1
            broker.client().delete("celery")
            Outbox.objects.filter(pk=before[0][1][0]).update(processed_at=timezone.now())
        sent_before = sorted(Outbox.objects.values_list("id", flat=True))
        assert len(sent_before) == 2

        down = people[2 : 2 + n_down]
        finals = [person.answer_until_final()[0] for person in down]
        other_finals = [person.answer_until_final()[0] for person in others]
        broker.stop(signal.SIGKILL)
        assert broker.proc.returncode == -signal.SIGKILL and not broker.answers()

        replies = together(
            [lambda p=p, f=f: p.submit(f) for p, f in zip(down, finals, strict=True)]
        )
        slowest = max(r.seconds for r in replies)
        print(f"\nfinal submits with Redis killed: slowest {slowest:.2f} s of {len(replies)}")
        assert [finished(r, p.path) for r, p in zip(replies, down, strict=True)] == [True] * n_down
        # Bounded by the broker's connect timeout, not by how long Redis stays away.
        assert slowest < 2 * settings.CELERY_BROKER_CONNECTION_TIMEOUT + 3
        for person in down:
            response = Response.objects.get(invitation__token=person.token)
            assert response.status == ResponseStatus.COMPLETED
            assert stored_answers(response) == expected_answers(person.seed, codes)
        # Completions join a survey's unprocessed entry rather than each writing (and trying to
        # publish) their own; only completions committing at the same moment, at most one per
        # gunicorn thread, can each find every existing entry taken and write another.
        waiting = Outbox.objects.filter(survey=survey, dispatched_at=None, processed_at=None)
        assert 1 <= waiting.count() <= workers * threads
        assert all(e.last_error for e in waiting)
        # Another survey's respondents, one after another: one pending entry for all of them.
        for person, fields in zip(others, other_finals, strict=True):
            assert finished(person.submit(fields), person.path)
        (other_entry,) = Outbox.objects.filter(survey=other)
        assert other_entry.dispatched_at is None and other_entry.last_error
        waiting_ids = sorted([*waiting.values_list("id", flat=True), other_entry.pk])
        assert not Outbox.objects.exclude(pk__in=[*waiting_ids, *sent_before]).exists()

        broker = RedisServer(tmp_path, port=broker.port)  # back, empty, on the same port
        processes.append(broker)
        point_celery_at(broker.url)
        try:
            # The beat's periodic catch-up and an operator's manual run, overlapping.
            from surveys.tasks import dispatch_pending_outbox

            runs = together([lambda: dispatch_pending_outbox()] * 2)
        finally:
            point_celery_at(None)
        assert sum(runs) == len(waiting_ids)
        messages = queued_messages(broker)
        assert {name for name, _ in messages} == {"surveys.tasks.process_outbox_entry"}
        assert sorted(args[0] for _, args in messages) == waiting_ids  # none lost, none twice
        assert not Outbox.objects.pending().exists()

        # The app's own broker connections recover too: the next completion of a survey with
        # no unprocessed entry goes straight out.
        late = Respondent(server.port, fresh_invitation, 99)
        fields, _ = late.answer_until_final()
        assert finished(late.submit(fields), late.path)
        late_entry = Outbox.objects.get(survey=fresh)
        assert late_entry.dispatched_at is not None
        assert sorted(a[0] for _, a in queued_messages(broker)) == [*waiting_ids, late_entry.pk]
        # A completion of a survey whose entry waits for a worker joins it: nothing more is sent.
        joining = people[2 + n_down]
        fields, _ = joining.answer_until_final()
        assert finished(joining.submit(fields), joining.path)
        assert Outbox.objects.count() == len(sent_before) + len(waiting_ids) + 1
        assert len(queued_messages(broker)) == len(waiting_ids) + 1

        # A real worker processes every request once.
        worker = Process(
            "celery worker",
            [
                *(str(BIN / "celery"), "-A", "config", "worker", "--pool=solo", "-Q", "celery"),
                *("--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "INFO"),
            ],
            tmp_path / "worker.log",
            app_env(REDIS_URL=broker.url, DB_CONN_MAX_AGE="0"),
        )
        processes.append(worker)
        done = Outbox.objects.filter(
            pk__in=[*waiting_ids, late_entry.pk], processed_at__isnull=False
        )
        wait_for(lambda: done.count() == len(waiting_ids) + 1, 120, "the worker", worker.log())
        assert set(done.values_list("attempts", flat=True)) == {1}
        # Every response was committed before the worker started: each survey's processing,
        # which happened after its last completion, saw every response of that survey.
        for each in (survey, other, fresh):
            last = Response.objects.filter(survey=each).latest("completed_at").completed_at
            assert done.filter(survey=each, processed_at__gt=last).exists(), each


@NEEDS_REDIS_SERVER
@pytest.mark.timeout(120)
def test_a_frozen_redis_delays_a_final_submit_by_seconds_at_most(tmp_path):
    _survey, (invitation,) = make_survey(outcomes=8, invitations=1)
    broker = RedisServer(tmp_path)
    processes: list[Process] = [broker]
    try:
        server = Gunicorn(tmp_path, workers=1, threads=2, REDIS_URL=broker.url)
        processes.append(server)
        person = Respondent(server.port, invitation, seed=3)
        person.browser.timeout = 15
        fields, _ = person.answer_until_final()
        # Frozen, not gone: the kernel still accepts connections on its port, nothing answers.
        os.kill(broker.proc.pid, signal.SIGSTOP)
        reply = person.submit(fields)
        assert finished(reply, person.path) and reply.seconds < 10, reply.seconds
        response = Response.objects.get(invitation=invitation)
        assert response.status == ResponseStatus.COMPLETED
        assert Outbox.objects.pending().count() == 1
    finally:
        if broker.proc.poll() is None:
            os.kill(broker.proc.pid, signal.SIGKILL)
        for process in reversed(processes):
            process.stop()


# --- 2. The database connection dropped ---------------------------------------------------------


def backend_waiting_on_a_lock(admin) -> int | None:
    row = admin.execute(
        "SELECT pid FROM pg_stat_activity WHERE application_name = %s AND wait_event_type = 'Lock'",
        (APP_NAME,),
    ).fetchone()
    return row[0] if row else None


def terminate_while_locked(lock_sql: str, params: tuple, request: Callable[[], Reply]) -> Reply:
    """Send `request` while another transaction holds `lock_sql`'s lock; once the app's backend
    waits for it, terminate that backend. Returns the request's answer."""
    with pg_connect(autocommit=False) as locker, pg_connect() as admin:
        locker.execute(lock_sql, params)
        holder: list = []
        thread = threading.Thread(target=lambda: holder.append(request()))
        thread.start()
        try:
            pid = wait_for(lambda: backend_waiting_on_a_lock(admin), 30, "the request to wait")
            assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0]
            thread.join(timeout=60)
        finally:
            locker.rollback()
            thread.join(timeout=60)
    assert holder, "the request never came back"
    return holder[0]


def assert_unavailable(reply: Reply, content_type: str) -> None:
    assert reply.status == 503, (reply.status, reply.text[:800])
    assert reply.headers["Retry-After"].isdigit()
    assert reply.headers["Content-Type"].startswith(content_type)
    assert "no-store" in reply.headers.get("Cache-Control", "")


@pytest.mark.timeout(120)
def test_a_final_page_whose_database_backend_is_terminated_answers_503_and_stores_nothing(
    tmp_path,
):
    survey, (invitation, api_invitation) = make_survey(outcomes=8, invitations=2)
    codes = survey.current_version.outcome_codes
    server = Gunicorn(tmp_path, workers=1, threads=2)
    with stopped_after([server]):
        person = Respondent(server.port, invitation, seed=7)
        fields, _ = person.answer_until_final()
        response = Response.objects.get(invitation=invitation)
        before = (response.status, response.page, bytes(response.ratings), response.page_seconds)

        # The final submit waits for the response row's lock, and its backend is terminated.
        reply = terminate_while_locked(
            "SELECT id FROM surveys_response WHERE id = %s FOR UPDATE",
            (response.pk,),
            lambda: person.submit(fields),
        )
        assert_unavailable(reply, "text/html")
        assert "your answers so far are saved, please retry" in reply.text
        assert "Traceback" not in reply.text
        response.refresh_from_db()
        after = (response.status, response.page, bytes(response.ratings), response.page_seconds)
        assert after == before and response.completed_at is None
        assert not Outbox.objects.exists()

        # The same submit again, once the database is back to normal: stored, once.
        again = person.submit(fields)
        assert finished(again, person.path), (again.status, again.text[:500])
        response.refresh_from_db()
        assert response.status == ResponseStatus.COMPLETED
        assert stored_answers(response) == expected_answers(person.seed, codes)
        assert Outbox.objects.count() == 1

        # The JSON API: the insert waits on the survey row (its foreign-key check) and dies.
        api = Respondent(server.port, api_invitation, seed=8)
        path = f"/api/public/surveys/{survey.public_token}/responses/"
        body = api.json_body(codes)
        reply = terminate_while_locked(
            "SELECT id FROM surveys_survey WHERE id = %s FOR UPDATE",
            (survey.pk,),
            lambda: api.browser.post_json(path, body),
        )
        assert_unavailable(reply, "application/json")
        assert set(json.loads(reply.text)) == {"detail"}
        assert not Response.objects.filter(invitation=api_invitation).exists()
        assert Outbox.objects.count() == 1
        again = api.browser.post_json(path, body)
        assert again.status == 201, again.text
        stored = Response.objects.get(invitation=api_invitation)
        assert stored_answers(stored) == expected_answers(api.seed, codes)
        assert Outbox.objects.count() == 2


@pytest.mark.timeout(120)
@pytest.mark.parametrize("health_checks", [True, False], ids=["health-checks", "no-checks"])
def test_a_persistent_connection_dropped_between_requests_never_gives_a_500(
    tmp_path, health_checks
):
    _survey, (invitation,) = make_survey(outcomes=8, invitations=1)
    # One worker, one thread: every request uses the same persistent connection.
    server = Gunicorn(
        tmp_path,
        workers=1,
        threads=1,
        DB_CONN_MAX_AGE="600",
        DB_CONN_HEALTH_CHECKS="1" if health_checks else "0",
    )
    with stopped_after([server]):
        browser = Browser(server.port)
        assert browser.get(invitation.path()).status == 200
        with pg_connect() as admin:
            pids = admin.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (APP_NAME,)
            ).fetchall()
            assert len(pids) == 1, pids  # the worker's idle, persistent connection
            admin.execute("SELECT pg_terminate_backend(%s)", pids[0])
            wait_for(
                lambda: (
                    not admin.execute(
                        "SELECT 1 FROM pg_stat_activity WHERE pid = %s", pids[0]
                    ).fetchone()
                ),
                10,
                "the backend to end",
            )
        first = browser.get(invitation.path())
        if health_checks:
            # Django notices the dead connection before using it and opens a new one.
            assert first.status == 200, first.text[:800]
        else:
            assert_unavailable(first, "text/html")
            assert "your answers so far are saved" in first.text
        # Either way the broken connection is gone: the next request works.
        assert browser.get(invitation.path()).status == 200
        assert Response.objects.count() == 0  # only pages were viewed


# --- 3. 200 respondents at once --------------------------------------------------------------


@pytest.mark.timeout(300)
def test_two_hundred_respondents_with_repeated_final_submits_each_store_one_response(tmp_path):
    people_count = 200
    survey, invitations = make_survey(outcomes=24, invitations=people_count)
    codes = survey.current_version.outcome_codes
    pages = flow.build_pages(survey.current_version.content)
    assert [p.kind for p in pages] == ["welcome", "profile", *["outcomes"] * 3]
    api_path = f"/api/public/surveys/{survey.public_token}/responses/"
    # Who does what: repeated web final submits (2–5 at once), a web final submit with a JSON
    # submission of the same invitation at the same moment, JSON only (2–3 at once, same key),
    # and everyone else once through the web.
    repeated, web_and_api, api_only = range(0, 50), range(50, 70), range(70, 95)
    server = Gunicorn(tmp_path, workers=4, threads=4)
    with stopped_after([server]):
        people = [Respondent(server.port, inv, i) for i, inv in enumerate(invitations)]
        api_replies: dict[int, list[Reply]] = {}
        final_replies: dict[int, list[Reply]] = {}
        go = threading.Event()

        def take(i: int) -> None:
            person = people[i]
            go.wait(timeout=60)
            if i in api_only:
                body = person.json_body(codes, idempotency_key=f"key-{i}")
                calls = [lambda: person.browser.post_json(api_path, body)] * (2 + i % 2)
                api_replies[i] = together(calls)
                return
            fields, _ = person.answer_until_final()
            if i in repeated:
                final_replies[i] = together([lambda: person.submit(fields)] * (2 + i % 4))
            elif i in web_and_api:
                body = person.json_body(codes)
                web, api = together(
                    [
                        lambda: person.submit(fields),
                        lambda: person.browser.post_json(api_path, body),
                    ]
                )
                final_replies[i], api_replies[i] = [web], [api]
            else:
                final_replies[i] = [person.submit(fields)]
            thanks = person.browser.get(person.path + "?done=1")
            assert thanks.status == 200 and "<h1>Thank you</h1>" in thanks.text

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=people_count) as pool:
            futures = [pool.submit(take, i) for i in range(people_count)]
            go.set()
            failures = {}
            for i, future in enumerate(futures):
                try:
                    future.result(timeout=240)
                except Exception:
                    failures[i] = traceback.format_exc()
        seconds = time.monotonic() - started
        replies = [r for p in people for r in p.replies] + [
            r for rs in api_replies.values() for r in rs
        ]
        print(f"\n{people_count} respondents, {len(replies)} requests in {seconds:.1f} s")
        repeats = [r.status for i in repeated for r in final_replies.get(i, [])]
        print(
            f"repeated final submits: {len(repeats)} answers, {repeats.count(302)} redirects to "
            f"the thanks, {repeats.count(200)} thanks pages directly"
        )
        assert failures == {}
        assert [r.status for r in replies if r.status >= 500] == []

        for i in repeated:
            assert all(finished(r, people[i].path) for r in final_replies[i]), i
        for i in web_and_api:
            assert finished(final_replies[i][0], people[i].path)
            # The web survey had already started this invitation's response: a conflict.
            assert api_replies[i][0].status == 409, api_replies[i][0].text
        for i in api_only:
            statuses = sorted(r.status for r in api_replies[i])
            assert statuses == [200] * (len(statuses) - 1) + [201], statuses
            assert len({json.loads(r.text)["id"] for r in api_replies[i]}) == 1

        stored = {r.invitation_id: r for r in Response.objects.filter(survey=survey)}
        assert len(stored) == Response.objects.filter(survey=survey).count() == people_count
        for i, invitation in enumerate(invitations):
            response = stored[invitation.pk]
            assert response.status == ResponseStatus.COMPLETED, i
            assert stored_answers(response) == expected_answers(i, codes), i
            assert response.profile == {"role": ROLES[i % len(ROLES)]}, i
            assert response.source == ("api" if i in api_only else "web"), i
        # Completions at the same moment join one another's unprocessed entry (at most one
        # entry per completion), and every entry is processed.
        completions = Outbox.objects.filter(survey=survey, kind="response_completed")
        assert 1 <= completions.count() <= people_count
        assert not completions.filter(processed_at=None).exists()
