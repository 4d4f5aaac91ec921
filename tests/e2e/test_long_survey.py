"""A 150-outcome study in a real browser: each respondent rates a planned subset of 50, on a
phone, by keyboard only. Prints the height of each page and the key presses per outcome."""

from __future__ import annotations

import pytest

from surveys import flow, ratings, services
from surveys.models import Response, ResponseStatus
from tests.e2e.conftest import DESKTOP, PHONE, screenshot
from tests.e2e.test_respondent import _active, _check_accessibility, _no_sideways_scroll
from tests.factories import JobFactory, add_outcomes

pytestmark = pytest.mark.django_db(transaction=True)

N_OUTCOMES, K = 150, 50


@pytest.fixture
def long_survey(workspace):
    job = JobFactory(workspace=workspace, statement="Get a new tool adopted across my team")
    steps = list(job.steps.order_by("order"))
    for s, step in enumerate(steps[:6]):
        add_outcomes(
            job,
            [
                f"Minimize the time it takes to complete adoption task {s * 25 + i} for the team"
                for i in range(25)
            ],
            step=step,
        )
    survey = services.create_survey(workspace=workspace, job=job, title="Long adoption study")
    survey.subset_size = K
    survey.allow_not_applicable = True
    survey.save()
    services.publish_survey(survey=survey)
    assert len(survey.current_version.outcome_codes) == N_OUTCOMES
    return survey


class Keys:
    """The keyboard, counting what it presses."""

    def __init__(self, page) -> None:
        self.page, self.presses = page, 0

    def press(self, key: str) -> None:
        self.presses += 1
        self.page.keyboard.press(key)


def answer_outcome_page(keys: Keys, choices: dict[str, int]) -> None:
    """Tab to each scale, Space picks its first choice, arrows move to the wanted one (6 is
    "not applicable"); Enter on the Next button."""
    done: set[str] = set()
    for _ in range(400):
        keys.press("Tab")
        el = _active(keys.page)
        if el["tag"] == "BUTTON":
            with keys.page.expect_navigation():
                keys.press("Enter")
            return
        if el["type"] == "radio" and el["name"] not in done:
            keys.press("Space")
            for _ in range(choices[el["name"]] - 1):
                keys.press("ArrowRight")
            done.add(el["name"])
    raise AssertionError("never reached the Next button")


def test_a_phone_respondent_rates_their_fifty_of_150_outcomes_by_keyboard(
    live_server, page_at, long_survey
):
    page = page_at(PHONE)
    keys = Keys(page)
    page.goto(f"{live_server.url}{long_survey.public_path()}")
    assert "about 10 minutes" in page.content() or "minute" in page.content()
    keys.press("Tab")
    while _active(page)["tag"] != "BUTTON":
        keys.press("Tab")
    with page.expect_navigation():
        keys.press("Enter")

    response = Response.objects.get(survey=long_survey)
    pages = flow.build_pages(response.version.content, response.shown_order)
    outcome_pages = [p for p in pages if p.kind == "outcomes"]
    assert sum(len(p.outcome_codes) for p in outcome_pages) == K

    heights, per_outcome, chosen = [], [], {}
    for number, shown in enumerate(outcome_pages):
        codes = page.eval_on_selector_all(
            "section.sv-outcome h2[id^='st-O']", "els => els.map(e => e.id.slice(3))"
        )
        assert codes == list(shown.outcome_codes)  # the subset, in the order recorded
        outcome_heights = page.eval_on_selector_all(
            "section.sv-outcome",
            "els => els.map(e => Math.round(e.getBoundingClientRect().height))",
        )
        if number == 0:
            screenshot(page, "respond-long-phone")
        assert max(outcome_heights) <= 260, outcome_heights
        heights.append(page.evaluate("() => document.documentElement.scrollHeight"))
        if number == 0:
            _no_sideways_scroll(page)
            _check_accessibility(page, "outcome page with not applicable")
        choices = {}
        for i, code in enumerate(codes):
            # Every seventh satisfaction "not applicable" (the sixth choice), the rest varied.
            imp, sat = 1 + (i + number) % 5, 6 if i % 7 == 3 else 1 + (2 * i + number) % 5
            choices[f"imp-{code}"], choices[f"sat-{code}"] = imp, sat
            chosen[code] = (imp, ratings.NOT_APPLICABLE if sat == 6 else sat)
        before = keys.presses
        answer_outcome_page(keys, choices)
        per_outcome.append((keys.presses - before) / len(codes))

    print(
        f"\n{N_OUTCOMES} outcomes, {K} rated, on a {PHONE['width']}-px phone: "
        f"{len(outcome_pages)} outcome pages, heights {heights} px; "
        f"key presses per outcome by page {[round(x, 1) for x in per_outcome]} "
        f"(mean {sum(per_outcome) / len(per_outcome):.1f}; total {keys.presses} presses)"
    )
    assert page.locator("h1").inner_text() == "Thank you"
    response.refresh_from_db()
    assert response.status == ResponseStatus.COMPLETED
    stored = ratings.decode_answers(response.ratings, response.version.outcome_codes)
    assert {c: v for c, v in stored.items() if c in chosen} == chosen
    unshown = [v for c, v in stored.items() if c not in chosen]
    assert len(unshown) == N_OUTCOMES - K
    assert set(unshown) == {(ratings.NOT_SHOWN, ratings.NOT_SHOWN)}
    # Per outcome: Tab + Space + arrows on each of the two scales (at most 2 × 7), plus a share
    # of the page's Next.
    assert max(per_outcome) <= 14


def test_the_not_applicable_choice_on_a_desktop_is_labelled_and_accessible(
    live_server, page_at, long_survey
):
    page = page_at(DESKTOP)
    page.goto(f"{live_server.url}{long_survey.public_path()}")
    with page.expect_navigation():
        page.click("button.sv-button")
    outcomes = page.locator("section.sv-outcome").count()
    assert outcomes >= 1
    assert page.get_by_role("radio", name="N/A Not applicable / can't say").count() == 2 * outcomes
    assert not page.locator(".sv-ends").first.is_visible()  # the boxes carry the labels here
    screenshot(page, "respond-long-desktop")
    _check_accessibility(page, "outcome page with not applicable, desktop")
