"""Strategists' results pages in a real browser on the demo study: phone and desktop, axe."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from surveys.models import Survey
from tests.e2e.conftest import DESKTOP, PHONE, screenshot, sign_in
from tests.e2e.test_respondent import _check_accessibility

pytestmark = pytest.mark.django_db(transaction=True)

PAGES = {
    "results": "results/",
    "jobmap": "results/jobmap/",
    "landscape": "results/landscape/",
    "segments": "results/segments/",
    "loyalty": "results/loyalty/",
    "compare": "results/compare/?a=segment:1&b=rest",
    "analysis": "analysis/",
}


@pytest.fixture
def demo():
    call_command("seed_demo", known_passwords=True, stdout=StringIO())
    return Survey.objects.get()


@pytest.mark.parametrize("viewport,size", [(PHONE, "phone"), (DESKTOP, "desktop")])
def test_results_pages_read_well_on_phone_and_desktop_and_pass_axe(
    live_server, page_at, demo, viewport, size
):
    page = page_at(viewport)
    sign_in(page, live_server.url, "strategist", password="demo-password")
    for name, path in PAGES.items():
        response = page.goto(f"{live_server.url}/surveys/{demo.pk}/{path}")
        assert response.status == 200, name
        widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1] + 1, (name, widths)
        screenshot(page, f"results-{name}-{size}")
        _check_accessibility(page, f"{name} ({size})")


def test_the_ranking_filters_by_band_without_javascript(live_server, browser, demo):
    context = browser.new_context(viewport=DESKTOP, java_script_enabled=False)
    page = context.new_page()
    sign_in(page, live_server.url, "strategist", password="demo-password")
    page.goto(f"{live_server.url}/surveys/{demo.pk}/results/")
    page.select_option("select[name=band]", "extreme")
    page.click("button:has-text('Apply')")
    bands = page.eval_on_selector_all(
        "table.results .badge[class*=band-]", "els => els.map(e => e.textContent)"
    )
    assert bands and set(bands) == {"extreme"}
    context.close()
