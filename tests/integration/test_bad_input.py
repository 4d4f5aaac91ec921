"""Text PostgreSQL cannot store, sent to the public survey endpoints through gunicorn.

The cases an outside probe found giving 500s: a NUL or a lone surrogate in a free-text, profile
or "other" answer (JSON or the web form), JSON nested 50,000 levels deep, and a NUL in the
link's token; besides them a NUL in the session cookie (a 500 on every route before) and bodies
shorter than they declare. SQLite keeps NUL where PostgreSQL refuses it, so this runs on
PostgreSQL only, against a real gunicorn, and checks every answer's status and that no row was
added.
"""

from __future__ import annotations

import json
import socket
import time

import pytest

from surveys import services
from surveys.models import Invitation, Question, Response, Survey
from tests.factories import JobFactory, WorkspaceFactory, add_outcomes
from tests.integration.servers import (
    SHARES_POSTGRES,
    Browser,
    Gunicorn,
    read_form,
    stopped_after,
)
from tests.security.test_isolation import assert_unchanged, snapshot

pytestmark = SHARES_POSTGRES


def published_survey() -> tuple[Survey, Invitation]:
    """A survey with a free-text profile question and "what do you use today", published."""
    job = JobFactory(workspace=WorkspaceFactory(), statement="Get a newly purchased tool adopted")
    add_outcomes(job, ["Minimize the time it takes to find who has not started using the tool"])
    survey = services.create_survey(workspace=job.workspace, job=job, title="Adoption")
    Survey.objects.filter(pk=survey.pk).update(
        ask_current_solution=True, current_solution_options=["Email", "Wiki"]
    )
    Question.objects.create(survey=survey, key="role", kind="text", text="Your role?", order=1)
    survey.refresh_from_db()
    services.publish_survey(survey=survey)
    survey.refresh_from_db()
    return survey, Invitation.objects.create(survey=survey, external_id="person-1")


def submission(survey: Survey, key: str, **answers: object) -> dict:
    codes = survey.current_version.outcome_codes
    return {
        "idempotency_key": key,
        "answers": {
            "ratings": {c: {"importance": 4, "satisfaction": 2} for c in codes},
            "profile": {"role": "Lead"},
            "current_solution": "Email",
            **answers,
        },
    }


def json_cases(survey: Survey) -> dict[str, tuple[bytes, str]]:
    """Each bad body with what the 400 must say. json.dumps writes NUL and surrogates as \\u
    escapes, as JSON clients do."""
    deep = "[" * 50_000 + "]" * 50_000
    good = json.dumps(submission(survey, "good"))
    return {
        "NUL in a free-text answer": (
            json.dumps(submission(survey, "a", profile={"role": "Le\x00ad"})).encode(),
            "at answers.profile.role contains a NUL character",
        ),
        "NUL in the other solution": (
            json.dumps(submission(survey, "b", current_solution="Sheets\x00")).encode(),
            "at answers.current_solution contains a NUL character",
        ),
        "lone surrogate in a free-text answer": (
            json.dumps(submission(survey, "c", profile={"role": "\ud800"})).encode(),
            "at answers.profile.role contains a lone surrogate (U+D800)",
        ),
        "lone surrogate in the other solution": (
            json.dumps(submission(survey, "d", current_solution="x\udfff")).encode(),
            "contains a lone surrogate (U+DFFF)",
        ),
        "a surrogate's bytes, not UTF-8": (
            good.replace('"Lead"', '"L\ud800"').encode("utf-8", "surrogatepass"),
            "is not valid UTF-8 (byte 0xED",
        ),
        "nested 50,000 levels deep": (deep.encode(), "more than 64 levels deep"),
        "nested 50,000 levels deep in an answer": (
            good.replace('"Lead"', deep).encode(),
            "more than 64 levels deep",
        ),
    }


def send_truncated(port: int, path: str, content_type: str, body: bytes) -> tuple[int, float]:
    """A request declaring 1000 bytes of body that sends fewer and then ends its side of the
    connection: (the status, seconds until the answer)."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
        "Content-Length: 1000\r\nConnection: close\r\n\r\n"
    )
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(head.encode() + body)
        conn.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    return int(answer.split(b" ", 2)[1]), time.monotonic() - started


@pytest.mark.timeout(180)
def test_the_reported_bad_inputs_get_400_through_gunicorn_on_postgresql_and_store_nothing(
    tmp_path,
):
    survey, invitation = published_survey()
    submit_path = f"/api/public/surveys/{survey.public_token}/responses/"
    server = Gunicorn(tmp_path, workers=1, threads=2)
    rows = snapshot()  # every row of every table: a refusal changes none
    with stopped_after([server]):
        browser = Browser(server.port)
        for name, (body, says) in json_cases(survey).items():
            reply = browser.post_json(submit_path, body)
            assert reply.status == 400, (name, reply.status, reply.text[:300])
            assert says in json.loads(reply.text)["detail"], (name, reply.text[:300])
        assert_unchanged(rows)

        # A NUL in the link's token.
        for method, path in (
            ("GET", "/s/%00/"),
            ("GET", "/i/abc%00def/"),
            ("POST", "/api/public/surveys/%00/responses/"),
        ):
            reply = browser.request(method, path, b"{}", **{"Content-Type": "application/json"})
            assert reply.status == 400, (path, reply.status, reply.text[:300])
            assert "The URL path contains a NUL character (U+0000)" in reply.text, path
        # A NUL in the session cookie (quoted cookie values are unquoted: "\000" is a NUL).
        reply = browser.request("GET", invitation.path(), Cookie='sessionid="\\000abcdefgh"')
        assert reply.status == 400, (reply.status, reply.text[:300])
        assert "cookie “sessionid” contains a NUL character" in reply.text
        assert_unchanged(rows)

        # The web form, page by page: the "other" solution with a NUL is refused, the page
        # without it goes through.
        page = browser.get(invitation.path())
        assert page.status == 200, page.text[:300]
        hidden = [
            (i["name"], i.get("value", ""))
            for i in read_form(page.text)
            if i.get("type") == "hidden"
        ]
        sent = browser.post_form(invitation.path(), [*hidden, ("consent", "yes")])
        assert sent.status == 302, (sent.status, sent.text[:300])
        page = browser.get(invitation.path())
        assert 'name="current_solution_other"' in page.text
        hidden = [
            (i["name"], i.get("value", ""))
            for i in read_form(page.text)
            if i.get("type") == "hidden"
        ]
        answers = [("q-role", "Lead"), ("current_solution", "__other__")]
        rows = snapshot()
        refused = browser.post_form(
            invitation.path(), [*hidden, *answers, ("current_solution_other", "a\x00b")]
        )
        assert refused.status == 400, (refused.status, refused.text[:300])
        assert "form field “current_solution_other” contains a NUL character" in refused.text
        response = Response.objects.get()
        assert (response.page, response.current_solution, response.profile) == (1, "", {})
        assert_unchanged(rows)
        accepted = browser.post_form(
            invitation.path(), [*hidden, *answers, ("current_solution_other", "a b")]
        )
        assert accepted.status == 302, (accepted.status, accepted.text[:300])
        response.refresh_from_db()
        assert (response.page, response.current_solution) == (2, "a b")
        assert Response.objects.count() == 1

        # Bodies shorter than they declare, from a client that then stops sending.
        rows = snapshot()
        for content_type, body in (
            ("application/json", json.dumps(submission(survey, "cut")).encode()[:60]),
            ("multipart/form-data; boundary=XX", b"--XX\r\nContent-Disposition: form-data; na"),
            ("application/x-www-form-urlencoded", b"page=1&q-role=Le"),
        ):
            for path in (submit_path, invitation.path()):
                status, seconds = send_truncated(server.port, path, content_type, body)
                assert 400 <= status < 500 and seconds < 5, (path, content_type, status, seconds)
        assert Response.objects.count() == 1
        assert_unchanged(rows)
        assert "Traceback" not in server.log() and "Internal Server Error" not in server.log()
