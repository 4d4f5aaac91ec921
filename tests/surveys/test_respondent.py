"""The respondent's web survey through HTTP, and the fieldwork around it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from surveys import flow, ratings, services
from surveys.models import (
    Flag,
    Invitation,
    Outbox,
    Question,
    Response,
    ResponseStatus,
)
from tests.factories import JobFactory, add_outcomes

STATEMENTS = [f"Minimize the time it takes to complete adoption task number {i}" for i in range(10)]


@pytest.fixture
def survey(workspace):
    job = JobFactory(workspace=workspace)
    steps = list(job.steps.order_by("order"))
    add_outcomes(job, STATEMENTS[:6], step=steps[0])
    add_outcomes(job, STATEMENTS[6:], step=steps[4])
    survey = services.create_survey(workspace=workspace, job=job, title="Adoption")
    Question.objects.create(
        survey=survey,
        key="uses_tool",
        kind="single",
        text="Do you use the tool at work?",
        options=["Yes", "No"],
        screener=True,
        disqualifying=["No"],
        order=1,
    )
    Question.objects.create(
        survey=survey,
        key="role",
        kind="single",
        text="Your role?",
        options=["Team lead", "Manager"],
        order=2,
    )
    services.publish_survey(survey=survey)
    return survey


def answer_all(client: Client, url: str, survey, *, imp=4, sat=2, vary=True) -> None:
    """Walk the whole survey with valid answers."""
    pages = flow.build_pages(survey.current_version.content)
    for index, page in enumerate(pages):
        data = {"page": index}
        if page.kind == "screener":
            data["q-uses_tool"] = "Yes"
        elif page.kind == "profile":
            data["q-role"] = "Manager"
        for i, code in enumerate(page.outcome_codes):
            data[f"imp-{code}"] = str(imp if not vary else 1 + (i + index) % 5)
            data[f"sat-{code}"] = str(sat if not vary else 1 + (i * 2 + index) % 5)
        response = client.post(url, data)
        assert response.status_code == 302, response.content.decode()[:3000]


def test_a_respondent_walks_through_every_page_and_sees_thanks(survey):
    client = Client()
    url = survey.public_path()
    answer_all(client, url, survey)
    thanks = client.get(url + "?done=1")
    assert "Thank you" in thanks.content.decode()
    response = Response.objects.get(survey=survey)
    assert response.status == ResponseStatus.COMPLETED
    assert response.version == survey.current_version
    assert response.profile == {"uses_tool": "Yes", "role": "Manager"}
    stored = ratings.decode_answers(response.ratings, response.version.outcome_codes)
    assert all(i is not None and s is not None for i, s in stored.values())
    assert client.get(url).content.decode().count("already completed") == 1


def test_outcome_order_is_randomised_per_respondent_and_recorded(survey):
    orders = []
    for _ in range(5):
        client = Client()
        client.post(survey.public_path(), {"page": 0})
        response = Response.objects.order_by("-id").first()
        orders.append(response.shown_order["step-0-0"])
        assert sorted(response.shown_order["step-0-0"]) == sorted(
            survey.current_version.content["steps"][0]["outcomes"][i]["code"] for i in range(6)
        )
        page = client.get(survey.public_path())  # the screener, then the profile...
        assert page.status_code == 200
    assert len({tuple(o) for o in orders}) > 1


def test_the_outcome_page_shows_outcomes_in_the_recorded_order(survey):
    client = Client()
    url = survey.public_path()
    client.post(url, {"page": 0})
    client.post(url, {"page": 1, "q-uses_tool": "Yes"})
    client.post(url, {"page": 2, "q-role": "Manager"})
    html = client.get(url).content.decode()
    order = Response.objects.get().shown_order["step-0-0"]
    positions = [html.index(f'id="st-{code}"') for code in order]
    assert positions == sorted(positions)


def test_a_screened_out_respondent_is_thanked_politely_and_counted(survey):
    client = Client()
    url = survey.public_path()
    client.post(url, {"page": 0})
    finish = client.post(url, {"page": 1, "q-uses_tool": "No"})
    assert finish.status_code == 302
    page = client.get(finish["Location"])
    assert survey.screened_out_text.split(".")[0] in page.content.decode()
    assert Response.objects.get().status == ResponseStatus.SCREENED_OUT
    assert survey.responses.counts()["screened_out"] == 1


def test_a_page_with_missing_answers_lists_each_problem_and_saves_nothing(survey):
    client = Client()
    url = survey.public_path()
    client.post(url, {"page": 0})
    client.post(url, {"page": 1, "q-uses_tool": "Yes"})
    client.post(url, {"page": 2, "q-role": "Manager"})
    before = Response.objects.get().ratings
    page = client.post(url, {"page": 3})
    html = page.content.decode()
    assert page.status_code == 200
    assert html.count('<li><a href="#imp-') == 6 and html.count('<li><a href="#sat-') == 6
    assert 'aria-invalid="true"' in html
    response = Response.objects.get()
    assert bytes(response.ratings) == bytes(before) and response.page == 3


def test_a_repeated_submit_of_an_earlier_page_changes_nothing(survey):
    client = Client()
    url = survey.public_path()
    client.post(url, {"page": 0})
    client.post(url, {"page": 1, "q-uses_tool": "Yes"})
    again = client.post(url, {"page": 1, "q-uses_tool": "No"})
    assert again.status_code == 302
    response = Response.objects.get()
    assert response.status == ResponseStatus.IN_PROGRESS
    assert response.profile == {"uses_tool": "Yes"} and response.page == 2


def test_one_response_per_browser_on_the_public_link(survey):
    first, second = Client(), Client()
    first.post(survey.public_path(), {"page": 0})
    first.post(survey.public_path(), {"page": 0})
    second.post(survey.public_path(), {"page": 0})
    assert Response.objects.count() == 2
    forged = Client()
    forged.cookies[f"oe_r{survey.pk}"] = "not-a-signed-value"
    assert "Welcome" in forged.get(survey.public_path()).content.decode()


def test_an_invitation_link_resumes_in_any_browser(survey):
    invitation = Invitation.objects.create(survey=survey, external_id="cust-9")
    Client().post(invitation.path(), {"page": 0})
    page = Client().get(invitation.path())
    assert "A few questions first" in page.content.decode()
    assert Response.objects.get().respondent_id == "cust-9"


def test_closing_a_survey_stops_answers_at_once(survey):
    client = Client()
    url = survey.public_path()
    client.post(url, {"page": 0})
    survey.close()
    refused = client.post(url, {"page": 1, "q-uses_tool": "Yes"})
    assert refused.status_code == 410
    assert Response.objects.get().profile == {}
    assert Client().get(url).status_code == 410


def test_a_survey_past_its_close_date_is_closed(survey):
    survey.closes_at = timezone.now() - timedelta(minutes=1)
    survey.save(update_fields=["closes_at"])
    assert Client().get(survey.public_path()).status_code == 410


def test_unknown_and_unpublished_surveys_are_404_and_reveal_nothing(survey, workspace):
    assert Client().get("/s/does-not-exist/").status_code == 404
    assert Client().get("/i/does-not-exist/").status_code == 404
    draft = services.create_survey(workspace=workspace, job=survey.job, title="Secret draft")
    page = Client().get(draft.public_path())
    assert page.status_code == 404
    assert "Secret draft" not in page.content.decode()


def test_respondent_pages_show_nothing_beyond_their_survey(survey):
    html = Client().get(survey.public_path()).content.decode()
    assert "/jobs/" not in html and "/surveys/" not in html and "/api/" not in html
    assert survey.job.statement not in html
    assert survey.workspace.name not in html


def test_researcher_text_is_escaped_on_respondent_pages(survey):
    survey.welcome_text = "<script>alert('x')</script>"
    survey.save(update_fields=["welcome_text"])
    services.publish_survey(survey=survey)
    html = Client().get(survey.public_path()).content.decode()
    assert "<script>alert" not in html and "&lt;script&gt;" in html


def test_straight_lining_and_a_failed_attention_check_are_flagged_and_excluded(survey):
    survey.attention_check = True
    survey.save(update_fields=["attention_check"])
    services.publish_survey(survey=survey)
    client = Client()
    url = survey.public_path()
    pages = flow.build_pages(survey.current_version.content)
    for index, page in enumerate(pages):
        data = {"page": index, "q-uses_tool": "Yes", "q-role": "Manager", "attention": "2"}
        for code in page.outcome_codes:
            data[f"imp-{code}"] = data[f"sat-{code}"] = "3"
        assert client.post(url, data).status_code == 302
    response = Response.objects.get()
    assert set(response.flags) == {Flag.STRAIGHT_LINER, Flag.ATTENTION}
    assert not Response.objects.analysable().exists()
    services.set_inclusion(response=response, include=True)
    assert Response.objects.analysable().count() == 1


def test_speeders_are_marked_against_the_median_duration(survey):
    for i, seconds in enumerate([600, 620, 580, 610, 150, 590]):
        client = Client()
        answer_all(client, survey.public_path(), survey)
        Response.objects.filter(pk=Response.objects.order_by("-id").first().pk).update(
            duration_seconds=seconds, respondent_id=f"r{i}"
        )
    assert services.refresh_speeders(survey_id=survey.pk) == 1
    flagged = Response.objects.get(respondent_id="r4")
    assert Flag.SPEEDER in flagged.flags
    assert all(Flag.SPEEDER not in r.flags for r in Response.objects.exclude(pk=flagged.pk))


@override_settings(CELERY_TASK_ALWAYS_EAGER=False, CELERY_BROKER_URL="redis://127.0.0.1:1/0")
def test_a_broker_that_is_down_never_reaches_the_respondent(
    survey, django_capture_on_commit_callbacks
):
    from config.celery import app

    app.conf.task_always_eager = False
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    app._pool = None  # a pool cached by an earlier test would still point at the old broker
    app.amqp._producer_pool = None
    try:
        client = Client()
        with django_capture_on_commit_callbacks(execute=True):
            answer_all(client, survey.public_path(), survey)
        assert Response.objects.get().status == ResponseStatus.COMPLETED
        entry = Outbox.objects.get()
        assert entry.dispatched_at is None and entry.processed_at is None
        assert entry.last_error
    finally:
        app.conf.task_always_eager = True
        app.conf.broker_url = "memory://"
        app._pool = None
        app.amqp._producer_pool = None
    # Once the broker is back, the catch-up dispatches it.
    assert services.dispatch_pending() == 1
    entry.refresh_from_db()
    assert entry.processed_at is not None


def test_publishing_freezes_versions_and_responses_keep_theirs(survey):
    v1 = survey.current_version
    assert services.publish_survey(survey=survey) == v1
    answer_all(Client(), survey.public_path(), survey)
    survey.welcome_text = "Hello again"
    survey.save(update_fields=["welcome_text"])
    v2 = services.publish_survey(survey=survey)
    assert v2.number == 2 and v2.content_hash != v1.content_hash
    assert Response.objects.get().version == v1
    assert v1.content["welcome_text"] != "Hello again"


def test_the_fieldwork_page_counts_and_updates(client, researcher, survey):
    Invitation.objects.create(survey=survey, external_id="a")
    answer_all(Client(), survey.public_path(), survey)
    Client().post(survey.public_path(), {"page": 0})
    survey.target_completes = 4
    survey.save(update_fields=["target_completes"])
    client.force_login(researcher)
    stats = client.get(f"/surveys/{survey.pk}/fieldwork/?format=json").json()
    assert stats["invited"] == 1 and stats["started"] == 2 and stats["completed"] == 1
    assert stats["completion_rate"] == 50.0 and stats["target_percent"] == 25
    assert sum(row["stopped"] for row in stats["dropoff"]) == 1
    page = client.get(f"/surveys/{survey.pk}/fieldwork/")
    assert page.status_code == 200 and 'data-k="completed">1<' in page.content.decode()


def test_invitations_get_unguessable_links_and_download_as_csv(client, researcher, survey):
    client.force_login(researcher)
    posted = client.post(
        f"/surveys/{survey.pk}/invitations/", {"people": "cust-1\nana@example.com\ncust-1\n"}
    )
    assert posted.status_code == 302
    invitations = list(Invitation.objects.all())
    assert len(invitations) == 2
    assert all(len(inv.token) >= 32 for inv in invitations)  # 24 random bytes = 192 bits
    csv_text = client.get(f"/surveys/{survey.pk}/invitations.csv").content.decode()
    assert csv_text.splitlines()[0] == "external_id,email,link,status"
    for inv in invitations:
        assert f"/i/{inv.token}/" in csv_text
    bad = client.post(f"/surveys/{survey.pk}/invitations/", {"people": "not@an@email"})
    assert bad.status_code == 200 and "not a valid e-mail" in bad.content.decode()
    assert Invitation.objects.count() == 2


def test_viewers_cannot_publish_close_invite_or_import(client, viewer, survey):
    client.force_login(viewer)
    for path in ("publish/", "close/", "invitations/", "import/", "settings/"):
        assert client.post(f"/surveys/{survey.pk}/{path}").status_code == 403, path
    survey.refresh_from_db()
    assert survey.status == "open" and Invitation.objects.count() == 0


def test_another_workspaces_survey_pages_are_404(client, outsider, survey):
    client.force_login(outsider)
    for path in (
        "",
        "settings/",
        "outcomes/",
        "fieldwork/",
        "responses/",
        "invitations/",
        "invitations.csv",
        "import/",
    ):
        assert client.get(f"/surveys/{survey.pk}/{path}").status_code == 404, path


def test_back_keeps_the_answers_of_the_page_left_and_of_the_page_returned_to(survey):
    client = Client()
    url = survey.public_path()
    client.post(url, {"page": 0})
    client.post(url, {"page": 1, "q-uses_tool": "Yes"})
    client.post(url, {"page": 2, "q-role": "Manager"})
    response = Response.objects.get()
    codes = response.shown_order["step-0-0"]
    # Half the first outcome page answered, then Back.
    back = client.post(
        url, {"page": 3, f"imp-{codes[0]}": "5", f"sat-{codes[0]}": "2", "go": "back"}
    )
    assert back.status_code == 302
    response.refresh_from_db()
    assert response.page == 2 and response.status == ResponseStatus.IN_PROGRESS
    stored = ratings.decode_answers(response.ratings, response.version.outcome_codes)
    assert stored[codes[0]] == (5, 2) and stored[codes[1]] == (None, None)
    # The page returned to shows its answer; going forward again shows the half-answered page.
    profile_page = client.get(url).content.decode()
    assert 'value="Manager" checked' in profile_page
    client.post(url, {"page": 2, "q-role": "Team lead"})
    outcomes_page = client.get(url).content.decode()
    assert f'id="imp-{codes[0]}-5" value="5" checked' in outcomes_page
    assert f'id="sat-{codes[0]}-2" value="2" checked' in outcomes_page
    response.refresh_from_db()
    assert response.page == 3 and response.profile["role"] == "Team lead"


def test_back_ends_nothing_and_a_stale_back_changes_nothing(survey):
    client = Client()
    url = survey.public_path()
    client.post(url, {"page": 0})
    client.post(url, {"page": 1, "q-uses_tool": "Yes"})
    # A screen-out answer on the way back does not end the survey.
    client.post(url, {"page": 2, "go": "back"})
    client.post(url, {"page": 1, "q-uses_tool": "No", "go": "back"})
    response = Response.objects.get()
    assert (response.page, response.status) == (0, ResponseStatus.IN_PROGRESS)
    # A Back from a page the respondent is no longer on (another tab) changes nothing.
    client.post(url, {"page": 3, "go": "back"})
    response.refresh_from_db()
    assert response.page == 0


@pytest.fixture
def with_solution(survey):
    """The survey asking what respondents use today, in their own words, and an optional note."""
    survey.ask_current_solution = True
    survey.current_solution_options = []
    survey.save()
    Question.objects.create(
        survey=survey, key="note", kind="text", text="Anything else?", required=False, order=3
    )
    services.publish_survey(survey=survey)
    survey.refresh_from_db()
    return survey


def test_back_and_forth_keeps_the_current_solution_and_can_clear_an_optional_answer(
    with_solution,
):
    survey = with_solution
    client = Client()
    url = survey.public_path()
    client.post(url, {"page": 0})
    client.post(url, {"page": 1, "q-uses_tool": "Yes"})
    client.post(
        url,
        {"page": 2, "q-role": "Manager", "q-note": "hello", "current_solution_other": "Excel"},
    )
    response = Response.objects.get()
    assert (response.page, response.current_solution) == (3, "Excel")
    client.post(url, {"page": 3, "go": "back"})
    # The page shown again holds what was saved, and a Back with its box emptied keeps it.
    page = client.get(url).content.decode()
    assert 'name="current_solution_other" type="text" maxlength="200" value="Excel"' in page
    client.post(url, {"page": 2, "go": "back", "q-role": "Manager"})
    response.refresh_from_db()
    assert (response.page, response.current_solution) == (1, "Excel")
    # Forward again with the optional note emptied: the note is gone.
    client.post(url, {"page": 1, "q-uses_tool": "Yes"})
    client.post(url, {"page": 2, "q-role": "Manager", "current_solution_other": "Excel"})
    response.refresh_from_db()
    assert response.page == 3 and response.profile == {"uses_tool": "Yes", "role": "Manager"}


def test_a_back_before_any_answer_stores_nothing(survey):
    reply = Client().post(survey.public_path(), {"page": 0, "go": "back"})
    assert reply.status_code == 302
    assert not Response.objects.exists()


@pytest.mark.parametrize("go", ["", "back"])
def test_digits_that_are_not_ascii_are_no_rating_and_no_500(survey, go):
    client = Client()
    url = survey.public_path()
    client.post(url, {"page": 0})
    client.post(url, {"page": 1, "q-uses_tool": "Yes"})
    client.post(url, {"page": 2, "q-role": "Manager"})
    code = Response.objects.get().shown_order["step-0-0"][0]
    reply = client.post(url, {"page": 3, f"imp-{code}": "²", f"sat-{code}": "٣", "go": go})
    assert reply.status_code == (302 if go else 200)  # back, or the page with its problems
    stored = ratings.decode_answers(
        Response.objects.get().ratings, survey.current_version.outcome_codes
    )
    assert stored.get(code, (None, None)) == (None, None)
