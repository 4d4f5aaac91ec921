"""A question's key is made once and stable for life, like an outcome code: editing the text never
changes it, and once a published version carries it, changing it is refused (API 400, page 400),
so exports keep one column per question and API clients' keys keep working."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from surveys import services
from surveys.models import Question, Survey

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey(workspace, job) -> Survey:
    return services.create_survey(workspace=workspace, job=job, title="Roles")


@pytest.fixture
def api(api_as, researcher) -> APIClient:
    return api_as(researcher)


@pytest.fixture
def page(researcher) -> Client:
    client = Client()
    client.force_login(researcher)
    return client


def add_role(api: APIClient, survey: Survey) -> dict:
    body = {"survey": survey.pk, "kind": "single", "text": "Role", "options": ["Lead", "Member"]}
    created = api.post("/api/questions/", body, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["key"] == "role"
    return created.json()


def publish(survey: Survey) -> None:
    services.publish_survey(survey=survey)
    survey.refresh_from_db()


def test_editing_the_text_through_the_api_keeps_the_key(api, survey, codes_of):
    question = add_role(api, survey)
    publish(survey)
    edited = api.patch(f"/api/questions/{question['id']}/", {"text": "Your role"}, format="json")
    assert edited.status_code == 200, edited.content
    assert edited.json()["key"] == "role"
    publish(survey)
    assert survey.current_version.number == 2
    assert [q["key"] for q in survey.current_version.content["questions"]] == ["role"]
    # An API client still sends the key it has always sent.
    answers = {
        "ratings": {c: {"importance": 4, "satisfaction": 2} for c in codes_of(survey)},
        "profile": {"role": "Lead"},
    }
    sent = APIClient().post(
        f"/api/public/surveys/{survey.public_token}/responses/",
        {"idempotency_key": "crm-1", "answers": answers},
        format="json",
    )
    assert sent.status_code == 201, sent.content
    assert survey.responses.get().profile == {"role": "Lead"}


def test_a_full_update_without_a_key_keeps_the_key(api, survey):
    question = add_role(api, survey)
    body = {"survey": survey.pk, "kind": "single", "text": "Team role", "options": ["A", "B"]}
    edited = api.put(f"/api/questions/{question['id']}/", body, format="json")
    assert edited.status_code == 200, edited.content
    assert Question.objects.get(pk=question["id"]).key == "role"


def test_a_key_may_change_until_a_version_carries_it(api, survey):
    question = add_role(api, survey)
    url = f"/api/questions/{question['id']}/"
    renamed = api.patch(url, {"key": "team_role"}, format="json")
    assert renamed.status_code == 200, renamed.content
    assert Question.objects.get(pk=question["id"]).key == "team_role"


def test_changing_a_published_key_through_the_api_is_refused_and_nothing_is_saved(api, survey):
    question = add_role(api, survey)
    publish(survey)
    url = f"/api/questions/{question['id']}/"
    refused = api.patch(url, {"key": "your_role", "text": "Your role"}, format="json")
    assert refused.status_code == 400
    assert refused.json() == {
        "key": [
            "The key “role” is in a published version of this survey, so it cannot change: "
            "answers, exports and API clients use it."
        ]
    }
    stored = Question.objects.get(pk=question["id"])
    assert (stored.key, stored.text) == ("role", "Role")


def test_a_question_added_after_publishing_may_still_be_renamed(api, survey):
    add_role(api, survey)
    publish(survey)
    body = {"survey": survey.pk, "kind": "text", "text": "Team name"}
    added = api.post("/api/questions/", body, format="json").json()
    renamed = api.patch(f"/api/questions/{added['id']}/", {"key": "team"}, format="json")
    assert renamed.status_code == 200, renamed.content
    assert renamed.json()["key"] == "team"


def edit_on_the_page(page: Client, question: Question, **fields):
    data = {
        "text": question.text,
        "key": question.key,
        "kind": question.kind,
        "required": "on",
        "options_text": "\n".join(question.options),
        "disqualifying_text": "",
        **fields,
    }
    url = reverse("surveys:question-edit", args=[question.survey_id, question.pk])
    return page.post(url, data)


def test_editing_the_text_on_the_page_with_the_key_left_blank_keeps_the_key(api, page, survey):
    question = Question.objects.get(pk=add_role(api, survey)["id"])
    publish(survey)
    saved = edit_on_the_page(page, question, text="Your role", key="")
    assert saved.status_code == 302
    stored = Question.objects.get(pk=question.pk)
    assert (stored.key, stored.text) == ("role", "Your role")


def test_changing_a_published_key_on_the_page_is_refused_and_nothing_is_saved(api, page, survey):
    question = Question.objects.get(pk=add_role(api, survey)["id"])
    publish(survey)
    refused = edit_on_the_page(page, question, text="Your role", key="your_role")
    assert refused.status_code == 400
    assert "The key “role” is in a published version of this survey" in refused.content.decode()
    stored = Question.objects.get(pk=question.pk)
    assert (stored.key, stored.text) == ("role", "Role")


@pytest.fixture
def codes_of():
    return lambda survey: survey.current_version.outcome_codes


def posted_as_rendered(response, changes: dict[str, str]) -> dict[str, str]:
    """The admin change form's fields as the page rendered them (the survey and its question
    inline), with `changes` applied: what a browser would send."""
    forms = [response.context["adminform"].form]
    data: dict[str, str] = {}
    for formset in response.context["inline_admin_formsets"]:
        forms += formset.formset.forms
        management = formset.formset.management_form
        data.update({management.add_prefix(n): str(v) for n, v in management.initial.items()})
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            if value is True:
                data[form.add_prefix(name)] = "on"
            elif value not in (None, False):
                data[form.add_prefix(name)] = str(value)
    return {**data, **changes}


def test_changing_a_published_key_in_the_admin_is_refused_and_nothing_is_saved(api, survey):
    question = add_role(api, survey)
    publish(survey)
    admin = Client()
    admin.force_login(
        get_user_model().objects.create_superuser("root", "root@example.com", "a-long-password")
    )
    url = reverse("admin:surveys_survey_change", args=[survey.pk])
    shown = admin.get(url)
    assert shown.status_code == 200
    refused = admin.post(url, posted_as_rendered(shown, {"questions-0-key": "job_title"}))
    assert refused.status_code == 200  # the form again, with the error
    assert "is in a published version of this survey" in refused.content.decode()
    assert Question.objects.get(pk=question["id"]).key == "role"

    # The same form with the key as it was saves: the refusal is the key's, not the form's.
    saved = admin.post(url, posted_as_rendered(shown, {"questions-0-text": "Your role"}))
    assert saved.status_code == 302, saved.content.decode()[:2000]
    assert Question.objects.get(pk=question["id"]).text == "Your role"
