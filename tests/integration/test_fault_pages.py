"""The 503 answers of config/faults.py, on any database (the real faults: test_faults.py).

A view whose query raises OperationalError stands in for a lost connection here; test_faults.py
terminates real PostgreSQL backends under gunicorn.
"""

from __future__ import annotations

import json

import pytest
from django.db import OperationalError
from django.test import Client, RequestFactory

from config import faults
from surveys import respondent_views, versions


class Unreachable:
    """A model whose manager fails the way a dropped connection does."""

    class objects:
        @staticmethod
        def filter(*args, **kwargs):
            raise OperationalError("server closed the connection unexpectedly")

        for_submission = filter


def assert_clean_503(reply, content_type: str) -> None:
    assert reply.status_code == 503
    assert reply["Retry-After"] == str(faults.RETRY_AFTER_SECONDS)
    assert reply["Content-Type"].startswith(content_type)
    assert "no-store" in reply["Cache-Control"]


@pytest.mark.django_db
def test_a_respondent_page_whose_query_fails_answers_503_in_the_survey_layout(monkeypatch):
    monkeypatch.setattr(respondent_views, "Invitation", Unreachable)
    reply = Client(raise_request_exception=True).post("/i/some-token/", {"page": "0"})
    assert_clean_503(reply, "text/html")
    html = reply.content.decode()
    assert "your answers so far are saved, please retry" in html
    assert "survey.css" in html and 'href="/i/some-token/"' in html


@pytest.mark.django_db
def test_the_public_api_answers_503_as_json(monkeypatch):
    monkeypatch.setattr(versions, "Survey", Unreachable)  # where the submission reads it
    reply = Client(raise_request_exception=True).post(
        "/api/public/surveys/tok/responses/", "{}", content_type="application/json"
    )
    assert_clean_503(reply, "application/json")
    assert json.loads(reply.content) == {"detail": faults.MESSAGE}


def test_other_pages_get_the_app_layout_and_no_inline_style_or_script():
    reply = faults.unavailable(RequestFactory().get("/jobs/"))
    assert_clean_503(reply, "text/html")
    html = reply.content.decode()
    assert "Briefly unavailable" in html and "app.css" in html
    for page in (html, faults.unavailable(RequestFactory().get("/s/x/")).content.decode()):
        assert "<script" not in page and "<style" not in page and "style=" not in page


def test_other_exceptions_are_left_to_django():
    request = RequestFactory().get("/i/x/")
    middleware = faults.DatabaseUnavailableMiddleware(lambda r: None)
    assert middleware.process_exception(request, ValueError("a bug")) is None


class QueriesAfterTheView:
    """A middleware that reads the database after the view has answered, as the session and
    sign-in middlewares do; Django answers its exceptions without `process_exception`."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        from workspaces.models import Membership

        Membership.objects.count()
        return response


def fail_membership_reads(execute, sql, params, many, context):
    """Stands in for the connection dropping just as the middleware queries."""
    if "workspaces_membership" in sql and "COUNT" in sql.upper():
        raise OperationalError("server closed the connection unexpectedly")
    return execute(sql, params, many, context)


@pytest.mark.django_db(transaction=True)
def test_a_database_lost_in_a_middleware_answers_503_and_stores_nothing(owner, settings):
    from django.db import connection

    from jtbd.models import Job

    settings.MIDDLEWARE = [*settings.MIDDLEWARE, f"{__name__}.QueriesAfterTheView"]
    client = Client(raise_request_exception=False)  # answered, as a server would
    client.force_login(owner)
    body = {"statement": "Get a new tool adopted across my team", "executor": "team lead"}
    with connection.execute_wrapper(fail_membership_reads):
        api = client.post("/api/jobs/", body, content_type="application/json")
        page = client.get("/jobs/")
    assert_clean_503(api, "application/json")
    assert json.loads(api.content) == {"detail": faults.MESSAGE}
    assert_clean_503(page, "text/html")
    assert "Briefly unavailable" in page.content.decode()
    assert Job.objects.count() == 0  # the job the view created was rolled back


def test_other_exceptions_in_the_last_resort_handler_are_the_usual_500():
    request = RequestFactory().get("/jobs/")
    try:
        raise ValueError("a bug")
    except ValueError:
        reply = faults.server_error(request)
    assert reply.status_code == 500
