"""In a real browser, researcher-written markup is shown as text and never runs.

Every researcher text of the workspace carries an HTML payload (tests/security/conftest.py
`build_world`); a script that ran would open an alert dialog, which the page reports.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import DESKTOP, sign_in
from tests.security.conftest import build_world
from tests.security.test_escaping import hostile

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def evil():
    return build_world("Evil Corp", hostile(), slug="evil")


def _visit(page, url: str) -> list[str]:
    dialogs: list[str] = []

    def dismiss(dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    response = page.goto(url)
    assert response.status == 200, url
    page.wait_for_load_state("load")
    page.wait_for_timeout(300)  # onerror/onload handlers fire after the load
    page.remove_listener("dialog", dismiss)
    return dialogs


def test_no_payload_runs_on_the_results_job_and_respondent_pages(live_server, page_at, evil):
    page = page_at(DESKTOP)
    sign_in(page, live_server.url, evil.owner.username)
    base = live_server.url
    for path in (f"/surveys/{evil.survey.pk}/results/", f"/jobs/{evil.job.pk}/"):
        assert _visit(page, base + path) == [], path
        assert "<script>alert(1)</script>" in page.inner_text("body"), path

    respondent = page_at(DESKTOP)  # a fresh context: no researcher session
    assert _visit(respondent, base + evil.survey.public_path()) == []
    assert "alert(1)" in respondent.inner_text("body")
