"""Every form is protected against cross-site request forgery.

The routes come from the URL resolver (as in tests/jtbd/test_scoping.py), so a page added later
is covered without touching this file: a POST without a token to any page is refused by the
CSRF check with 403 and changes nothing, even when it comes from an owner with a body the form
would accept; every POST form the pages render carries the token; and the session-authenticated
API refuses an unsafe request without the X-CSRFToken header.
"""

from __future__ import annotations

from html.parser import HTMLParser
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.urls import NoReverseMatch, reverse

from analysis import export_jobs
from analysis.models import AnalysisRun, ExportJob
from jtbd.models import DesiredOutcome, Job, JobStep
from surveys.models import Invitation, Question, Response, Survey
from tests.jtbd.test_scoping import Route, all_routes
from tests.security.support import published_survey
from workspaces.models import Membership, Role, Workspace

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tests"
# Pages a visitor without an account posts to.
ANONYMOUS = (
    "s/",
    "i/",
    "accounts/login/",
    "accounts/password_reset",
    "accounts/reset/",
    "admin/login/",
)
# Routes under api/ are DRF views: they check CSRF for session authentication themselves
# (tested below) and none for token authentication, which a browser cannot send by itself.
PAGE_ROUTES = [r for r in all_routes() if not r.route.startswith("api/")]


def _url(route: Route, objects: dict) -> str:
    """The route's URL for this world's objects (any id where the object does not matter)."""
    targets = {"jobs": "job", "steps": "step", "outcomes": "outcome", "surveys": "survey"}
    kwargs: dict[str, object] = {}
    for name in route.params:
        if name == "pk":
            kwargs[name] = objects[targets[route.target]].pk
        elif name == "question_pk":
            kwargs[name] = objects["question"].pk
        elif name == "job_id":
            kwargs[name] = objects["export"].pk if objects.get("export") else 1
        elif name == "token":
            kwargs[name] = (
                objects["invitation"].token
                if route.name == "invitation"
                else objects["survey"].public_token
                if route.name == "public"
                else "set-password"
            )
        elif name in ("object_id", "id", "content_type_id"):
            kwargs[name] = str(objects["owner"].pk)
        elif name == "app_label":
            kwargs[name] = "auth"
        elif name == "uidb64":
            kwargs[name] = "MQ"
        else:
            raise AssertionError(f"{route.route}: no value for the URL parameter {name!r}")
    return reverse(route.url_name, kwargs=kwargs)


def _is_anonymous(route: Route) -> bool:
    return route.route.startswith(ANONYMOUS)


# --- POST without a token ---------------------------------------------------------------------


@pytest.fixture
def objects(workspace, owner, job) -> dict:
    survey = published_survey(job)
    steps = list(job.steps.order_by("order"))
    return {
        "workspace": workspace,
        "owner": owner,
        "job": job,
        "step": steps[1],
        "outcome": job.outcomes.order_by("order").first(),
        "survey": survey,
        "question": Question.objects.create(survey=survey, key="role", kind="text", text="Role?"),
        "invitation": Invitation.objects.create(survey=survey, external_id="person-1"),
    }


def _forged_body(objects: dict) -> dict:
    """A body each form would accept, so only the CSRF check stands in the way."""
    return {
        "username": objects["owner"].username,
        "password": PASSWORD,
        "statement": "Minimize the time it takes to forge a request",
        "executor": "Mallory",
        "kind": "core_functional",
        "title": "Forged",
        "stage": "define",
        "confirm": objects["job"].statement,
        "step": objects["step"].pk,
        "direction": "down",
        "status": "approved",
        "workspace": objects["workspace"].pk,
        "name": "Forged",
        "text": "Forged?",
        "key": "forged",
        "people": "forged@example.org",
        "page": "0",
        "consent": "yes",
        "response": 1,
        "include": "0",
        "old_password": PASSWORD,
        "new_password1": "a-forged-Password-1",
        "new_password2": "a-forged-Password-1",
        "email": "victim@example.org",
    }


def snapshot() -> dict:
    return {
        "workspaces": list(Workspace.objects.order_by("pk").values_list("pk", "name")),
        "memberships": list(Membership.objects.order_by("pk").values_list("pk", "role")),
        "users": list(get_user_model().objects.order_by("pk").values_list("pk", "password")),
        "jobs": list(Job.objects.order_by("pk").values_list("pk", "statement", "executor")),
        "steps": list(JobStep.objects.order_by("pk").values_list("pk", "title", "order")),
        "outcomes": list(
            DesiredOutcome.objects.order_by("pk").values_list("pk", "statement", "status", "order")
        ),
        "surveys": list(Survey.objects.order_by("pk").values_list("pk", "title", "status")),
        "questions": list(Question.objects.order_by("pk").values_list("pk", "text")),
        "invitations": Invitation.objects.count(),
        "responses": Response.objects.count(),
        "runs": AnalysisRun.objects.count(),
        "exports": ExportJob.objects.count(),
    }


def test_every_page_refuses_a_post_without_a_csrf_token_and_changes_nothing(objects):
    owner_client = Client(enforce_csrf_checks=True)
    owner_client.force_login(objects["owner"])
    before = snapshot()
    wrong: list[str] = []
    for route in PAGE_ROUTES:
        try:
            url = _url(route, objects)
        except NoReverseMatch:
            wrong.append(f"{route.route}: cannot be reversed")
            continue
        client = Client(enforce_csrf_checks=True) if _is_anonymous(route) else owner_client
        response = client.post(url, _forged_body(objects))
        # The CSRF failure page ("Please try again"), not some other refusal.
        if response.status_code != 403 or b"Please try again" not in response.content:
            wrong.append(f"{route.route} -> {response.status_code}")
    assert wrong == []
    assert len(PAGE_ROUTES) > 100  # the app's pages, the admin's and the sign-in pages
    assert snapshot() == before
    assert "_auth_user_id" not in Client().session


def test_the_same_post_with_a_token_gets_through(objects):
    """The control for the test above: with the token, the forged body does what it says."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(objects["owner"])
    page = client.get(f"/jobs/{objects['job'].pk}/edit/")
    token = page.cookies["csrftoken"].value if "csrftoken" in page.cookies else None
    token = token or client.cookies["csrftoken"].value
    body = {**_forged_body(objects), "csrfmiddlewaretoken": token}
    response = client.post(f"/jobs/{objects['job'].pk}/edit/", body)
    assert response.status_code == 302
    assert Job.objects.get(pk=objects["job"].pk).executor == "Mallory"


def test_the_session_api_refuses_an_unsafe_request_without_the_csrf_header(objects):
    client = Client(enforce_csrf_checks=True)
    client.force_login(objects["owner"])
    body = {
        "workspace": objects["workspace"].pk,
        "statement": "Get a forged job into the catalogue",
        "executor": "Mallory",
        "kind": "core_functional",
    }
    before = Job.objects.count()
    refused = client.post("/api/jobs/", body, content_type="application/json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    assert Job.objects.count() == before
    client.get("/jobs/")  # sets the CSRF cookie, as the app's pages do
    token = client.cookies["csrftoken"].value
    allowed = client.post(
        "/api/jobs/", body, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert allowed.status_code == 201, allowed.content
    assert Job.objects.count() == before + 1


# --- every rendered POST form carries the token -----------------------------------------------


class _Forms(HTMLParser):
    """The POST forms of a page and whether each holds a csrfmiddlewaretoken input."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self._open: dict | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self._open = {
                "method": (a.get("method") or "get").lower(),
                "token": False,
                "action": a.get("action"),
            }
            self.forms.append(self._open)
        elif tag == "input" and self._open is not None and a.get("name") == "csrfmiddlewaretoken":
            self._open["token"] = bool(a.get("value"))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._open = None


def post_forms(html: str) -> list[dict]:
    parser = _Forms()
    parser.feed(html)
    return [f for f in parser.forms if f["method"] == "post"]


@pytest.fixture
def demo(db) -> dict:
    """The demo study (catalogue, published survey with responses, a finished analysis with
    segments) plus a question, an invitation and an export, so every page has content."""
    call_command("seed_demo", known_passwords=True, stdout=StringIO())
    survey = Survey.objects.get()
    job = Job.objects.get()
    owner = get_user_model().objects.get(username="demo")
    assert Membership.objects.get(user=owner).role == Role.OWNER
    run = AnalysisRun.objects.latest_succeeded(survey)
    export = export_jobs.request_export(run=run, fmt="csv", by=owner)
    return {
        "owner": owner,
        "job": job,
        "step": job.steps.order_by("order").first(),
        "outcome": job.outcomes.order_by("order").first(),
        "survey": survey,
        "question": Question.objects.filter(survey=survey).first()
        or Question.objects.create(survey=survey, key="role", kind="text", text="Role?"),
        "invitation": Invitation.objects.create(survey=survey, external_id="person-1"),
        "export": export,
    }


def test_every_post_form_on_every_page_carries_the_csrf_token(demo):
    owner = Client()
    owner.force_login(demo["owner"])
    rendered, missing, forms_seen = [], [], 0
    for route in PAGE_ROUTES:
        if route.namespace == "admin" and route.name != "login":
            continue  # Django's own admin templates; its sign-in page is checked
        client = Client() if _is_anonymous(route) else owner
        response = client.get(_url(route, demo))
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        rendered.append(route.url_name)
        for form in post_forms(response.content.decode()):
            forms_seen += 1
            if not form["token"]:
                missing.append(f"{route.route}: form action={form['action']!r}")
    assert missing == []
    # The pages with forms really rendered, not redirects or errors.
    for name in (
        "login",
        "jtbd:job-detail",
        "jtbd:job-edit",
        "jtbd:outcome-edit",
        "workspaces:workspace-settings",
        "surveys:survey-detail",
        "surveys:invitations",
        "surveys:responses",
        "surveys:response-import",
        "surveys:public",
        "surveys:invitation",
        "analysis:analysis",
        "analysis:results",
    ):
        assert name in rendered, name
    assert forms_seen >= 30, forms_seen
