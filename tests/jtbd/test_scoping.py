"""Roles and cross-workspace references of the catalogue, on every catalogue URL it routes.

The routes are not hand-picked: they are enumerated from the URL resolver, so a page or API
action added later is covered without touching this file. A viewer of this workspace reads but
never writes, and no form or body can point into another workspace. That a member of another
workspace gets 404 on every object URL (and anonymous users a login) is checked for every route
of the project in tests/security/test_isolation.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from jtbd.models import DesiredOutcome, Job, JobStep
from tests.factories import JobFactory, MembershipFactory, add_outcomes
from workspaces.models import Membership, Role, Workspace

pytestmark = pytest.mark.django_db


HIJACK = "Minimize the time it takes to hijack another workspace's catalogue"


# --- route enumeration ------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    namespace: str | None
    name: str
    route: str  # the full pattern text, prefixes included
    params: frozenset[str]
    callback: object

    @property
    def url_name(self) -> str:
        return f"{self.namespace}:{self.name}" if self.namespace else self.name

    @property
    def is_api(self) -> bool:
        return self.route.startswith("api/") and hasattr(self.callback, "actions")

    @property
    def target(self) -> str | None:
        """The kind of object the pk names, from the path segment right before it."""
        match = re.search(r"([a-z]+)/(?:<(?:int:)?pk>|\(\?P<pk>)", self.route)
        return match.group(1) if match else None

    def url(self, pk: int) -> str:
        kwargs = {"pk": pk}
        if "format" in self.params:
            kwargs["format"] = "json"
        return reverse(self.url_name, kwargs=kwargs)

    def api_methods(self) -> set[str]:
        return {m.upper() for m in getattr(self.callback, "actions", {})}

    def __str__(self) -> str:
        suffix = ".<format>" if "format" in self.params else ""
        return f"{'api' if self.is_api else 'page'}:{self.name}{suffix}"


def _walk(patterns, prefix: str = "", namespace: str | None = None, params=frozenset()):
    for entry in patterns:
        route = prefix + str(entry.pattern)
        names = params | frozenset(entry.pattern.regex.groupindex)
        if isinstance(entry, URLResolver):
            ns = namespace
            if entry.namespace:
                ns = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from _walk(entry.url_patterns, route, ns, names)
        elif isinstance(entry, URLPattern) and entry.name:
            yield Route(namespace, entry.name, route, names, entry.callback)


def all_routes() -> list[Route]:
    seen, routes = set(), []
    for r in _walk(get_resolver().url_patterns):
        key = (r.namespace, r.name, r.params)
        if key not in seen:
            seen.add(key)
            routes.append(r)
    return routes


# API path segments of catalogue objects; other apps' routes are checked by their own tests.
TARGETS = {"jobs": "job", "steps": "step", "outcomes": "outcome", "workspaces": "workspace"}


def catalogue_routes() -> list[Route]:
    """Every page of the jtbd namespace and every catalogue API route that takes a pk."""
    return [
        r
        for r in all_routes()
        if "pk" in r.params
        and (r.namespace == "jtbd" or (r.namespace is None and r.is_api and r.target in TARGETS))
    ]


PAGE_ROUTES = [r for r in catalogue_routes() if not r.is_api]
API_ROUTES = [r for r in catalogue_routes() if r.is_api]
VIEWSET_ACTIONS = {"list", "create", "retrieve", "update", "partial_update", "destroy"}


def _api_params() -> list:
    """API routes as test params, format-suffixed variants included."""
    return [pytest.param(r, id=str(r)) for r in API_ROUTES]


def test_the_enumeration_finds_every_catalogue_route_and_knows_what_each_pk_names():
    routes = catalogue_routes()
    names = {str(r) for r in routes}
    assert len(PAGE_ROUTES) >= 15, names
    assert len(API_ROUTES) >= 10, names
    # Spot checks that both kinds of pattern (path() and the router's regexes) were walked.
    for expected in (
        "page:job-edit",
        "page:outcome-approve",
        "page:step-move",
        "api:job-reorder-steps",
        "api:outcome-approve",
        "api:step-move",
        "api:job-import-csv",
    ):
        assert expected in names
    unknown = [str(r) for r in routes if r.target not in TARGETS]
    assert unknown == []


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def victim(workspace, job, researcher):
    """Workspace B's catalogue: a job with 3 outcomes in its first step and 7 empty steps."""
    steps = list(job.steps.order_by("order"))
    return {
        "workspace": workspace,
        "job": job,
        "step": steps[1],  # empty, so a leaked delete would succeed and show
        "outcome": job.outcomes.order_by("order").first(),
        "steps": steps,
    }


@pytest.fixture
def attacker(outsider, other_workspace):
    """A researcher of workspace A, with a catalogue of their own."""
    own = JobFactory(workspace=other_workspace, statement="Keep my own team's work on track")
    add_outcomes(own, ["Minimize the time it takes to see who is blocked on the team"])
    return outsider


def snapshot() -> tuple:
    """Every catalogue row and membership of every workspace."""
    return (
        list(Workspace.objects.order_by("pk").values_list("pk", "name", "solution_words")),
        list(
            Membership.objects.order_by("pk").values_list("pk", "workspace_id", "user_id", "role")
        ),
        list(
            Job.objects.order_by("pk").values_list(
                "pk", "workspace_id", "statement", "executor", "kind", "parent_id", "notes"
            )
        ),
        list(
            JobStep.objects.order_by("pk").values_list(
                "pk", "job_id", "stage", "title", "description", "order"
            )
        ),
        list(
            DesiredOutcome.objects.order_by("pk").values_list(
                "pk", "job_id", "step_id", "code", "statement", "status", "order"
            )
        ),
    )


def _pk_for(route: Route, objects: dict) -> int:
    return objects[TARGETS[route.target]].pk


def _csv_file() -> SimpleUploadedFile:
    body = "stage,step_title,code,statement\ndefine,Define,HIJACK1," + HIJACK + "\n"
    return SimpleUploadedFile("catalogue.csv", body.encode(), content_type="text/csv")


def _page_post_data(objects: dict) -> dict:
    """A POST body that would pass every catalogue form, so a leak would really write."""
    return {
        "statement": HIJACK,
        "executor": "Mallory",
        "kind": "core_functional",
        "notes": "hijacked",
        "confirm": objects["job"].statement,
        "stage": "define",
        "title": "Hijacked",
        "description": "hijacked",
        "step": objects["step"].pk,
        "code": "",
        "status": "approved",
        "direction": "down",
        "file": _csv_file(),
    }


def _api_body(objects: dict) -> dict:
    return {
        "statement": HIJACK,
        "executor": "Mallory",
        "kind": "core_functional",
        "workspace": objects["workspace"].pk,
        "job": objects["job"].pk,
        "step": objects["step"].pk,
        "stage": "define",
        "title": "Hijacked",
        "status": "approved",
        "offset": 1,
        "step_ids": [s.pk for s in reversed(objects["steps"])],
    }


# --- another workspace's objects: 404 everywhere ----------------------------------------------


def test_creating_steps_and_outcomes_in_another_workspaces_job_reads_as_does_not_exist(
    attacker, victim, api_as
):
    api = api_as(attacker)
    before = snapshot()
    attempts = [
        ("/api/steps/", {"job": victim["job"].pk, "stage": "define", "title": "Hijacked"}, "job"),
        ("/api/outcomes/", {"step": victim["step"].pk, "statement": HIJACK}, "step"),
        (
            "/api/jobs/",
            {
                "workspace": victim["workspace"].pk,
                "statement": "Take over a team",
                "executor": "Mallory",
                "kind": "core_functional",
            },
            "workspace",
        ),
    ]
    for url, body, field in attempts:
        response = api.post(url, body, format="json")
        assert response.status_code == 400, url
        assert "does not exist" in str(response.json()[field]), url
    assert snapshot() == before


def test_a_job_of_another_workspace_cannot_become_a_parent(attacker, victim, api_as):
    api = api_as(attacker)
    own_job = Job.objects.get(workspace__memberships__user=attacker)
    before = snapshot()
    response = api.patch(f"/api/jobs/{own_job.pk}/", {"parent": victim["job"].pk}, format="json")
    assert response.status_code == 400
    assert "does not exist" in str(response.json()["parent"])
    assert snapshot() == before


def test_an_outcome_cannot_be_moved_into_another_workspaces_step(attacker, victim, api_as):
    api = api_as(attacker)
    own_outcome = DesiredOutcome.objects.get(job__workspace__memberships__user=attacker)
    before = snapshot()
    response = api.patch(
        f"/api/outcomes/{own_outcome.pk}/", {"step": victim["step"].pk}, format="json"
    )
    assert response.status_code == 400
    assert "does not exist" in str(response.json()["step"])
    assert snapshot() == before


def test_statement_check_with_another_workspaces_job_is_400(attacker, victim, api_as):
    response = api_as(attacker).post(
        "/api/statement-check/",
        {"statement": victim["outcome"].statement, "job": victim["job"].pk},
        format="json",
    )
    assert response.status_code == 400
    assert "does not exist" in str(response.json()["job"])


def test_importing_json_into_another_workspace_is_refused(attacker, victim, api_as):
    before = snapshot()
    document = {"format": "opportunity-engine.catalogue", "version": 1, "job": {}, "steps": []}
    response = api_as(attacker).post(
        f"/api/jobs/import/?workspace={victim['workspace'].pk}", document, format="json"
    )
    assert response.status_code == 400
    assert "workspace" in response.json()
    assert snapshot() == before


def test_a_page_form_cannot_reference_another_workspaces_step(client, attacker, victim):
    client.force_login(attacker)
    own_job = Job.objects.get(workspace__memberships__user=attacker)
    before = snapshot()
    response = client.post(
        f"/jobs/{own_job.pk}/outcomes/new/",
        {"step": victim["step"].pk, "statement": HIJACK, "code": "", "status": "draft"},
    )
    assert response.status_code == 200
    assert "step" in response.context["form"].errors
    assert snapshot() == before


# --- anonymous users ----------------------------------------------------------------------------


# --- viewers read but never write --------------------------------------------------------------

# Pages that only read; every other catalogue or workspace page is a write page and must refuse a
# viewer.
PAGE_NAMESPACES = ("jtbd", "workspaces")
READ_PAGES = {
    "home",
    "job-list",
    "job-detail",
    "statement-check",
    "job-export-json",
    "job-export-csv",
    "workspace-switch",  # changes only the viewer's own session
}


@pytest.fixture
def own(workspace, job):
    steps = list(job.steps.order_by("order"))
    return {
        "workspace": workspace,
        "job": job,
        "step": steps[1],
        "outcome": job.outcomes.order_by("order").first(),
        "steps": steps,
    }


def test_every_read_page_name_still_exists():
    names = {r.name for r in all_routes() if r.namespace in PAGE_NAMESPACES}
    assert names >= READ_PAGES


def test_viewer_gets_403_from_every_write_page_and_nothing_changes(client, viewer, own):
    client.force_login(viewer)
    before = snapshot()
    write_pages = [
        r for r in all_routes() if r.namespace in PAGE_NAMESPACES and r.name not in READ_PAGES
    ]
    assert len(write_pages) >= 14
    for route in write_pages:
        url = route.url(_pk_for(route, own)) if "pk" in route.params else reverse(route.url_name)
        response = client.post(url, _page_post_data(own))
        assert response.status_code == 403, url
    assert snapshot() == before


def test_viewer_can_read_the_job_page_check_page_and_exports(client, viewer, own):
    client.force_login(viewer)
    job = own["job"]
    for name in ("job-detail", "statement-check", "job-export-json", "job-export-csv"):
        response = client.get(reverse(f"jtbd:{name}", args=[job.pk]))
        assert response.status_code == 200, name
    page = client.get(reverse("jtbd:job-detail", args=[job.pk])).content.decode()
    assert own["outcome"].statement in page
    assert reverse("jtbd:outcome-edit", args=[own["outcome"].pk]) not in page


@pytest.mark.parametrize("route", _api_params())
def test_viewer_gets_403_from_every_api_write_and_can_read(route, viewer, own):
    api = APIClient()
    api.force_authenticate(viewer)
    before = snapshot()
    url = route.url(_pk_for(route, own))
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        body = None if method in ("GET", "DELETE") else _api_body(own)
        response = getattr(api, method.lower())(url, body, format="json")
        expected = {"GET": 200}.get(method, 403) if method in route.api_methods() else 405
        assert response.status_code == expected, (method, url, response.content[:200])
    assert snapshot() == before


def test_viewer_cannot_create_or_import_through_the_api(viewer, own, api_as):
    api = api_as(viewer)
    before = snapshot()
    job = own["job"]
    attempts = [
        (
            "/api/jobs/",
            {
                "workspace": own["workspace"].pk,
                "statement": "Run a team retrospective",
                "executor": "Team lead",
                "kind": "core_functional",
            },
        ),
        ("/api/steps/", {"job": job.pk, "stage": "define", "title": "New step"}),
        ("/api/outcomes/", {"step": own["step"].pk, "statement": HIJACK}),
        (
            f"/api/jobs/import/?workspace={own['workspace'].pk}",
            {
                "format": "opportunity-engine.catalogue",
                "version": 1,
                "job": {"statement": "A job", "executor": "Lead", "kind": "related"},
                "steps": [],
            },
        ),
    ]
    for url, body in attempts:
        response = api.post(url, body, format="json")
        assert response.status_code == 403, url
    upload = api.post(f"/api/jobs/{job.pk}/import-csv/", {"file": _csv_file()}, format="multipart")
    assert upload.status_code == 403
    assert snapshot() == before


def test_viewer_can_read_through_the_api(viewer, own, api_as):
    api = api_as(viewer)
    job = own["job"]
    assert api.get(f"/api/jobs/{job.pk}/").json()["outcome_count"] == 3
    assert len(api.get(f"/api/steps/?job={job.pk}").json()["results"]) == 8
    assert len(api.get(f"/api/outcomes/?job={job.pk}").json()["results"]) == 3
    assert api.get(f"/api/jobs/{job.pk}/export/json/").json()["job"]["statement"] == job.statement
    csv_response = api.get(f"/api/jobs/{job.pk}/export/csv/")
    assert csv_response.status_code == 200
    assert own["outcome"].code in csv_response.content.decode()
    check = api.post("/api/statement-check/", {"statement": HIJACK, "job": job.pk}, format="json")
    assert check.status_code == 200
    workspaces = api.get("/api/workspaces/").json()["results"]
    assert [(w["id"], w["role"]) for w in workspaces] == [(own["workspace"].pk, "viewer")]


def test_a_researcher_elsewhere_who_only_views_this_workspace_cannot_write_here(
    api_as, viewer, own, other_workspace
):
    """Write rights are per workspace: being a researcher in A gives none in B."""
    MembershipFactory(workspace=other_workspace, user=viewer, role=Role.RESEARCHER)
    mine = JobFactory(workspace=other_workspace, statement="My own job elsewhere")
    my_outcome = add_outcomes(mine, ["Minimize the number of handovers that lose context"])[0]
    api = api_as(viewer)
    before = snapshot()
    job = own["job"]
    for url, body in (
        (
            "/api/jobs/",
            {
                "workspace": own["workspace"].pk,
                "statement": "Run a retrospective",
                "executor": "Lead",
                "kind": "related",
            },
        ),
        ("/api/steps/", {"job": job.pk, "stage": "define", "title": "New step"}),
        ("/api/outcomes/", {"step": own["step"].pk, "statement": HIJACK}),
    ):
        assert api.post(url, body, format="json").status_code == 403, url
    moved = api.patch(f"/api/outcomes/{my_outcome.pk}/", {"step": own["step"].pk}, format="json")
    assert moved.status_code == 400
    parent = api.patch(f"/api/jobs/{mine.pk}/", {"parent": job.pk}, format="json")
    assert parent.status_code == 400
    assert snapshot() == before
