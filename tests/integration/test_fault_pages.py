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
