"""Writing statements in a real browser under the Content-Security-Policy: a pasted statement
over the limit is kept whole with a live counter, the check page posts, and approving a flagged
draft takes a deliberate tick."""

from __future__ import annotations

import pytest

from jtbd import services
from jtbd.models import DesiredOutcome, OutcomeStatus
from tests.e2e.conftest import DESKTOP, PHONE, screenshot, sign_in
from tests.e2e.test_csp import _violations, _watch
from tests.e2e.test_respondent import _check_accessibility

pytestmark = pytest.mark.django_db(transaction=True)

TOO_LONG = "Minimize the time it takes to " + "z" * 271  # 301 characters


@pytest.mark.parametrize("viewport,name", [(PHONE, "phone"), (DESKTOP, "desktop")])
def test_a_pasted_over_long_statement_is_kept_counted_and_refused(
    live_server, page_at, researcher, job, viewport, name
):
    page = page_at(viewport)
    seen = _watch(page)
    sign_in(page, live_server.url, "researcher")
    page.goto(f"{live_server.url}/jobs/{job.pk}/outcomes/new/")
    counter = page.locator("#id_statement-count")
    assert counter.inner_text() == "0 / 300 characters"
    page.focus("#id_statement")
    page.keyboard.insert_text(TOO_LONG)  # as a paste: one input event with the whole text
    assert page.input_value("#id_statement") == TOO_LONG  # nothing cut
    assert counter.inner_text().startswith("301 / 300 characters: 1 over the limit")
    assert "over" in counter.get_attribute("class")
    live = page.locator("#id_statement-count + [aria-live=polite]")
    assert live.inner_text() == "1 character over the limit of 300."
    assert "id_statement-count" in page.get_attribute("#id_statement", "aria-describedby")
    assert page.get_attribute("#id_statement", "aria-invalid") == "true"
    screenshot(page, f"outcome-over-limit-{name}")
    _check_accessibility(page, "outcome form over the limit")

    page.click("button:has-text('Save outcome')")
    page.wait_for_load_state("load")
    assert "This is 301 characters long; the limit is 300." in page.content()
    assert page.input_value("#id_statement") == TOO_LONG
    assert DesiredOutcome.objects.count() == 3
    screenshot(page, f"outcome-refused-{name}")
    assert _violations(seen) == []


def test_the_check_page_posts_the_statement_out_of_the_url(live_server, page_at, researcher, job):
    page = page_at(DESKTOP)
    seen = _watch(page)
    sign_in(page, live_server.url, "researcher")
    page.goto(f"{live_server.url}/jobs/{job.pk}/check/")
    page.fill("#id_statement", "Make the dashboard easy")
    with page.expect_navigation():
        page.click("button:has-text('Check')")
    assert page.url == f"{live_server.url}/jobs/{job.pk}/check/"
    assert page.input_value("#id_statement") == "Make the dashboard easy"
    page.locator("#statement-findings").get_by_text('Solution word "dashboard"').wait_for()
    screenshot(page, "statement-check-desktop")
    assert _violations(seen) == []


@pytest.mark.parametrize("viewport,name", [(PHONE, "phone"), (DESKTOP, "desktop")])
def test_approving_a_flagged_draft_takes_a_tick(
    live_server, page_at, researcher, job, viewport, name
):
    step = job.steps.order_by("order").first()
    clean = "Minimize the time it takes to schedule the first training session for the team"
    services.add_outcome(step=step, statement=clean, status=OutcomeStatus.DRAFT)
    flagged = "Minimize the time it takes to configure the dashboard quickly"
    services.add_outcome(step=step, statement=flagged, status=OutcomeStatus.DRAFT)
    page = page_at(viewport)
    sign_in(page, live_server.url, "researcher")
    page.goto(f"{live_server.url}/jobs/{job.pk}/")
    page.click("button:has-text('Approve all drafts without findings (1)')")
    page.wait_for_load_state("load")
    assert "1 flagged draft left as draft (O005)" in page.locator(".messages").inner_text()
    page.click("#approve-flagged summary")
    screenshot(page, f"approve-flagged-{name}")
    _check_accessibility(page, "job map with the approve-flagged step")
    page.check("input[name=confirm_flagged][value=O005]")
    page.click("button:has-text('Approve the ticked drafts')")
    page.wait_for_load_state("load")
    statuses = dict(job.outcomes.values_list("code", "status"))
    assert (statuses["O004"], statuses["O005"]) == ("approved", "approved")


# Draws "0" and "O" large in the code's own font and looks at the middle of each glyph: a zero
# with a slash or a dot has ink there, the letter O has none.
CENTRE_INK = """(el, glyph) => {
    const style = getComputedStyle(el);
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = 240;
    const ctx = canvas.getContext("2d");
    ctx.font = `${style.fontWeight} 160px ${style.fontFamily}`;
    const box = ctx.measureText(glyph);
    const x = 120 - (box.actualBoundingBoxRight - box.actualBoundingBoxLeft) / 2
        + box.actualBoundingBoxLeft;
    ctx.fillText(glyph, x, 200);
    const middle = 200 - (box.actualBoundingBoxAscent - box.actualBoundingBoxDescent) / 2;
    const pixels = ctx.getImageData(114, middle - 6, 12, 12).data;
    let ink = 0;
    for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 128) ink += 1;
    return ink;
}"""


def test_outcome_codes_draw_a_zero_that_differs_from_the_letter_o(
    live_server, page_at, researcher, job
):
    page = page_at(DESKTOP)
    sign_in(page, live_server.url, "researcher")
    page.goto(f"{live_server.url}/jobs/{job.pk}/")
    code = page.locator(".outcome .code").first
    assert code.inner_text() == "O001"
    assert code.evaluate("el => getComputedStyle(el).fontVariantNumeric") == "slashed-zero"
    assert code.evaluate(CENTRE_INK, "O") == 0
    assert code.evaluate(CENTRE_INK, "0") > 0
