"""Under the Content-Security-Policy the key pages work in a real browser, and the browser
reports no violation: no inline script, event handler or style attribute is left anywhere."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from jtbd.models import Job
from surveys.models import Survey
from tests.e2e.conftest import DESKTOP, sign_in
from tests.factories import MembershipFactory, WorkspaceFactory
from workspaces.models import Role

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo() -> Survey:
    call_command("seed_demo", known_passwords=True, stdout=StringIO())
    return Survey.objects.get()


def _watch(page) -> list[str]:
    """Console messages and page errors that mention the policy."""
    seen: list[str] = []
    page.on("console", lambda message: seen.append(message.text))
    page.on("pageerror", lambda error: seen.append(str(error)))
    return seen


def _violations(seen: list[str]) -> list[str]:
    return [m for m in seen if "Content Security Policy" in m or "Content-Security-Policy" in m]


def test_key_pages_raise_no_csp_violation(live_server, page_at, demo):
    page = page_at(DESKTOP)
    seen = _watch(page)
    base = live_server.url

    assert page.goto(f"{base}/admin/login/").status == 200
    response = page.goto(f"{base}/accounts/login/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    sign_in(page, base, "strategist", password="demo-password")

    job = Job.objects.get()
    pages = [
        "/jobs/",
        f"/jobs/{job.pk}/",
        f"/surveys/{demo.pk}/",
        f"/surveys/{demo.pk}/fieldwork/",
        f"/surveys/{demo.pk}/results/",
        f"/surveys/{demo.pk}/results/landscape/",
        f"/surveys/{demo.pk}/results/segments/",
        f"/surveys/{demo.pk}/analysis/",
    ]
    for path in pages:
        response = page.goto(f"{base}{path}")
        assert response.status == 200, path
        page.wait_for_load_state("load")
    assert _violations(seen) == []


def test_the_landscape_tooltips_work_under_the_policy(live_server, page_at, demo):
    page = page_at(DESKTOP)
    seen = _watch(page)
    sign_in(page, live_server.url, "strategist", password="demo-password")
    page.goto(f"{live_server.url}/surveys/{demo.pk}/results/landscape/")
    tip = page.locator("#landscape-tip-0")
    assert tip.evaluate("el => getComputedStyle(el).display") == "none"
    page.focus("#landscape-pt-0")
    # The chart's own <style> (hover and focus rules) applies: it carries the request's nonce.
    assert tip.evaluate("el => getComputedStyle(el).display") == "inline"
    assert _violations(seen) == []


def test_a_respondent_survey_page_raises_no_csp_violation(live_server, page_at, demo):
    page = page_at(DESKTOP)
    seen = _watch(page)
    response = page.goto(f"{live_server.url}{demo.public_path()}")
    assert response.status == 200
    policy = response.headers["content-security-policy"].split("; ")
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    page.click("button[type=submit]")  # the welcome page's Start: a form post under the policy
    page.wait_for_load_state("load")
    assert _violations(seen) == []


def test_the_api_docs_render_the_operations_under_the_policy(live_server, page_at, demo):
    page = page_at(DESKTOP)
    seen = _watch(page)
    sign_in(page, live_server.url, "strategist", password="demo-password")
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".opblock-summary-path", timeout=20_000)
    paths = page.eval_on_selector_all(
        ".opblock-summary-path", "els => els.map(e => e.textContent.trim())"
    )
    assert any("/api/jobs/" in p for p in paths), paths[:10]
    assert _violations(seen) == []


def test_the_workspace_switch_still_submits_on_change(live_server, page_at, demo):
    """The select used an inline onchange handler; it now works from a static script."""
    strategist = get_user_model().objects.get(username="strategist")
    MembershipFactory(
        workspace=WorkspaceFactory(name="Zeta Co", slug="zeta"), user=strategist, role=Role.OWNER
    )
    page = page_at(DESKTOP)
    seen = _watch(page)
    sign_in(page, live_server.url, "strategist", password="demo-password")
    with page.expect_navigation():
        page.select_option("#ws-switch", label="Zeta Co")
    # The new page's selection comes from the session, so the form really was submitted.
    assert page.locator("#ws-switch option:checked").text_content() == "Zeta Co"
    assert _violations(seen) == []
