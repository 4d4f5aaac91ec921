"""Unreadable input on every route of the URL configuration: a clear 400, never a 5xx, and
nothing stored.

The routes come from the URL resolver (tests/security/test_isolation.py), so a route added later
is swept too; the ".<format>" twins of API routes are left out (the same views). Each route gets,
from an anonymous visitor and from the owner of the workspace whose objects its URL names (and a
superuser for the admin):

- a NUL in the URL path (`/s/%00/`, `/api/jobs/1%00/`);
- a NUL, bytes that are not UTF-8 and an encoded surrogate in query parameters (value and name);
- the same in URL-encoded form bodies, and a NUL in a multipart field (Django itself drops
  characters that are not printable from uploaded file names);
- a NUL in a cookie and in a header.

Each of these is a 400 whose message names the place and the problem, and no row of the
project's tables changes. Every API operation also gets JSON bodies with a NUL or a lone
surrogate in every string, a NUL in a key, bytes that are not UTF-8, nesting 50,000 levels deep
and a truncated document: never a 5xx, and nothing changes unless the operation succeeded
(one that reads no body, such as publish); an operation whose schema documents a JSON body
answers the owner 400 naming the problem.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from urllib.parse import quote

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator

from jtbd.models import Job
from tests.factories import UserFactory
from tests.security.conftest import World
from tests.security.test_isolation import (
    Kind,
    Route,
    all_routes,
    api_body,
    openapi_path,
    page_body,
    snapshot,
)

pytestmark = pytest.mark.django_db

ROUTES = [r for r in all_routes() if not r.has_format_suffix]
NUL, SURROGATE = "a\x00b", "a\ud800b"
# Query and form text travels percent-encoded: what a client sends for each kind of bad text.
ENCODED = {
    "NUL": ("a%00b", "contains a NUL character (U+0000)"),
    "not UTF-8": ("a%FFb", "is not valid UTF-8 (byte 0xFF"),
    "encoded surrogate": ("a%ED%A0%80b", "is not valid UTF-8 (byte 0xED"),
}
QUERY_NAMES = ("status", "workspace", "job", "survey", "segment", "q", "next", "o", "format")


# --- URLs -----------------------------------------------------------------------------------


def _url(route: Route, world: World) -> str:
    """The route's URL, every parameter naming a real object of the world where it names one."""
    return reverse(route.url_name, kwargs={p: _value(route, p, world) for p in route.params})


def _value(route: Route, param: str, world: World) -> object:
    if param == "token":
        tokens = {"public": world.survey.public_token, "invitation": world.invitation.token}
        return tokens.get(route.name, "set-password")  # the password reset link's token
    if param == "public_token":
        return world.survey.public_token
    if param == "uidb64":
        return "MQ"
    if param == "app_label":
        return "jtbd"
    if param == "content_type_id":
        return ContentType.objects.get_for_model(Job).pk
    if param == "id":  # the admin's password page of a user
        return world.owner.pk
    if param == "object_id":
        model_admin = getattr(route.callback, "model_admin", None)
        model = model_admin.model if model_admin is not None else Job  # the admin's "view on site"
        return model.objects.order_by("pk").values_list("pk", flat=True).first() or 1
    return world.object_for(route.model_of(param)).pk


def _nul_in_path(route: Route, world: World) -> str:
    """The route's URL with a NUL in place of its first parameter, or added to its end."""
    url = _url(route, world)
    if not route.params:
        return url + "a%00b/"
    value = str(_value(route, route.params[0], world))
    return url.replace(f"/{quote(value)}", "/a%00b", 1)


# --- the clients and what they send ---------------------------------------------------------


def _clients(route: Route, world: World) -> list[tuple[str, Client]]:
    """Signed in before the test takes its snapshot: signing in writes `last_login`."""
    # A server error is an answer to report here, not an exception to stop at.
    owner = Client(raise_request_exception=False)
    owner.force_login(world.owner)
    clients = [("anonymous", Client(raise_request_exception=False)), ("owner", owner)]
    if route.kind == Kind.ADMIN:
        admin = Client(raise_request_exception=False)
        admin.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
        clients.append(("superuser", admin))
    return clients


def _form_fields(world: World) -> dict[str, object]:
    """Every field name a page or API operation reads, with text values."""
    fields: dict[str, object] = {**api_body(world), **page_body(world)}
    fields.pop("file")
    return {name: v for name, v in fields.items() if not isinstance(v, dict | list)}


def _urlencoded(fields: dict[str, object], bad: str, name: str = "") -> bytes:
    """The fields URL-encoded with `bad` (already percent-encoded) as every text value."""
    parts = [
        f"{quote(k)}={bad if isinstance(v, str) else quote(str(v))}" for k, v in fields.items()
    ]
    if name:
        parts.append(f"{name}=1")
    return "&".join(parts).encode()


Send = Callable[[Client, str], object]


def _requests(route: Route, world: World) -> Iterator[tuple[str, str, Send]]:
    """(what is sent, what the answer must say, how to send it to a URL) for each bad input."""
    fields = _form_fields(world)
    for kind, (bad, says) in ENCODED.items():
        query = "&".join(f"{name}={bad}" for name in QUERY_NAMES)
        yield f"query {kind}", f"query parameter “status” {says}", _get(f"?{query}")
        yield f"post query {kind}", "query parameter “status”", _post_form(b"", f"?{query}")
        name_says = "query parameter “a\\x00b”" if kind == "NUL" else "name of a query parameter"
        yield f"query name {kind}", name_says, _get(f"?{bad}=1")
        body = _urlencoded(fields, bad)
        yield f"form {kind}", f"form field “statement” {says}", _post_form(body)
        yield f"form name {kind}", "name of", _post_form(_urlencoded({}, "", name=bad))
    yield "form raw NUL byte", "form field “statement”", _post_form(b"statement=a\x00b")
    csv = b"respondent_id,imp_O001,sat_O001\nm-1,5,1\n"
    multipart = {**fields, "file": SimpleUploadedFile("data.csv", csv, "text/csv")}
    yield "multipart field NUL", "contains a NUL", _post({**multipart, "statement": NUL})
    patch = encode_multipart(BOUNDARY, {**multipart, "statement": NUL})
    yield "multipart PATCH field NUL", "contains a NUL", _send("patch", patch, MULTIPART_CONTENT)
    yield "multipart PUT field NUL", "contains a NUL", _send("put", patch, MULTIPART_CONTENT)
    form = _urlencoded(fields, "a%00b")
    yield "form PATCH NUL", "contains a NUL", _send("patch", form, FORM)
    yield "cookie NUL", "cookie “csrftoken” contains a NUL", _get("", cookie=("csrftoken", NUL))
    yield "session cookie NUL", "cookie “sessionid”", _get("", cookie=("sessionid", NUL * 8))
    yield "header NUL", "header Authorization contains a NUL", _get("", HTTP_AUTHORIZATION=NUL)


def _get(query: str, cookie: tuple[str, str] | None = None, **headers: str) -> Send:
    def send(client: Client, url: str):
        if cookie:
            client.cookies[cookie[0]] = cookie[1]
        try:
            return client.get(url + query, **headers)
        finally:
            if cookie:
                del client.cookies[cookie[0]]

    return send


FORM = "application/x-www-form-urlencoded"


def _post_form(body: bytes, query: str = "") -> Send:
    return lambda client, url: client.post(url + query, body, content_type=FORM)


def _send(method: str, body: bytes, content_type: str) -> Send:
    return lambda client, url: getattr(client, method)(url, body, content_type=content_type)


def _post(data: dict) -> Send:
    return lambda client, url: client.post(url, data)


def _refusal(reply, url: str) -> str:
    """The message of a 400 from config/inputs.py: JSON's `detail` under /api/, else the page,
    which says that nothing was changed; anything else is returned as a description."""
    content_type = reply["Content-Type"]
    if url.startswith("/api/"):
        if content_type != "application/json":
            return f"not JSON but {content_type}"
        return str(reply.json().get("detail", reply.json()))
    html = reply.content.decode()
    if not content_type.startswith("text/html") or "nothing was changed" not in html:
        return f"not the refusal page: {content_type} {html[:200]}"
    return html


def test_unreadable_text_in_the_url_headers_or_form_is_400_on_every_route_and_stores_nothing(
    world_b,
):
    routes = [(route, _clients(route, world_b)) for route in ROUTES]
    before = snapshot()
    wrong: list[str] = []
    sent = 0
    for route, clients in routes:
        url = _url(route, world_b)
        for who, client in clients:
            cases = [("path NUL", "The URL path contains a NUL character", None)]
            cases += list(_requests(route, world_b))
            for what, says, send in cases:
                target = _nul_in_path(route, world_b) if send is None else url
                reply = client.get(target) if send is None else send(client, target)
                sent += 1
                if reply.status_code != 400:
                    wrong.append(f"{route} {who} {what}: {reply.status_code}")
                elif says not in (message := _refusal(reply, target)):
                    wrong.append(f"{route} {who} {what}: 400 without “{says}”: {message[:200]}")
    assert wrong == [], "\n".join(wrong)
    assert len(ROUTES) > 150 and sent > len(ROUTES) * 2 * 20
    assert snapshot() == before, "a refused request changed rows"


# --- JSON bodies ----------------------------------------------------------------------------


def _everywhere(value: object, text: str) -> object:
    """`value` with every string in it replaced by `text`."""
    if isinstance(value, str):
        return text
    if isinstance(value, dict):
        return {k: _everywhere(v, text) for k, v in value.items()}
    if isinstance(value, list):
        return [_everywhere(v, text) for v in value]
    return value


def _json_bodies(world: World) -> dict[str, tuple[bytes, str]]:
    """Each bad JSON body, with what the owner's 400 must say about it."""
    body = {**api_body(world), "idempotency_key": "k", "answers": {"profile": {"role": "x"}}}
    plain = json.dumps(body).encode()
    deep = "[" * 50_000 + "]" * 50_000
    return {
        "NUL in every string": (json.dumps(_everywhere(body, NUL)).encode(), "NUL character"),
        "surrogate in every string": (
            json.dumps(_everywhere(body, SURROGATE)).encode(),
            "lone surrogate (U+D800)",
        ),
        "NUL in a key": (json.dumps({**body, NUL: 1}).encode(), "has a key that contains a NUL"),
        "surrogate in a key": (json.dumps({**body, SURROGATE: 1}).encode(), "U+D800"),
        "not UTF-8": (plain.replace(b'"k"', b'"\xff"'), "not valid UTF-8 (byte 0xFF"),
        "deep nesting": (plain.replace(b'"x"', deep.encode()), "more than 64 levels deep"),
        "deep nesting alone": (deep.encode(), "more than 64 levels deep"),
        "truncated": (plain[: len(plain) // 2], "JSON parse error"),
    }


def _documented_json_bodies() -> set[tuple[str, str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {
        (path, method.upper())
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if "application/json" in operation.get("requestBody", {}).get("content", {})
    }


# API routes that take a body: every write operation, the public submission included.
WRITE_ROUTES = [
    r
    for r in ROUTES
    if r.is_api and r.kind != Kind.API_META and r.api_methods() & {"POST", "PUT", "PATCH"}
]


def test_unreadable_json_bodies_never_give_a_5xx_and_a_refusal_stores_nothing(world_b):
    documented = _documented_json_bodies()
    routes = [(route, _clients(route, world_b)) for route in WRITE_ROUTES]
    wrong: list[str] = []
    refused = sent = 0
    for route, clients in routes:
        for who, client in clients:
            for method in sorted(route.api_methods() & {"POST", "PUT", "PATCH"}):
                # An operation that reads a JSON body refuses every one of these: the rows are
                # compared once after all of them. Others (publish, close, …) may succeed, so
                # their rows are compared after each refusal.
                reads_json = (openapi_path(route), method) in documented
                before = snapshot()
                for what, (body, says) in _json_bodies(world_b).items():
                    # Built again each time: an accepted request may have deleted the object.
                    url = _url(route, world_b) + f"?workspace={world_b.workspace.pk}"
                    call = getattr(client, method.lower())
                    reply = call(url, body, content_type="application/json")
                    sent += 1
                    label = f"{route} {who} {method} {what}: {reply.status_code}"
                    if reply.status_code >= 500:
                        wrong.append(label)
                    elif reply.status_code < 400:
                        before = snapshot()
                        if reads_json:
                            wrong.append(f"{label}, accepted")
                    else:
                        refused += 1
                        if not reads_json and snapshot() != before:
                            wrong.append(f"{label}, and rows changed")
                    if reads_json and (who == "owner" or route.kind == Kind.PUBLIC):
                        detail = reply.json().get("detail", "") if reply.status_code == 400 else ""
                        if says not in detail:
                            wrong.append(f"{label} without “{says}”: {reply.content[:200]!r}")
                if reads_json and snapshot() != before:
                    wrong.append(f"{route} {who} {method}: refused requests changed rows")
    assert wrong == [], "\n".join(wrong)
    assert len(WRITE_ROUTES) >= 30 and sent >= len(WRITE_ROUTES) * 2 * 8
    assert refused >= sent * 0.9


def test_the_schema_documents_a_400_for_every_operation():
    """Any operation can answer the 400 above, so the schema says so (schemathesis holds the
    answers to it)."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = [
        (path, method, operation)
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    ]
    assert len(operations) >= 60
    assert [(p, m) for p, m, o in operations if "400" not in o["responses"]] == []
