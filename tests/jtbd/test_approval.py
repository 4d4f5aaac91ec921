"""Approving drafts: what the statement check flags is approved only deliberately, on the page
and through the API; the rest is approved in bulk, with a word about what was left."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages

from jtbd import services
from jtbd.models import OutcomeStatus

pytestmark = pytest.mark.django_db

CLEAN = "Minimize the time it takes to schedule the first training session for the team"
# A solution word and a vague word: the statement check flags it with two warnings.
FLAGGED = "Minimize the time it takes to configure the dashboard quickly"


@pytest.fixture
def drafts(job):
    """The job's three approved outcomes plus a clean draft (O004) and a flagged one (O005)."""
    step = job.steps.order_by("order").first()
    clean = services.add_outcome(step=step, statement=CLEAN, status=OutcomeStatus.DRAFT)
    flagged = services.add_outcome(step=step, statement=FLAGGED, status=OutcomeStatus.DRAFT)
    assert (clean.code, flagged.code) == ("O004", "O005")
    return clean, flagged


def statuses(job) -> dict[str, str]:
    return dict(job.outcomes.values_list("code", "status"))


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def web(client, researcher):
    client.force_login(researcher)
    return client


def test_approve_all_on_the_page_leaves_flagged_drafts_and_says_which_and_why(web, job, drafts):
    response = web.post(f"/jobs/{job.pk}/approve-all/")
    assert statuses(job)["O004"] == "approved"
    assert statuses(job)["O005"] == "draft"
    notes = messages_of(response)
    assert notes[0] == "1 draft outcome approved."
    assert notes[1].startswith("1 flagged draft left as draft (O005): the statement check found")


def test_the_job_page_offers_approve_all_for_clean_drafts_and_a_separate_confirm_step(
    web, job, drafts
):
    page = web.get(job.get_absolute_url()).content.decode()
    assert "Approve all drafts without findings (1)" in page
    # The confirm step lists the flagged draft with its findings, each behind its own tick box.
    confirm = page[page.index('id="approve-flagged"') :]
    confirm = confirm[: confirm.index("</details>")]
    assert 'name="confirm_flagged" value="O005"' in confirm
    assert FLAGGED in confirm
    assert "Solution word &quot;dashboard&quot;" in confirm
    assert 'value="O004"' not in confirm


def test_flagged_drafts_are_approved_only_when_ticked(web, job, drafts):
    response = web.post(f"/jobs/{job.pk}/approve-flagged/")
    assert messages_of(response) == [
        "Tick each flagged draft you mean to approve despite its findings."
    ]
    assert statuses(job)["O005"] == "draft"
    # Ticking a flagged draft approves it and nothing else (the clean draft stays a draft).
    response = web.post(f"/jobs/{job.pk}/approve-flagged/", {"confirm_flagged": ["O005"]})
    assert messages_of(response)[-1] == "1 flagged draft approved despite findings: O005."
    assert (statuses(job)["O004"], statuses(job)["O005"]) == ("draft", "approved")


def test_approving_one_flagged_outcome_on_the_page_needs_the_confirming_button(web, job, drafts):
    _, flagged = drafts
    response = web.post(f"/outcomes/{flagged.pk}/approve/")
    assert "The statement check flagged O005" in messages_of(response)[0]
    assert statuses(job)["O005"] == "draft"
    web.post(f"/outcomes/{flagged.pk}/approve/", {"confirm_flagged": "1"})
    assert statuses(job)["O005"] == "approved"


def test_api_approve_drafts_leaves_flagged_ones_unless_confirmed(api_as, researcher, job, drafts):
    api = api_as(researcher)
    body = api.post(f"/api/jobs/{job.pk}/approve-drafts/", {}, format="json").json()
    assert body["approved"] == ["O004"]
    assert [f["code"] for f in body["flagged"]] == ["O005"]
    assert {f["code"] for f in body["flagged"][0]["findings"]} == {"solution_word", "vague_word"}
    assert statuses(job)["O005"] == "draft"

    body = api.post(
        f"/api/jobs/{job.pk}/approve-drafts/", {"confirm_flagged": True}, format="json"
    ).json()
    assert body == {"approved": ["O005"], "flagged": []}
    assert set(statuses(job).values()) == {"approved"}


def test_api_approving_a_flagged_outcome_without_confirmation_is_400_naming_it(
    api_as, researcher, job, drafts
):
    api = api_as(researcher)
    _, flagged = drafts
    response = api.post(f"/api/outcomes/{flagged.pk}/approve/", {}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert "O005" in body["detail"]
    assert body["flagged"][0]["code"] == "O005"
    assert statuses(job)["O005"] == "draft"

    response = api.post(
        f"/api/outcomes/{flagged.pk}/approve/", {"confirm_flagged": True}, format="json"
    )
    assert response.status_code == 200
    assert statuses(job)["O005"] == "approved"


def test_viewers_cannot_approve_drafts_through_the_api(api_as, viewer, job, drafts):
    response = api_as(viewer).post(f"/api/jobs/{job.pk}/approve-drafts/", {}, format="json")
    assert response.status_code == 403
    assert statuses(job)["O004"] == "draft"


def test_setting_status_approved_through_the_api_is_as_deliberate(api_as, researcher, job, drafts):
    api = api_as(researcher)
    flagged = drafts[1]
    before = statuses(job)
    refused = api.patch(f"/api/outcomes/{flagged.pk}/", {"status": "approved"}, format="json")
    assert refused.status_code == 400
    assert refused.json()["flagged"][0]["code"] == "O005"
    assert statuses(job) == before
    created = api.post(
        "/api/outcomes/",
        {"step": flagged.step_id, "statement": FLAGGED + " again", "status": "approved"},
        format="json",
    )
    assert created.status_code == 400 and created.json()["flagged"][0]["code"] == "O006"
    assert statuses(job) == before  # nothing added
    clean = api.patch(f"/api/outcomes/{drafts[0].pk}/", {"status": "approved"}, format="json")
    assert clean.status_code == 200 and statuses(job)["O004"] == "approved"
    body = {"status": "approved", "confirm_flagged": True}
    confirmed = api.patch(f"/api/outcomes/{flagged.pk}/", body, format="json")
    assert confirmed.status_code == 200, confirmed.content
    assert "confirm_flagged" not in confirmed.json()
    assert statuses(job)["O005"] == "approved"


def test_choosing_approved_on_the_edit_page_needs_the_tick_for_a_flagged_statement(
    web, job, drafts
):
    flagged = drafts[1]
    form = {"step": flagged.step_id, "statement": FLAGGED, "code": "O005", "status": "approved"}
    refused = web.post(f"/outcomes/{flagged.pk}/edit/", form)
    assert refused.status_code == 200
    assert "The statement check flagged O005" in refused.content.decode()
    assert statuses(job)["O005"] == "draft"
    ticked = web.post(f"/outcomes/{flagged.pk}/edit/", {**form, "confirm_flagged": "on"})
    assert ticked.status_code == 302
    assert statuses(job)["O005"] == "approved"
