"""Planned subsets in the field: settings, the frozen design, assignment, pages and resume."""

from __future__ import annotations

import numpy as np
import pytest
from django.test import Client

from analysis.core.designs import counter_allocation
from surveys import design, flow, length, ratings, services
from surveys.models import DesignCounter, Invitation, Question, Response, ResponseStatus
from surveys.ratings import load_matrix
from tests.factories import JobFactory, add_outcomes

STATEMENTS = [f"Minimize the time it takes to complete adoption task number {i}" for i in range(12)]


@pytest.fixture
def survey(workspace):
    """Twelve outcomes on three steps; each respondent rates 5, one of them core."""
    job = JobFactory(workspace=workspace)
    steps = list(job.steps.order_by("order"))
    add_outcomes(job, STATEMENTS[:4], step=steps[0])
    add_outcomes(job, STATEMENTS[4:8], step=steps[2])
    add_outcomes(job, STATEMENTS[8:], step=steps[4])
    survey = services.create_survey(workspace=workspace, job=job, title="Adoption")
    return survey


def settings_data(survey, **changes) -> dict:
    data = {
        "title": survey.title,
        "welcome_text": survey.welcome_text,
        "thank_you_text": survey.thank_you_text,
        "screened_out_text": survey.screened_out_text,
        "nps_subject": survey.nps_subject,
        "importance_scale": "\n".join(survey.importance_labels),
        "satisfaction_scale": "\n".join(survey.satisfaction_labels),
    }
    return {**data, **changes}


def codes_of(survey) -> list[str]:
    return [o.code for o in survey.ordered_outcomes()]


def test_the_design_is_set_on_the_settings_page_and_frozen_when_published(
    client, researcher, survey
):
    client.force_login(researcher)
    core = codes_of(survey)[0]
    url = f"/surveys/{survey.pk}/settings/"
    answer = client.post(url, settings_data(survey, subset_size="5", core_codes=core))
    assert answer.status_code == 302, answer.context["form"].errors
    detail = client.get(f"/surveys/{survey.pk}/").content.decode()
    assert "each respondent rates 5 of the 12 outcomes" in detail and core in detail
    client.post(f"/surveys/{survey.pk}/publish/")
    survey.refresh_from_db()
    frozen = survey.current_version.content["design"]
    assert frozen == {"k": 5, "core": [core], "seed": survey.design_seed, "minutes": None}
    # The welcome page's estimate counts the five rated, not the twelve.
    assert length.estimated_seconds(survey.current_version.content) == 45 + 5 * 11


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"subset_size": "5", "subset_minutes": "6"}, "subset_minutes", "not both"),
        ({"subset_size": "12"}, "subset_size", "The survey asks 12 outcomes"),
        ({"subset_size": "2", "core_codes": "{0} {1}"}, "subset_size", "more than the 2 core"),
        ({"subset_size": "4", "core_codes": "{0}, NOPE-1"}, "core_codes", "NOPE-1"),
        ({"subset_minutes": "1", "core_codes": "{0} {1} {2}"}, "subset_minutes", "room for 1"),
    ],
)
def test_an_impossible_design_is_refused_with_the_reason_and_nothing_saved(
    client, researcher, survey, changes, field, message
):
    client.force_login(researcher)
    codes = codes_of(survey)
    changes = {k: v.format(*codes) for k, v in changes.items()}
    page = client.post(f"/surveys/{survey.pk}/settings/", settings_data(survey, **changes))
    assert page.status_code == 200
    assert message in str(page.context["form"].errors[field])
    survey.refresh_from_db()
    assert survey.subset_size is None and survey.subset_minutes is None
    assert survey.core_outcomes == []


def test_a_target_length_gives_the_number_of_outcomes_that_fits(survey):
    survey.subset_minutes = 2  # 120 s: 45 s fixed, 75 s for outcomes at 11 s each
    survey.save()
    services.publish_survey(survey=survey)
    assert survey.current_version.content["design"]["k"] == 6


def test_off_by_default_the_content_has_no_design_and_everyone_rates_all(survey):
    services.publish_survey(survey=survey)
    assert "design" not in survey.current_version.content
    Client().post(survey.public_path(), {"page": 0})
    response = Response.objects.get()
    assert ratings.NOT_SHOWN not in bytes(response.ratings)
    assert not DesignCounter.objects.exists()


@pytest.fixture
def planned(survey):
    survey.subset_size = 5
    survey.core_outcomes = [codes_of(survey)[0]]
    survey.design_seed = 11
    survey.save()
    services.publish_survey(survey=survey)
    return survey


def walk(client: Client, url: str, response: Response) -> None:
    """Answer every page the respondent is shown, from the welcome page on."""
    pages = flow.build_pages(response.version.content, response.shown_order)
    for index in range(response.page, len(pages)):
        data: dict = {"page": index}
        for i, code in enumerate(pages[index].outcome_codes):
            data[f"imp-{code}"], data[f"sat-{code}"] = str(1 + i % 5), str(1 + (i + 2) % 5)
        answer = client.post(url, data)
        assert answer.status_code == 302, answer.content.decode()[:2000]


def test_each_respondent_rates_their_subset_and_the_counts_stay_within_one(planned):
    codes = planned.current_version.outcome_codes
    core = codes[0]
    for n in range(1, 23):
        client = Client()
        client.post(planned.public_path(), {"page": 0})
        response = Response.objects.order_by("-id").first()
        shown = {c for page in response.shown_order.values() for c in page}
        assert len(shown) == 5 and core in shown
        walk(client, planned.public_path(), response)
        counts = design.shown_counts(planned.current_version)
        assert sum(counts.values()) == 4 * n and max(counts.values()) - min(counts.values()) <= 1
    completed = Response.objects.filter(status=ResponseStatus.COMPLETED)
    assert completed.count() == 22
    # Stored per response: rated where shown, "not shown by design" elsewhere; the matrix
    # scores each outcome on those who rated it.
    for response in completed:
        shown = {c for page in response.shown_order.values() for c in page}
        imp, sat = ratings.decode(response.ratings, len(codes))
        for j, code in enumerate(codes):
            if code in shown:
                assert 1 <= imp[j] <= 5 and 1 <= sat[j] <= 5
            else:
                assert imp[j] == sat[j] == ratings.NOT_SHOWN
    matrix = load_matrix(planned)
    n = (matrix.importance > 0).sum(axis=0)
    assert n[0] == 22 and set(n[1:].tolist()) <= {8, 9} and n.sum() == 22 * 5


def test_the_assignment_is_the_allocation_of_the_design_seed(planned):
    """Respondents in turn get the rows of the counter-driven allocation of the frozen seed."""
    version = planned.current_version
    rotating = design.rotating_codes(version.content)
    expected = counter_allocation(10, len(rotating), 4, seed=11)
    for i in range(10):
        got = design.assign_subset(version)
        assert got == {version.outcome_codes[0]} | {
            rotating[j] for j in np.flatnonzero(expected[i])
        }


def test_a_resumed_respondent_sees_the_same_subset_in_the_same_order(planned):
    invitation = Invitation.objects.create(survey=planned, external_id="cust-1")
    first = Client()
    first.post(invitation.path(), {"page": 0})
    response = Response.objects.get()
    pages = flow.build_pages(response.version.content, response.shown_order)
    first_page = pages[1].outcome_codes
    html = Client().get(invitation.path()).content.decode()  # another browser, later
    positions = [html.index(f'id="st-{code}"') for code in first_page]
    assert positions == sorted(positions)
    unshown = set(planned.current_version.outcome_codes) - {
        c for page in response.shown_order.values() for c in page
    }
    assert not any(f'id="st-{code}"' in html for code in unshown)
    walk(Client(), invitation.path(), Response.objects.get())
    assert Response.objects.get().status == ResponseStatus.COMPLETED
    assert DesignCounter.objects.get().assigned == 1  # resuming assigned nobody new


def test_a_step_with_none_of_the_subset_has_no_page(planned):
    content = planned.current_version.content
    step_codes = [o["code"] for o in content["steps"][1]["outcomes"]]
    subset = set(content["outcome_codes"]) - set(step_codes)
    pages = flow.build_pages(content, subset=list(subset)[:5])
    assert all(not set(p.outcome_codes) & set(step_codes) for p in pages)
    assert sum(len(p.outcome_codes) for p in pages) == 5


@pytest.fixture
def with_na(survey):
    survey.allow_not_applicable = True
    survey.save()
    services.publish_survey(survey=survey)
    return survey


def test_not_applicable_is_stored_apart_kept_on_back_and_left_out_of_n(with_na):
    client, url = Client(), with_na.public_path()
    client.post(url, {"page": 0})
    response = Response.objects.get()
    pages = flow.build_pages(response.version.content, response.shown_order)
    first, second = pages[1].outcome_codes[0], pages[1].outcome_codes[1]
    html = client.get(url).content.decode()
    assert f'id="imp-{first}-na" value="na"' in html and "Not applicable / can't say" in html
    data: dict = {"page": 1}
    for code in pages[1].outcome_codes:
        data[f"imp-{code}"], data[f"sat-{code}"] = "4", "2"
    data[f"sat-{first}"] = "na"
    data[f"imp-{second}"], data[f"sat-{second}"] = "na", "na"
    assert client.post(url, data).status_code == 302
    # Back to the page: the "not applicable" answers are checked again.
    client.post(url, {"page": 2, "go": "back"})
    html = client.get(url).content.decode()
    assert f'id="sat-{first}-na" value="na" checked' in html
    assert f'id="imp-{first}-4" value="4" checked' in html
    response.refresh_from_db()
    stored = ratings.decode_answers(response.ratings, response.version.outcome_codes)
    assert stored[first] == (4, ratings.NOT_APPLICABLE)
    assert stored[second] == (ratings.NOT_APPLICABLE, ratings.NOT_APPLICABLE)
    assert client.post(url, data).status_code == 302  # forward again, as it was
    response.refresh_from_db()
    walk(client, url, response)
    response.refresh_from_db()
    assert response.status == ResponseStatus.COMPLETED
    matrix = load_matrix(with_na)
    j = matrix.codes.index(second)
    assert matrix.importance[0, j] == 0 and matrix.satisfaction[0, matrix.codes.index(first)] == 0


def test_not_applicable_is_refused_where_the_survey_does_not_allow_it(survey):
    services.publish_survey(survey=survey)
    client, url = Client(), survey.public_path()
    client.post(url, {"page": 0})
    response = Response.objects.get()
    page = flow.build_pages(response.version.content, response.shown_order)[1]
    html = client.get(url).content.decode()
    assert 'value="na"' not in html
    data: dict = {"page": 1}
    for code in page.outcome_codes:
        data[f"imp-{code}"], data[f"sat-{code}"] = "na", "3"
    answer = client.post(url, data)
    assert answer.status_code == 200 and "Rate how important this is" in answer.content.decode()
    response.refresh_from_db()
    assert response.page == 1


# --- the public API under a design ---------------------------------------------------------


def assignment(client: Client, survey):
    return client.post(f"/api/public/surveys/{survey.public_token}/assignment/")


def test_the_assignment_endpoint_hands_out_balanced_subsets(planned, survey):
    client = Client()
    seen = []
    for _ in range(11):
        answer = assignment(client, planned)
        assert answer.status_code == 200
        body = answer.json()
        assert body["planned"] is True and len(body["outcomes"]) == 5
        seen.append(body["outcomes"])
    assert all(planned.current_version.outcome_codes[0] in s for s in seen)
    counts = design.shown_counts(planned.current_version)
    assert sum(counts.values()) == 44 and max(counts.values()) - min(counts.values()) <= 1
    assert Client().post("/api/public/surveys/nope/assignment/").status_code == 404
    planned.close()
    assert assignment(client, planned).status_code == 410


def test_without_a_design_the_assignment_is_every_outcome(survey):
    services.publish_survey(survey=survey)
    body = assignment(Client(), survey).json()
    assert body == {"planned": False, "outcomes": survey.current_version.outcome_codes}


@pytest.mark.parametrize("path", ["fast", "reference"])
def test_a_submission_rates_its_subset_and_the_rest_is_stored_as_not_shown(planned, settings, path):
    settings.PUBLIC_SUBMISSION_PATH = path
    client = Client()
    url = f"/api/public/surveys/{planned.public_token}/responses/"
    codes = assignment(client, planned).json()["outcomes"]

    def send(rated: list[str], key: str):
        answers = {
            "ratings": {
                c: {"importance": 4, "satisfaction": 2 + i % 3} for i, c in enumerate(rated)
            }
        }
        return client.post(
            url, {"idempotency_key": key, "answers": answers}, content_type="application/json"
        )

    others = [c for c in planned.current_version.outcome_codes if c not in codes]
    too_few = send(codes[:4], "a")
    assert too_few.status_code == 400
    assert "rates 5 of its 12 outcomes" in str(too_few.json()["problems"])
    no_core = send([*codes[1:], others[0]], "b")
    assert no_core.status_code == 400
    assert f"every respondent rates: {codes[0]}" in str(no_core.json()["problems"])
    assert not Response.objects.exists()
    stored = send(codes, "c")
    assert stored.status_code == 201, stored.content
    response = Response.objects.get()
    answers = ratings.decode_answers(response.ratings, response.version.outcome_codes)
    assert all(answers[c][0] == 4 for c in codes)
    assert all(answers[c] == (ratings.NOT_SHOWN, ratings.NOT_SHOWN) for c in others)
    assert response.status == ResponseStatus.COMPLETED and response.flags == []


def test_before_assignment_the_welcome_page_counts_the_pages_most_respondents_see(planned):
    content = planned.current_version.content
    typical = design.typical_subset(content)
    assert len(typical) == 5 and content["outcome_codes"][0] in typical
    assert design.typical_subset(content) == typical  # the same on every visit
    expected = len(flow.build_pages(content, subset=typical))
    html = Client().get(planned.public_path()).content.decode()
    assert f"Page 1 of {expected}<" in html
    # The count is the median of what respondents see.
    seen = []
    for _ in range(15):
        subset = design.assign_subset(planned.current_version)
        seen.append(len(flow.build_pages(content, subset=subset)))
    assert min(seen) <= expected <= max(seen)


def test_a_republished_survey_goes_on_from_the_counts_so_far(planned):
    """Each version used to start its counts afresh with the same tie-breaks, so the same
    outcomes were left out in every version (two never shown over five versions)."""
    shown: dict[str, int] = {}
    for round_ in range(5):
        for _ in range(2):
            subset = design.assign_subset(planned.current_version)
            for code in subset:
                shown[code] = shown.get(code, 0) + 1
        planned.thank_you_text = f"Thanks, round {round_}"
        planned.save()
        services.publish_survey(survey=planned)
    assert planned.current_version.number == 6
    rotating = [c for c in planned.current_version.outcome_codes[1:]]
    counts = [shown.get(c, 0) for c in rotating]
    assert sum(counts) == 40 and max(counts) - min(counts) <= 1, counts
    assert DesignCounter.objects.get(survey=planned).assigned == 10


def test_an_outcome_added_mid_field_is_shown_first_until_it_catches_up(planned):
    for _ in range(11):
        design.assign_subset(planned.current_version)
    job = planned.job
    new = add_outcomes(job, ["Minimize the time it takes to find the newest adoption report"])[0]
    services.set_outcomes(survey=planned, outcomes=[*planned.ordered_outcomes(), new])
    services.publish_survey(survey=planned)
    assert new.code in planned.current_version.outcome_codes
    assert all(new.code in design.assign_subset(planned.current_version) for _ in range(3))


@pytest.mark.parametrize("path", ["fast", "reference"])
def test_a_submission_a_screener_ends_is_stored_as_screened_out_under_a_design(
    planned, settings, path
):
    settings.PUBLIC_SUBMISSION_PATH = path
    Question.objects.create(
        survey=planned,
        key="uses_tool",
        kind="single",
        text="Do you use the tool?",
        options=["Yes", "No"],
        screener=True,
        disqualifying=["No"],
    )
    services.publish_survey(survey=planned)
    answer = Client().post(
        f"/api/public/surveys/{planned.public_token}/responses/",
        {"idempotency_key": "s1", "answers": {"profile": {"uses_tool": "No"}}},
        content_type="application/json",
    )
    assert answer.status_code == 201, answer.content
    assert answer.json()["status"] == ResponseStatus.SCREENED_OUT


def test_publishing_refuses_a_design_the_outcomes_no_longer_fit(client, researcher, planned):
    """Outcomes chosen after the design was set: the core outcome left the survey, then only
    five outcomes remain for K = 5. Publishing used to drop the core code, or the design,
    without a word."""
    client.force_login(researcher)
    kept = [o for o in planned.ordered_outcomes() if o.code != codes_of(planned)[0]][:5]
    services.set_outcomes(survey=planned, outcomes=kept)
    before = planned.current_version
    answer = client.post(f"/surveys/{planned.pk}/publish/", follow=True)
    text = answer.content.decode()
    assert "Planned subsets: Not among this survey&#x27;s outcomes: " in text
    assert "The survey asks 5 outcomes: a subset must be smaller" in text
    planned.refresh_from_db()
    assert planned.current_version == before  # nothing published


def test_the_api_sets_a_design_and_refuses_one_that_does_not_fit(api_as, researcher, survey):
    api = api_as(researcher)
    url = f"/api/surveys/{survey.pk}/"
    core = codes_of(survey)[:2]
    ok = api.patch(url, {"subset_size": 6, "core_outcomes": core, "allow_not_applicable": True})
    assert ok.status_code == 200, ok.content
    assert ok.json()["core_outcomes"] == core and ok.json()["subset_size"] == 6
    bad = api.patch(url, {"subset_size": 12}, format="json")
    assert bad.status_code == 400 and "a subset must be smaller" in str(bad.json()["subset_size"])
    bad = api.patch(url, {"core_outcomes": ["NOPE-1"]}, format="json")
    assert bad.status_code == 400 and "NOPE-1" in str(bad.json()["core_outcomes"])
    survey.refresh_from_db()
    assert (survey.subset_size, survey.core_outcomes) == (6, core)
    published = api.post(f"/api/surveys/{survey.pk}/publish/")
    assert published.status_code == 200
    survey.refresh_from_db()
    assert survey.current_version.content["design"]["k"] == 6
    assert survey.current_version.content["not_applicable"] is True
