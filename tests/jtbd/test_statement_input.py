"""Typing and pasting statements: nothing is cut silently, the limit is shown and enforced by
the server, and the scratch check page keeps statements out of URLs."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from jtbd.models import DesiredOutcome

pytestmark = pytest.mark.django_db

TOO_LONG = "Minimize the time it takes to " + "z" * 271  # 301 characters


@pytest.fixture
def web(client, researcher):
    client.force_login(researcher)
    return client


@pytest.mark.parametrize(
    "url", ["/jobs/{job}/outcomes/new/", "/jobs/{job}/check/", "/jobs/new/"], ids=str
)
def test_statement_fields_have_a_counter_limit_and_no_silent_maxlength(web, job, url):
    page = web.get(url.format(job=job.pk)).content.decode()
    field = re.search(r'<(textarea|input)[^>]*name="statement"[^>]*>', page).group(0)
    assert "maxlength" not in field
    assert 'data-max-chars="300"' in field
    assert "js/char-count.js" in page


def test_an_over_long_pasted_statement_is_refused_with_both_lengths_and_kept_as_typed(web, job):
    step = job.steps.first()
    response = web.post(
        f"/jobs/{job.pk}/outcomes/new/",
        {"step": step.pk, "statement": TOO_LONG, "code": "", "status": "draft"},
    )
    page = response.content.decode()
    assert "This is 301 characters long; the limit is 300. Shorten it; nothing was cut." in page
    assert f">\n{TOO_LONG}</textarea>" in page  # the whole text, not the first 300 characters
    assert DesiredOutcome.objects.count() == 3


def test_the_check_page_form_posts_and_a_get_with_a_statement_does_not_echo_it(web, job):
    page = web.get(f"/jobs/{job.pk}/check/").content.decode()
    form = re.search(r"<form [^>]*data-check-url[^>]*>", page).group(0)
    assert 'method="post"' in form
    leaked = web.get(f"/jobs/{job.pk}/check/", {"statement": "Minimize the secret roadmap item"})
    assert leaked.status_code == 200
    assert "secret roadmap" not in leaked.content.decode()
    assert leaked.context["check"] is None


def test_the_check_page_checks_a_posted_statement_and_keeps_an_over_long_one(web, job):
    response = web.post(f"/jobs/{job.pk}/check/", {"statement": TOO_LONG})
    page = response.content.decode()
    assert "The statement is 301 characters long; the limit is 300." in page
    assert f">\n{TOO_LONG}</textarea>" in page


def test_the_check_page_refuses_a_post_without_the_csrf_token(researcher, job):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(researcher)
    response = strict.post(f"/jobs/{job.pk}/check/", {"statement": "Minimize the time"})
    assert response.status_code == 403
