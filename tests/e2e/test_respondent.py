"""The respondent's web survey in a real browser: keyboard only, phone first, accessible."""

from __future__ import annotations

from pathlib import Path

import pytest

from surveys import ratings, services
from surveys.models import Invitation, Question, Response, ResponseStatus
from tests.e2e.conftest import DESKTOP, PHONE, screenshot
from tests.factories import JobFactory, add_outcomes

pytestmark = pytest.mark.django_db(transaction=True)

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
STATEMENTS = [
    "Minimize the time it takes to find who on the team has not started using the tool",
    "Minimize the likelihood that team members revert to the old way of working",
    "Minimize the number of questions the team asks about where to find information",
    "Minimize the time it takes to see how much of the team's work happens in the tool",
    "Minimize the likelihood of paying for licences nobody is using",
]


@pytest.fixture
def survey(workspace):
    job = JobFactory(workspace=workspace, statement="Get a new tool adopted across my team")
    steps = list(job.steps.order_by("order"))
    add_outcomes(job, STATEMENTS[:3], step=steps[0])
    add_outcomes(job, STATEMENTS[3:], step=steps[5])
    survey = services.create_survey(workspace=workspace, job=job, title="Team tool adoption")
    survey.consent_text = "Your answers are used for research only."
    survey.ask_current_solution = True
    survey.current_solution_options = ["Spreadsheets", "E-mail", "A project tracker"]
    survey.ask_nps = True
    survey.attention_check = True
    survey.save()
    Question.objects.create(
        survey=survey,
        key="role",
        kind="single",
        text="What is your role?",
        options=["Team lead", "Manager", "Individual contributor"],
        order=1,
        complexity_factor=True,
    )
    Question.objects.create(
        survey=survey,
        key="team_size",
        kind="number",
        text="How many people are in your team?",
        minimum=1,
        maximum=1000,
        order=2,
    )
    services.publish_survey(survey=survey)
    return survey


def _check_accessibility(page, name: str) -> None:
    """axe-core, injected from npm: no serious or critical violations."""
    assert AXE.exists(), f"axe-core missing at {AXE}: run `npm ci`"
    page.bring_to_front()  # a background page may never run axe's timers
    # Evaluated through the DevTools protocol: a <script> tag would be refused by the page's
    # Content-Security-Policy, as any injected inline script should be.
    page.evaluate(AXE.read_text())
    result = page.evaluate(
        """async () => Promise.race([
            axe.run(document, {resultTypes: ['violations']}),
            new Promise((_, reject) => setTimeout(() => reject(new Error('axe timed out')), 30000)),
        ])"""
    )
    bad = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, f"{name}: {bad}"


def _active(page) -> dict:
    return page.evaluate(
        """() => { const e = document.activeElement;
           return {tag: e.tagName, type: e.type || '', name: e.name || '',
                   value: e.value || ''}; }"""
    )


def _answer_page_by_keyboard(page, choices: dict[str, int], texts: dict[str, str]) -> None:
    """Tab through the page; in each radio group move to the wanted option with the arrow keys,
    tick checkboxes with Space, type into text fields, and press Enter on the button."""
    done: set[str] = set()
    for _ in range(200):
        page.keyboard.press("Tab")
        el = _active(page)
        if el["tag"] == "BUTTON":
            with page.expect_navigation():
                page.keyboard.press("Enter")
            return
        if el["type"] == "radio" and el["name"] not in done:
            wanted = choices.get(el["name"], 1)
            page.keyboard.press("Space")  # Tab lands on the first option; Space picks it
            for _ in range(wanted - 1):
                page.keyboard.press("ArrowDown")
            done.add(el["name"])
        elif el["type"] == "checkbox" and el["name"] not in done:
            page.keyboard.press("Space")
            done.add(el["name"])
        elif el["type"] == "text" and el["name"] in texts and el["name"] not in done:
            page.keyboard.type(texts[el["name"]])
            done.add(el["name"])
    raise AssertionError("never reached the submit button")


def _no_sideways_scroll(page) -> None:
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], widths


def test_a_respondent_completes_the_survey_on_a_phone_with_only_the_keyboard(
    live_server, page_at, survey
):
    page = page_at(PHONE)
    url = f"{live_server.url}{survey.public_path()}"
    page.goto(url)
    screenshot(page, "respond-welcome-phone")
    _check_accessibility(page, "welcome")

    # Submitting without consent shows the error summary, which links to the problem.
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    for _ in range(10):
        if _active(page)["tag"] == "BUTTON":
            break
        page.keyboard.press("Tab")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("#error-summary a[href='#consent']").is_visible()
    screenshot(page, "respond-error-phone")
    _check_accessibility(page, "error summary")

    _answer_page_by_keyboard(page, {}, {})  # tick consent, start
    assert "About you" in page.content()
    screenshot(page, "respond-profile-phone")
    _check_accessibility(page, "profile")
    _answer_page_by_keyboard(page, {"q-role": 1, "current_solution": 3}, {"q-team_size": "12"})

    answers = {}
    for page_number in range(2):
        heading = page.locator("h1").inner_text()
        assert page.locator("fieldset.sv-scale").count() >= 4, heading
        if page_number == 0:
            # On a phone one outcome's two questions fit on one screen without sideways scrolling.
            _no_sideways_scroll(page)
            # The compact scales: one outcome (statement and both scales) takes at most 260 px
            # on a 390-px phone, each choice a box of at least 24 × 24 px (WCAG 2.2 target size)
            # named by its number and full label (the visible number is in the name: WCAG 2.5.3).
            heights = page.eval_on_selector_all(
                "section.sv-outcome[aria-labelledby^='st-O']",
                "els => els.map(e => Math.round(e.getBoundingClientRect().height))",
            )
            print(f"\noutcome heights on a {PHONE['width']}-px phone: {heights} px")
            assert heights and max(heights) <= 260, heights
            box = page.locator(".sv-option .sv-box").first.bounding_box()
            assert box["width"] >= 24 and box["height"] >= 24, box
            n = len(heights)
            for label in ("1 Not at all important", "5 Extremely important", "4 Very satisfied"):
                assert page.get_by_role("radio", name=label, exact=True).count() == n, label
            screenshot(page, "respond-outcomes-phone")
            _check_accessibility(page, "outcome page")
        codes = page.eval_on_selector_all(
            "section.sv-outcome h2[id^='st-O']", "els => els.map(e => e.id.slice(3))"
        )
        choices = {"attention": 4}
        for i, code in enumerate(codes):
            answers[code] = (4 + i % 2, 1 + i % 3)
            choices[f"imp-{code}"], choices[f"sat-{code}"] = answers[code]
        _answer_page_by_keyboard(page, choices, {})

    assert page.locator("h1").inner_text() == "Overall"
    screenshot(page, "respond-loyalty-phone")
    _check_accessibility(page, "loyalty")
    _answer_page_by_keyboard(page, {"nps": 10}, {})  # the 10th option is 9

    assert page.locator("h1").inner_text() == "Thank you"
    screenshot(page, "respond-thanks-phone")
    _check_accessibility(page, "thank you")

    response = Response.objects.get(survey=survey)
    assert response.status == ResponseStatus.COMPLETED
    assert response.profile == {"role": "Team lead", "team_size": 12}
    assert response.current_solution == "A project tracker"
    assert response.nps == 9
    assert response.attention_passed is True
    stored = ratings.decode_answers(response.ratings, response.version.outcome_codes)
    assert stored == answers
    # The order each respondent saw is recorded, per page.
    assert sorted(c for codes in response.shown_order.values() for c in codes) == sorted(answers)


def test_a_respondent_resumes_where_they_left_off_after_closing_the_page(
    live_server, page_at, browser, survey
):
    invitation = Invitation.objects.create(survey=survey, external_id="cust-001")
    url = f"{live_server.url}{invitation.path()}"
    page = page_at(PHONE)
    page.goto(url)
    page.check("#consent")
    page.click("button[type=submit]")
    page.check("input[name='q-role'][value='Manager']")
    page.fill("#q-team_size", "7")
    page.check("input[name='current_solution'][value='Spreadsheets']")
    page.click("button[type=submit]")
    first_outcome_page = page.locator("h1").inner_text()
    page.close()

    # A different browser altogether: the personal link alone brings them back.
    again = page_at(DESKTOP)
    again.goto(url)
    assert again.locator("h1").inner_text() == first_outcome_page
    assert again.locator("label[for=progress]").inner_text() == "Page 3 of 5"
    screenshot(again, "respond-outcomes-desktop")
    _check_accessibility(again, "outcome page desktop")
    response = Response.objects.get(invitation=invitation)
    assert response.profile == {"role": "Manager", "team_size": 7}
    assert response.page == 2


def test_the_public_link_resumes_in_the_same_browser_only(live_server, browser, survey):
    url = f"{live_server.url}{survey.public_path()}"
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.goto(url)
    page.check("#consent")
    page.click("button[type=submit]")
    # The next page shown means the first one was saved; closing mid-navigation can hang.
    page.wait_for_selector("h1:has-text('About you')")
    page.close()
    page = context.new_page()
    page.goto(url)
    assert page.locator("h1").inner_text() == "About you"
    context.close()

    other = browser.new_context(viewport=PHONE)
    fresh = other.new_page()
    fresh.goto(url)
    assert fresh.locator("h1").inner_text() == "Welcome"
    other.close()
    assert Response.objects.filter(survey=survey).count() == 1


def test_a_completed_link_says_so_and_closed_or_unknown_surveys_get_clear_pages(
    live_server, page_at, survey
):
    invitation = Invitation.objects.create(survey=survey, external_id="cust-002")
    response = services.response_for_invitation(invitation)
    Response.objects.filter(pk=response.pk).update(status=ResponseStatus.COMPLETED)
    page = page_at(PHONE)
    page.goto(f"{live_server.url}{invitation.path()}")
    assert "already completed" in page.locator("h1").inner_text()
    screenshot(page, "respond-already-completed-phone")
    _check_accessibility(page, "already completed")

    missing = page.goto(f"{live_server.url}/s/no-such-survey/")
    assert missing.status == 404
    assert "can't find" in page.locator("h1").inner_text()
    _check_accessibility(page, "not found")

    survey.close()
    closed = page.goto(f"{live_server.url}{survey.public_path()}")
    assert closed.status == 410
    assert "closed" in page.locator("h1").inner_text()
    screenshot(page, "respond-closed-phone")
    _check_accessibility(page, "closed")


@pytest.mark.parametrize("viewport,name", [(PHONE, "phone"), (DESKTOP, "desktop")])
def test_every_respondent_page_is_screenshotted(live_server, page_at, survey, viewport, name):
    page = page_at(viewport)
    page.goto(f"{live_server.url}{survey.public_path()}")
    screenshot(page, f"respond-1-welcome-{name}")
    page.check("#consent")
    page.click("button[type=submit]")
    screenshot(page, f"respond-2-profile-{name}")
    page.check("input[name='q-role'][value='Manager']")
    page.fill("#q-team_size", "7")
    page.check("input[name='current_solution'][value='__other__']")
    page.fill("#current_solution_other", "A shared notebook")
    page.click("button[type=submit]")
    for step in (3, 4):
        page.click("button[type=submit]")  # nothing chosen: the error summary
        screenshot(page, f"respond-{step}-outcomes-errors-{name}")
        for group in page.eval_on_selector_all("fieldset.sv-scale", "els => els.map(e => e.id)"):
            value = "4" if group == "attention" else "3"
            page.check(f"#{group}-{value}")
        page.click("button[type=submit]")
    screenshot(page, f"respond-5-loyalty-{name}")
    page.check("input[name=nps][value='7']", force=True)
    page.click("button[type=submit]")
    screenshot(page, f"respond-6-thanks-{name}")
    assert Response.objects.get(survey=survey).current_solution == "A shared notebook"
