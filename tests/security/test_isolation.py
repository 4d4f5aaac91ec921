"""Workspace isolation on every URL and API operation the project serves.

Nothing here is a hand-picked list of URLs. The routes come from the URL resolver and the API
operations from the OpenAPI schema (the two must agree); each URL parameter is mapped to an
object of workspace B through the path segment that names it (``surveys/<pk>``,
``exports/<job_id>``), checked against the viewset's queryset model for API routes. A route
whose parameter maps to nothing fails `test_every_route_is_classified_and_every_parameter_names
_an_object`, so a new route cannot slip past these tests.

The attacker is the owner (the strongest role) of workspace A. For every object of B, with every
method, they get 404 (never 403, which would confirm the object exists) or 405 for a method the
route does not take, and no row of the database changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from functools import cache

import pytest
from django.apps import apps
from django.contrib.auth.models import AnonymousUser
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from drf_spectacular.generators import SchemaGenerator
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory

from analysis.models import AnalysisRun, ExportJob, SegmentResult
from jtbd.models import DesiredOutcome, Job, JobStep
from surveys.models import Invitation, Question, Response, Survey
from tests.factories import MembershipFactory, UserFactory
from tests.security.conftest import World
from workspaces.models import Role, Workspace

pytestmark = pytest.mark.django_db

MISSING = 987_654_321
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
HIJACK = "Minimize the time it takes to hijack another workspace's data"

# The path segment right before a URL parameter names the kind of object it is.
SEGMENT_MODELS: dict[str, type] = {
    "workspaces": Workspace,
    "jobs": Job,
    "steps": JobStep,
    "outcomes": DesiredOutcome,
    "surveys": Survey,
    "questions": Question,
    "invitations": Invitation,
    "responses": Response,
    "runs": AnalysisRun,
    "segments": SegmentResult,
    "exports": ExportJob,
}
# API routes that are not operations of the API, so not in the schema.
NOT_IN_SCHEMA = {
    "api-root": "DRF's browsable index of the router: a page of links, not an operation",
    "schema": "the OpenAPI document itself (SERVE_INCLUDE_SCHEMA is off)",
    "api-docs": "Swagger UI, a page that renders the schema",
}
# Parameters of respondent routes: unguessable tokens, the respondent's only credential.
TOKEN_PARAMS = {"token", "public_token"}
# App data whose rows must not change; sessions are left out (logging in writes them).
SNAPSHOT_APPS = ("workspaces", "jtbd", "surveys", "analysis", "auth", "authtoken")


def shows_bravo(content: bytes) -> bool:
    """Whether a page or an answer names workspace B ("Bravo Labs", its people and slug).
    Random tokens (CSRF, links) are left out: a CSRF token once spelt "bravo" by chance."""
    return "bravo" in re.sub(r"[A-Za-z0-9_-]{32,}", "", content.decode()).lower()


class Kind(Enum):
    OBJECT = "object"  # takes ids of workspace objects
    COLLECTION = "collection"  # no ids: lists, creation, imports, the user's own settings
    PUBLIC = "public"  # respondent pages and submission, by token
    API_META = "api-meta"  # the schema, its docs page and the router's index
    AUTH = "auth"  # Django's login, logout and password views
    ADMIN = "admin"  # Django admin: staff only, never workspace members as such


# --- the routes -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    namespace: str | None
    name: str
    route: str  # the full pattern text, prefixes included
    params: tuple[str, ...]
    callback: object

    @property
    def url_name(self) -> str:
        return f"{self.namespace}:{self.name}" if self.namespace else self.name

    @property
    def is_api(self) -> bool:
        return self.route.startswith("api/")

    @property
    def has_format_suffix(self) -> bool:
        return "format" in self.params

    @property
    def object_params(self) -> tuple[str, ...]:
        return tuple(p for p in self.params if p != "format")

    @property
    def kind(self) -> Kind:
        if self.namespace == "admin" or self.route.startswith("admin/"):
            return Kind.ADMIN
        if self.route.startswith("accounts/"):
            return Kind.AUTH
        if self.name in NOT_IN_SCHEMA and self.namespace is None:
            return Kind.API_META
        if TOKEN_PARAMS & set(self.params):
            return Kind.PUBLIC
        return Kind.OBJECT if self.object_params else Kind.COLLECTION

    def segment_of(self, param: str) -> str | None:
        match = re.search(rf"([a-z_-]+)/(?:<(?:\w+:)?{param}>|\(\?P<{param}>)", self.route)
        return match.group(1) if match else None

    def model_of(self, param: str) -> type | None:
        return SEGMENT_MODELS.get(self.segment_of(param) or "")

    def url(self, values: dict[str, object]) -> str:
        kwargs = {p: values[p] for p in self.object_params}
        if self.has_format_suffix:
            kwargs["format"] = "json"
        return reverse(self.url_name, kwargs=kwargs)

    def api_methods(self) -> set[str]:
        """The HTTP methods the API view answers (HEAD and OPTIONS aside)."""
        actions = getattr(self.callback, "actions", None)
        if actions is not None:
            methods = set(actions)
        else:
            view_class = getattr(self.callback, "view_class", None) or getattr(
                self.callback, "cls", None
            )
            methods = {m for m in view_class.http_method_names if hasattr(view_class, m)}
        return {m.upper() for m in methods} - {"HEAD", "OPTIONS"}

    def __str__(self) -> str:
        suffix = ".<format>" if self.has_format_suffix else ""
        return f"{'api' if self.is_api else 'page'}:{self.url_name}{suffix}"


def _walk(patterns, prefix: str = "", namespace: str | None = None, params=()):
    for entry in patterns:
        route = prefix + str(entry.pattern)
        names = params + tuple(p for p in entry.pattern.regex.groupindex if p not in params)
        if isinstance(entry, URLResolver):
            ns = namespace
            if entry.namespace:
                ns = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from _walk(entry.url_patterns, route, ns, names)
        elif isinstance(entry, URLPattern) and entry.name:
            yield Route(namespace, entry.name, route, names, entry.callback)


@cache
def all_routes() -> tuple[Route, ...]:
    seen, routes = set(), []
    for r in _walk(get_resolver().url_patterns):
        key = (r.namespace, r.name, frozenset(r.params))
        if key not in seen:
            seen.add(key)
            routes.append(r)
    return tuple(routes)


def routes_of(kind: Kind, *, api: bool | None = None) -> list[Route]:
    return [r for r in all_routes() if r.kind == kind and (api is None or r.is_api == api)]


def viewset_model(route: Route) -> type | None:
    """The model of the API view's queryset, as the view itself builds it."""
    cls = getattr(route.callback, "cls", None)
    if cls is None or not hasattr(cls, "get_queryset"):
        return None
    view = cls(**getattr(route.callback, "initkwargs", {}))
    request = Request(APIRequestFactory().get("/"))
    request.user = AnonymousUser()
    view.request, view.args, view.kwargs, view.format_kwarg = request, (), {}, None
    view.action = next(iter(route.callback.actions.values()), None)
    try:
        return view.get_queryset().model
    except AssertionError:  # an APIView without a queryset
        return None


def object_values(route: Route, world: World) -> dict[str, object]:
    """Each URL parameter of the route filled with the pk of workspace B's object it names."""
    return {p: world.object_for(route.model_of(p)).pk for p in route.object_params}


def missing_values(route: Route) -> dict[str, object]:
    return dict.fromkeys(route.object_params, MISSING)


# --- the schema -----------------------------------------------------------------------------------


@cache
def schema_operations() -> frozenset[tuple[str, str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return frozenset(
        (path, method.upper())
        for path, operations in schema["paths"].items()
        for method in operations
        if method.upper() in METHODS
    )


def openapi_path(route: Route) -> str:
    """The route as the schema spells it: /api/surveys/{id}/publish/."""
    placeholders = {p: 900_001 + i for i, p in enumerate(route.params)}
    path = reverse(route.url_name, kwargs=placeholders)
    for param, value in placeholders.items():
        path = path.replace(str(value), "{" + ("id" if param == "pk" else param) + "}")
    return path


def routed_operations() -> dict[tuple[str, str], Route]:
    return {
        (openapi_path(r), method): r
        for r in all_routes()
        if r.is_api and not r.has_format_suffix and r.kind != Kind.API_META
        for method in r.api_methods()
    }


# --- what may not change --------------------------------------------------------------------------


def snapshot() -> dict[str, list[tuple]]:
    """Every row of every table of the project's apps, users and tokens."""
    rows = {}
    for model in apps.get_models():
        if model._meta.app_label not in SNAPSHOT_APPS or model._meta.proxy:
            continue
        fields = [f.attname for f in model._meta.concrete_fields]
        rows[model._meta.label] = [
            tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
            for row in model.objects.order_by("pk").values_list(*fields)
        ]
    return rows


def assert_unchanged(before: dict[str, list[tuple]], after: dict | None = None) -> None:
    after = snapshot() if after is None else after
    changed = [label for label in before if before[label] != after[label]]
    assert changed == [], f"rows changed in {changed}"


@cache
def workspace_path(model: type) -> str:
    """The lookup from a model to the workspace that owns its rows, found by following its
    foreign keys (shortest path first): "survey__workspace" for a Response."""
    if model is Workspace:
        return "pk"
    paths = [(model, "")]
    while paths:
        current, prefix = paths.pop(0)
        for f in current._meta.concrete_fields:
            if not f.is_relation or f.related_model is None:
                continue
            lookup = f"{prefix}{f.name}"
            if f.related_model is Workspace:
                return lookup
            if f.related_model._meta.app_label in SNAPSHOT_APPS[:4] and lookup.count("__") < 3:
                paths.append((f.related_model, lookup + "__"))
    raise AssertionError(f"{model._meta.label} has no path to a workspace")


def owned_models() -> list[type]:
    return [m for m in apps.get_models() if m._meta.app_label in SNAPSHOT_APPS[:4]]


def snapshot_of(workspace: Workspace) -> dict[str, list[tuple]]:
    """Every row that belongs to the workspace, in every table of the project's apps."""
    rows = {}
    for model in owned_models():
        fields = [f.attname for f in model._meta.concrete_fields]
        qs = model.objects.filter(**{workspace_path(model): workspace.pk}).order_by("pk")
        rows[model._meta.label] = [
            tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
            for row in qs.values_list(*fields)
        ]
    return rows


def _csv(name: str, body: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, body.encode(), content_type="text/csv")


def page_body(world: World) -> dict:
    """A POST body that every page's form would accept, so a leak would really write."""
    return {
        "statement": HIJACK,
        "executor": "Mallory",
        "kind": "core_functional",
        "notes": "hijacked",
        "confirm": world.job.statement,
        "stage": "define",
        "title": "Hijacked",
        "description": "hijacked",
        "step": world.step.pk,
        "code": "",
        "status": "approved",
        "direction": "down",
        "key": "hijacked",
        "text": "Hijacked?",
        "welcome_text": "hijacked",
        "people": "mallory@example.com",
        "include": "false",
        "format": "csv",
        "name": "Hijacked",
        "custom_name": "Hijacked",
        "file": _csv("data.csv", "respondent_id,imp_O001,sat_O001\nm-1,5,1\n"),
    }


def api_body(world: World) -> dict:
    """A JSON body with a valid value for every field any API operation takes."""
    return {
        "statement": HIJACK,
        "executor": "Mallory",
        "kind": "core_functional",
        "workspace": world.workspace.pk,
        "job": world.job.pk,
        "step": world.step.pk,
        "survey": world.survey.pk,
        "stage": "define",
        "title": "Hijacked",
        "status": "approved",
        "offset": 1,
        "step_ids": [s.pk for s in reversed(world.steps)],
        "welcome_text": "hijacked",
        "text": "Hijacked?",
        "people": ["mallory@example.com"],
        "include": False,
        "segments": "off",
        "custom_name": "Hijacked",
        "a": {"segment": world.segment.number},
        "b": "rest",
        "confirm": world.survey.title,
        "respondent_ids": [world.response.respondent_id],
        "reason": "hijacked",
    }


def send(client, method: str, url: str, body: dict | None, **extra):
    call = getattr(client, method.lower())
    if method in ("GET", "DELETE") or body is None:
        return call(url, **extra)
    return call(url, body, **extra)


# --- the enumerations -----------------------------------------------------------------------------


def test_every_route_is_classified_and_every_parameter_names_an_object():
    routes = all_routes()
    kinds = {kind: [str(r) for r in routes if r.kind == kind] for kind in Kind}
    assert len(kinds[Kind.OBJECT]) >= 80, kinds[Kind.OBJECT]
    assert len(kinds[Kind.PUBLIC]) == 4, kinds[Kind.PUBLIC]
    unmapped = [
        (str(r), p) for r in routes_of(Kind.OBJECT) for p in r.object_params if not r.model_of(p)
    ]
    assert unmapped == [], "map these URL parameters in SEGMENT_MODELS"
    # The path segment and the API view's own queryset agree on what the pk names.
    disagree = [
        (str(r), r.model_of("pk"), viewset_model(r))
        for r in routes_of(Kind.OBJECT, api=True)
        if viewset_model(r) is not None and r.model_of("pk") is not viewset_model(r)
    ]
    assert disagree == []
    # Both kinds of pattern were walked: path() routes and the router's regexes.
    names = {str(r) for r in routes}
    for expected in (
        "page:analysis:export-job-download",
        "page:surveys:question-delete",
        "api:survey-publish",
        "api:survey-publish.<format>",
        "api:run-cancel",
        "api:segment-detail",
    ):
        assert expected in names


def test_the_schema_and_the_url_configuration_agree_on_every_api_operation():
    routed = routed_operations()
    documented = schema_operations()
    assert len(documented) >= 60
    assert sorted(documented - set(routed)) == [], "operations in the schema but not routed"
    assert sorted(set(routed) - documented) == [], "routed API operations missing in the schema"
    meta = {r.name for r in routes_of(Kind.API_META)}
    assert meta == set(NOT_IN_SCHEMA)


# --- another workspace's objects: 404 everywhere --------------------------------------------------


@pytest.mark.parametrize("route", routes_of(Kind.OBJECT, api=False), ids=str)
def test_pages_of_another_workspaces_objects_are_404_and_change_nothing(route, world_b, attacker):
    client = Client()
    client.force_login(attacker)
    before = snapshot()
    url = route.url(object_values(route, world_b))
    missing = route.url(missing_values(route))
    not_found = 0
    for method in METHODS:
        response = send(client, method, url, page_body(world_b) if method == "POST" else None)
        if response.status_code == 405:
            # Refused for the method whatever the id: the same for an object that does not
            # exist at all, so the answer reveals nothing.
            body = page_body(world_b) if method == "POST" else None
            assert send(client, method, missing, body).status_code == 405, (method, url)
        else:
            assert response.status_code == 404, (method, url, response.status_code)
            not_found += 1
    assert not_found >= 1
    assert_unchanged(before)


@pytest.mark.parametrize("route", routes_of(Kind.OBJECT, api=True), ids=str)
def test_api_on_another_workspaces_objects_is_404_and_changes_nothing(route, world_b, attacker):
    api = APIClient()
    api.force_authenticate(attacker)
    before = snapshot()
    url = route.url(object_values(route, world_b))
    allowed = route.api_methods()
    assert allowed
    for method in METHODS:
        response = send(api, method, url, api_body(world_b), format="json")
        expected = 404 if method in allowed else 405
        assert response.status_code == expected, (method, url, response.content[:300])
    # OPTIONS describes the route, never the object: the same as for an id that does not exist.
    options = api.options(url)
    assert options.status_code in (200, 404)
    assert options.content == api.options(route.url(missing_values(route))).content
    assert_unchanged(before)


def test_every_schema_operation_on_another_workspaces_objects_is_404(world_b, attacker):
    """The same, driven by the schema: each documented operation, its parameters filled in."""
    api = APIClient()
    api.force_authenticate(attacker)
    routed = routed_operations()
    before = snapshot()
    checked = 0
    for path, method in sorted(schema_operations()):
        route = routed[(path, method)]
        if route.kind != Kind.OBJECT:
            continue
        url = route.url(object_values(route, world_b))
        response = send(api, method, url, api_body(world_b), format="json")
        assert response.status_code == 404, (method, path, response.content[:300])
        checked += 1
    assert checked >= 35
    assert_unchanged(before)


# --- lists, filters and creation never reach another workspace ----------------------------------


def _ids(payload: object) -> set[int]:
    rows = payload.get("results", []) if isinstance(payload, dict) else payload
    return {row["id"] for row in rows if isinstance(row, dict) and "id" in row}


def b_ids(world: World, model: type) -> set[int]:
    rows = model.objects.filter(**{workspace_path(model): world.workspace.pk})
    return set(rows.values_list("pk", flat=True))


def test_api_lists_never_contain_another_workspaces_objects_even_when_filtered_for_them(
    world_b, attacker
):
    api = APIClient()
    api.force_authenticate(attacker)
    filters = {
        "workspace": world_b.workspace.pk,
        "job": world_b.job.pk,
        "step": world_b.step.pk,
        "survey": world_b.survey.pk,
    }
    lists = [r for r in routes_of(Kind.COLLECTION, api=True) if "GET" in r.api_methods()]
    assert len(lists) >= 10, [str(r) for r in lists]
    for route in lists:
        url = route.url({})
        model = viewset_model(route)
        for query in [{}, *({k: v} for k, v in filters.items())]:
            response = api.get(url, query)
            assert response.status_code in (200, 400), (url, query, response.status_code)
            assert not shows_bravo(response.content), (url, query)
            if model is not None and response.status_code == 200:
                assert not _ids(response.json()) & b_ids(world_b, model), (url, query)
        if model is not None:
            assert api.get(url).status_code == 200, url


def test_collection_pages_show_nothing_of_another_workspace(world_b, attacker):
    client = Client()
    client.force_login(attacker)
    pages = routes_of(Kind.COLLECTION, api=False)
    assert len(pages) >= 8
    for route in pages:
        response = client.get(route.url({}))
        assert response.status_code in (200, 302, 405), (route, response.status_code)
        assert not shows_bravo(response.content), route


def test_switching_into_another_workspace_is_404(world_b, attacker):
    client = Client()
    client.force_login(attacker)
    response = client.post(
        reverse("workspaces:workspace-switch"), {"workspace": world_b.workspace.pk}
    )
    assert response.status_code == 404
    assert not shows_bravo(client.get(reverse("jtbd:job-list")).content)


def test_creating_in_or_referring_to_another_workspace_is_refused_everywhere(world_b, attacker):
    """Every collection operation that writes, with every reference pointing into B."""
    api = APIClient()
    api.force_authenticate(attacker)
    client = Client()
    client.force_login(attacker)
    # Writes may create objects in the attacker's own workspace; B's rows must not change.
    before = snapshot_of(world_b.workspace)
    writes = [r for r in routes_of(Kind.COLLECTION, api=True) if "POST" in r.api_methods()]
    assert len(writes) >= 8, [str(r) for r in writes]
    for route in writes:
        url = route.url({}) + f"?workspace={world_b.workspace.pk}"
        response = api.post(url, api_body(world_b), format="json")
        assert response.status_code in (400, 403, 404, 415), (str(route), response.content[:300])
        assert not shows_bravo(response.content), str(route)
    for route in routes_of(Kind.COLLECTION, api=False):
        response = client.post(route.url({}), page_body(world_b))
        assert response.status_code != 500, route
        assert not shows_bravo(response.content), route
    assert_unchanged(before, snapshot_of(world_b.workspace))


def test_every_table_of_the_project_belongs_to_a_workspace():
    """So the per-workspace snapshot above misses no table (a new model must say whose it is)."""
    paths = {m._meta.label: workspace_path(m) for m in owned_models()}
    assert paths["surveys.Response"] == "survey__workspace"
    assert paths["analysis.OutcomeResult"] == "run__survey__workspace"


# --- anonymous users ------------------------------------------------------------------------------


def test_anonymous_users_are_sent_to_login_from_every_page(world_b):
    client = Client()
    before = snapshot()
    pages = [*routes_of(Kind.OBJECT, api=False), *routes_of(Kind.COLLECTION, api=False)]
    assert len(pages) >= 50
    for route in pages:
        url = route.url(object_values(route, world_b))
        for method in ("GET", "POST"):
            response = send(client, method, url, {} if method == "POST" else None)
            if response.status_code == 405:
                continue
            assert response.status_code == 302, (method, url, response.status_code)
            assert response["Location"].startswith("/accounts/login/?next="), (method, url)
    assert_unchanged(before)


def test_anonymous_users_get_401_with_a_token_challenge_from_every_api_operation(world_b):
    api = APIClient()
    before = snapshot()
    checked = 0
    for route in [*routes_of(Kind.OBJECT, api=True), *routes_of(Kind.COLLECTION, api=True)]:
        url = route.url(object_values(route, world_b))
        for method in route.api_methods():
            response = send(api, method, url, {}, format="json")
            assert response.status_code == 401, (method, url, response.status_code)
            assert response["WWW-Authenticate"] == "Token"
            assert not shows_bravo(response.content)
            checked += 1
    assert checked >= 75
    assert_unchanged(before)


def test_members_who_are_not_staff_are_sent_to_the_admin_login_from_every_admin_page(
    world_b, attacker
):
    client = Client()
    client.force_login(attacker)
    checked = 0
    for route in routes_of(Kind.ADMIN):
        if route.route.startswith(("admin/login/", "admin/logout/")):
            continue  # the sign-in page itself, and signing out, are open to anyone
        values = {
            "app_label": "jtbd",
            "object_id": world_b.job.pk,
            "id": world_b.owner.pk,  # a user's password page
            "content_type_id": 1,
            "url": "jtbd/job/",
        }
        model_admin = getattr(route.callback, "model_admin", None)
        if model_admin is not None and "object_id" in route.params:
            first = model_admin.model.objects.order_by("pk").values_list("pk", flat=True).first()
            values["object_id"] = first or MISSING
        response = client.get(route.url(values))
        assert response.status_code == 302, (str(route), response.status_code)
        assert response["Location"].startswith("/admin/login/"), str(route)
        checked += 1
    assert checked >= 40


# --- respondents: one survey, nothing else --------------------------------------------------------


def _secrets(world: World) -> list[str]:
    """What a respondent of world.survey must never see."""
    other = world.other_survey
    return [
        world.workspace.name,
        world.job.notes,
        world.owner.username,
        other.title,
        other.welcome_text,
        other.public_token,
        *other.questions.values_list("text", flat=True),
        *world.survey.invitations.values_list("email", flat=True),
        *world.survey.invitations.values_list("token", flat=True),
        *world.survey.responses.values_list("respondent_id", flat=True)[:5],
    ]


def test_the_public_survey_page_shows_its_survey_and_nothing_else_of_the_workspace(world_b):
    client = Client()
    url = reverse("surveys:public", args=[world_b.survey.public_token])
    first = client.get(url)
    assert first.status_code == 200
    pages = [first, client.post(url, {"page": 0})]  # not consented: the page with its problems
    html = "".join(p.content.decode() for p in pages)
    assert world_b.survey.title in html
    for secret in _secrets(world_b):
        assert secret not in html, secret


def test_an_invitation_page_does_not_reveal_other_invitations_or_the_workspace(world_b):
    client = Client()
    html = client.get(reverse("surveys:invitation", args=[world_b.invitation.token]))
    assert html.status_code == 200
    body = html.content.decode()
    assert world_b.survey.title in body
    assert world_b.invitation.email not in body
    for secret in _secrets(world_b):
        assert secret not in body, secret


def test_tokens_of_drafts_and_unknown_tokens_are_404_alike(world_b):
    client, api = Client(), APIClient()
    for token in (world_b.other_survey.public_token, "x" * 32, world_b.invitation.token):
        page = client.get(reverse("surveys:public", args=[token]))
        assert page.status_code == 404, token
        assert not shows_bravo(page.content)
    assert client.get(reverse("surveys:invitation", args=["x" * 32])).status_code == 404
    draft = api.post(
        reverse("public-submit", args=[world_b.other_survey.public_token]),
        {"idempotency_key": "k", "answers": {}},
        format="json",
    )
    assert draft.status_code == 404
    unknown = api.post(
        reverse("public-submit", args=["x" * 32]),
        {"idempotency_key": "k", "answers": {}},
        format="json",
    )
    assert (unknown.status_code, unknown.content) == (draft.status_code, draft.content)
    draft = api.post(reverse("public-assignment", args=[world_b.other_survey.public_token]))
    unknown = api.post(reverse("public-assignment", args=["x" * 32]))
    assert draft.status_code == 404
    assert (unknown.status_code, unknown.content) == (draft.status_code, draft.content)


def test_public_submission_answers_reveal_nothing_beyond_the_survey(world_b):
    api = APIClient()
    url = reverse("public-submit", args=[world_b.survey.public_token])
    before = snapshot()
    for body in (
        {"idempotency_key": "k", "answers": {"ratings": {"NOPE": {"importance": 9}}}},
        {"invitation": world_b.invitation.token, "answers": {"profile": {"budget": "1"}}},
        {"invitation": "x" * 40, "answers": {}},
        {"idempotency_key": "k", "answers": {"profile": {"role": "Nobody"}}},
    ):
        response = api.post(url, body, format="json")
        assert response.status_code == 400, (body, response.content[:300])
        text = response.content.decode()
        for secret in _secrets(world_b):
            assert secret not in text, secret
    assert_unchanged(before)


def test_a_wrong_token_gets_401_and_a_viewer_writing_gets_403(world_b):
    viewer_b = UserFactory()
    MembershipFactory(workspace=world_b.workspace, user=viewer_b, role=Role.VIEWER)
    wrong = APIClient(HTTP_AUTHORIZATION="Token not-a-real-token")
    answer = wrong.get("/api/jobs/")
    assert answer.status_code == 401 and answer.json() == {"detail": "Invalid token."}
    signed_in = APIClient()
    signed_in.force_authenticate(viewer_b)
    body = {"workspace": world_b.workspace.pk, "statement": "Onboard a hire", "executor": "Lead"}
    refused = signed_in.post("/api/jobs/", body, format="json")
    assert refused.status_code == 403, refused.content
