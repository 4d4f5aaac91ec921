"""Signed-in writes whose database connection is lost: a 503 stored nothing, a 2xx stored once.

A client that gets a 503 sends the same request again, so a 503 after the row was stored would
duplicate it. The faults are real, against gunicorn and PostgreSQL:

- the app's backend terminated (pg_terminate_backend) after its INSERT, while the answer is
  being built, at a point made exact by a lock the test holds;
- backends terminated over and over while researchers write through the API and the pages;
- the answer to COMMIT lost on the way back (a relay drops it): the server has stored the row,
  the app's connection is gone before it hears so.

Skipped unless the suite runs on PostgreSQL (DATABASE_URL=postgres://…), like test_faults.py.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from itertools import count

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from rest_framework.authtoken.models import Token

from jtbd.models import DesiredOutcome, Job, JobStep
from tests.factories import JobFactory, MembershipFactory
from tests.integration.servers import (
    APP_NAME,
    SHARES_POSTGRES,
    Browser,
    Gunicorn,
    PgRelay,
    Reply,
    app_backend_waiting_on_a_lock,
    database_url,
    pg_connect,
    stopped_after,
    wait_for,
)
from workspaces.models import Role

pytestmark = SHARES_POSTGRES

UNAVAILABLE = 503
PASSWORD = "a-researcher-password"


class Researcher:
    """A researcher of one workspace, signed in through the API's token and the sign-in page."""

    def __init__(self, port: int) -> None:
        membership = MembershipFactory(role=Role.RESEARCHER)
        self.workspace = membership.workspace
        self.job = JobFactory(workspace=self.workspace, statement="Get a new tool adopted")
        self.step = JobStep.objects.filter(job=self.job).order_by("order").first()
        user = membership.user
        # gunicorn checks passwords with the production hasher, not the suite's fast one.
        hasher = PBKDF2PasswordHasher()
        user.password = hasher.encode(PASSWORD, hasher.salt())
        user.save(update_fields=["password"])
        self.token = Token.objects.create(user=user).key
        self.username = user.username
        self.port = port
        self.browser = Browser(port, timeout=60)

    def api(self, method: str, path: str, payload: dict) -> Reply:
        headers = {"Content-Type": "application/json", "Authorization": f"Token {self.token}"}
        return Browser(self.port, timeout=60).request(
            method, path, json.dumps(payload).encode(), **headers
        )

    def new_job(self, statement: str) -> Reply:
        return self.api(
            "POST",
            "/api/jobs/",
            {
                "workspace": self.workspace.pk,
                "statement": statement,
                "executor": "Team lead",
                "kind": "core_functional",
            },
        )

    def new_outcome(self, statement: str) -> Reply:
        return self.api("POST", "/api/outcomes/", {"step": self.step.pk, "statement": statement})

    def sign_in(self) -> None:
        assert self.browser.get("/accounts/login/").status == 200
        reply = self.browser.post_form(
            "/accounts/login/",
            [
                ("username", self.username),
                ("password", PASSWORD),
                ("csrfmiddlewaretoken", self.browser.cookies["csrftoken"]),
            ],
        )
        assert reply.status == 302, (reply.status, reply.text[:500])

    def new_job_on_the_page(self, statement: str) -> Reply:
        return self.browser.post_form(
            "/jobs/new/",
            [
                ("statement", statement),
                ("executor", "Team lead"),
                ("kind", "core_functional"),
                ("csrfmiddlewaretoken", self.browser.cookies["csrftoken"]),
            ],
        )


def stored(model, statement: str) -> int:
    return model.objects.filter(statement=statement).count()


def app_query(admin, pid: int) -> str:
    row = admin.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
    return row[0] if row else ""


def in_background(request: Callable[[], Reply]) -> tuple[threading.Thread, list[Reply]]:
    holder: list[Reply] = []
    thread = threading.Thread(target=lambda: holder.append(request()))
    thread.start()
    return thread, holder


@pytest.mark.timeout(180)
def test_a_job_whose_backend_is_terminated_while_its_answer_is_built_is_not_stored(tmp_path):
    server = Gunicorn(tmp_path, workers=1, threads=2)
    with stopped_after([server]):
        person = Researcher(server.port)
        statement = "Get a purchased tool adopted across every team"
        # The answer counts the new job's outcomes: with that table locked, the request stops
        # there, after the job and its steps were inserted.
        with pg_connect(autocommit=False) as locker, pg_connect() as admin:
            locker.execute("LOCK TABLE jtbd_desiredoutcome IN ACCESS EXCLUSIVE MODE")
            thread, holder = in_background(lambda: person.new_job(statement))
            try:
                pid = wait_for(lambda: app_backend_waiting_on_a_lock(admin), 30, "the count")
                query = app_query(admin, pid)
                assert "COUNT(*)" in query and "jtbd_desiredoutcome" in query, query
                assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0]
                thread.join(timeout=60)
            finally:
                locker.rollback()
                thread.join(timeout=60)
        (reply,) = holder
        assert reply.status == UNAVAILABLE, (reply.status, reply.text[:500])
        assert reply.headers["Retry-After"].isdigit()
        assert list(json.loads(reply.text)) == ["detail"]  # the schema's Error body
        assert stored(Job, statement) == 0

        again = person.new_job(statement)
        assert again.status == 201, again.text
        assert json.loads(again.text)["step_count"] == 8
        assert stored(Job, statement) == 1
        assert JobStep.objects.filter(job__statement=statement).count() == 8


@pytest.mark.timeout(180)
def test_an_outcome_whose_backend_is_terminated_after_its_insert_is_stored_only_if_answered(
    tmp_path,
):
    server = Gunicorn(tmp_path, workers=1, threads=2)
    with stopped_after([server]):
        person = Researcher(server.port)
        statement = "Minimize the time it takes to find who has not started"
        with (
            pg_connect(autocommit=False) as step_locker,
            pg_connect(autocommit=False) as table_locker,
            pg_connect() as admin,
        ):
            # 1. The check of the new row's foreign key to its step (deferred to COMMIT) waits
            # for the step, which the test holds.
            step_locker.execute(
                "SELECT id FROM jtbd_jobstep WHERE id = %s FOR UPDATE", (person.step.pk,)
            )
            thread, holder = in_background(lambda: person.new_outcome(statement))
            locking = None
            try:
                pid = wait_for(lambda: app_backend_waiting_on_a_lock(admin), 30, "the check")
                assert app_query(admin, pid) == "COMMIT"
                # 2. A lock on the whole outcome table queues behind the request's own: it is
                # granted when the request's transaction ends. Reading the outcomes for the
                # answer then waits, if the INSERT was committed before the answer was built.
                locker_pid = table_locker.execute("SELECT pg_backend_pid()").fetchone()[0]
                locking = threading.Thread(
                    target=lambda: table_locker.execute(
                        "LOCK TABLE jtbd_desiredoutcome IN ACCESS EXCLUSIVE MODE"
                    )
                )
                locking.start()
                wait_for(
                    lambda: admin.execute(
                        "SELECT 1 FROM pg_stat_activity WHERE pid = %s AND wait_event_type = "
                        "'Lock'",
                        (locker_pid,),
                    ).fetchone(),
                    30,
                    "the table lock to queue",
                )
                step_locker.rollback()
                # 3. Terminate the request's backend if it waits again, reading the outcomes
                # after its INSERT. (The COMMIT released just now may show as waiting a moment.)
                while thread.is_alive():
                    waiting = app_backend_waiting_on_a_lock(admin)
                    query = app_query(admin, waiting) if waiting else ""
                    if query.startswith("SELECT"):
                        admin.execute("SELECT pg_terminate_backend(%s)", (waiting,))
                        break
                    time.sleep(0.01)
                thread.join(timeout=60)
            finally:
                step_locker.rollback()
                if locking is not None:
                    locking.join(timeout=60)
                table_locker.rollback()
                thread.join(timeout=60)
        (reply,) = holder
        assert reply.status in (201, UNAVAILABLE), (reply.status, reply.text[:500])
        assert stored(DesiredOutcome, statement) == (1 if reply.status == 201 else 0), reply.status


@pytest.mark.timeout(240)
def test_writes_through_the_api_and_pages_under_terminated_backends_store_once_per_success(
    tmp_path,
):
    server = Gunicorn(tmp_path, workers=2, threads=4)
    seconds = 12
    attempts: list[tuple[str, str, int]] = []  # (what, statement, status)
    numbers = count()
    with stopped_after([server], 20000):
        people = [Researcher(server.port) for _ in range(3)]
        for person in people:
            person.sign_in()
        stop = threading.Event()

        def write(what: str, person: Researcher) -> None:
            send = {
                "api job": person.new_job,
                "api outcome": person.new_outcome,
                "page job": person.new_job_on_the_page,
            }[what]
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                n = next(numbers)
                statement = (
                    f"Minimize the time it takes to finish adoption task {n}"
                    if what == "api outcome"
                    else f"Get purchased tool {n} adopted across my team"
                )
                attempts.append((what, statement, send(statement).status))

        def terminate() -> None:
            rng = random.Random(7)
            with pg_connect() as admin:
                while not stop.wait(rng.uniform(0.1, 0.5)):
                    admin.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE application_name = %s",
                        (APP_NAME,),
                    )

        writers = [
            threading.Thread(target=write, args=(what, person))
            for person in people
            for what in ("api job", "api outcome", "page job")
        ]
        terminator = threading.Thread(target=terminate)
        terminator.start()
        for thread in writers:
            thread.start()
        for thread in writers:
            thread.join(timeout=seconds + 120)
        stop.set()
        terminator.join(timeout=30)

        wrong = []
        for what, statement, status in attempts:
            model = DesiredOutcome if what == "api outcome" else Job
            success = 302 if what == "page job" else 201
            expected = {success: 1, UNAVAILABLE: 0}.get(status)
            if expected is None or stored(model, statement) != expected:
                wrong.append((what, status, stored(model, statement)))
        by_status: dict[tuple[str, int], int] = {}
        for what, _, status in attempts:
            by_status[(what, status)] = by_status.get((what, status), 0) + 1
        print(f"\n{len(attempts)} writes in {seconds} s: {sorted(by_status.items())}")
        assert wrong == [], wrong[:20]  # (what, status, rows stored)
        for what in ("api job", "api outcome", "page job"):
            assert by_status.get((what, UNAVAILABLE), 0) >= 3, by_status  # the fault happened
            success = 302 if what == "page job" else 201
            assert by_status.get((what, success), 0) >= 3, by_status


@pytest.mark.timeout(180)
def test_a_write_whose_commit_answer_is_lost_answers_what_the_database_stored(tmp_path):
    relay = PgRelay()
    server = Gunicorn(
        tmp_path, workers=1, threads=1, DATABASE_URL=database_url(APP_NAME, port=relay.port)
    )
    with stopped_after([server]):
        person = Researcher(server.port)
        statement = "Get a purchased tool adopted by the night shift"
        relay.lose_next_commit_answer()
        reply = person.new_job(statement)
        assert relay.answers_lost == 1  # the server committed; the app never heard it
        # The app asked the database what became of its transaction: stored, so it answers so.
        assert reply.status == 201, (reply.status, reply.text[:500])
        assert json.loads(reply.text)["statement"] == statement
        assert stored(Job, statement) == 1

        # A transaction that wrote nothing (a rejected write) has nothing to ask about.
        relay.lose_next_commit_answer()
        refused = person.new_job("")
        assert refused.status == 400, (refused.status, refused.text[:500])
        assert stored(Job, "") == 0
        relay.close()
