"""Every response carries the Content-Security-Policy (django-csp): scripts and styles only from
our own files, and a nonce for the one inline <style> the app writes, named in the header only
on the pages that use it. The browser's side is tests/e2e/test_csp.py."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from analysis import runs
from analysis.models import RunStatus
from surveys.importing import ImportOptions, import_study
from tests.security.support import published_survey

pytestmark = pytest.mark.django_db

POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def policy(response) -> dict[str, str]:
    """The header's directives by name (their order in the header carries no meaning)."""
    directives = [part.split(" ", 1) for part in response["Content-Security-Policy"].split("; ")]
    return {name: sources for name, sources in directives}


@pytest.fixture
def analysed(workspace):
    rows = ["respondent_id,imp_A1,sat_A1,imp_A2,sat_A2,imp_A3,sat_A3"]
    rows += [f"r{i},{5 if i % 3 else 2},{1 + i % 5},4,2,{1 + i % 5},5" for i in range(120)]
    survey = import_study(
        workspace=workspace, name="Study", data="\n".join(rows), options=ImportOptions()
    ).survey
    run = runs.analyze_now(survey=survey, parameters={"segments": "off"})
    assert run.status == RunStatus.SUCCEEDED
    return survey


def test_pages_without_inline_styles_get_the_policy_with_no_nonce(client, owner, job):
    survey = published_survey(job)
    pages = [client.get("/accounts/login/"), client.get(survey.public_path())]
    client.force_login(owner)
    pages += [client.get("/jobs/"), client.get(f"/surveys/{survey.pk}/")]
    assert [page.status_code for page in pages] == [200] * 4
    assert [policy(page) for page in pages] == [POLICY] * 4
    assert all("nonce=" not in page.content.decode() for page in pages)


def test_the_landscape_style_carries_the_nonce_the_header_names(viewer, analysed):
    client = Client()
    client.force_login(viewer)
    nonces = []
    for _ in range(2):
        page = client.get(f"/surveys/{analysed.pk}/results/landscape/")
        assert page.status_code == 200
        html = page.content.decode()
        in_page = re.findall(r'<(\w+)[^>]*\snonce="([^"]+)"', html)
        assert len(in_page) == 1 and in_page[0][0] == "style", in_page
        nonce = in_page[0][1]
        assert policy(page) == {**POLICY, "style-src": f"'self' 'nonce-{nonce}'"}
        nonces.append(nonce)
    assert nonces[0] != nonces[1]  # a new one for every response


def test_a_response_with_a_policy_of_its_own_keeps_it(viewer, analysed):
    client = Client()
    client.force_login(viewer)
    svg = client.get(f"/surveys/{analysed.pk}/analysis/landscape.svg")
    assert svg.status_code == 200
    assert policy(svg)["default-src"] == "'none'"
    assert "script-src" not in policy(svg)
