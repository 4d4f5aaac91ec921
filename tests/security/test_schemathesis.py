"""Every operation of the OpenAPI schema, fuzzed by schemathesis against the app in-process.

The schema is the one the app serves at /api/schema/ (read through the WSGI application, no
server), and each request goes through the same WSGI application with a DRF token of the
workspace owner. Half of the examples use the ids of a real fixture world (a published, analysed
survey with responses, segments and an export) so the operations reach their real code paths,
not only the 404 of a random id. Each response must not be a 5xx, and must conform to the
schema: a documented status code and content type, and a body and headers that match it.

The examples are bounded (EXAMPLES per operation and data mode), derandomized so CI sees the
same requests every run, and each operation gets a fresh world (the test transaction rolls back).
"""

from __future__ import annotations

import re

import hypothesis.strategies as st
import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application
from tests.security.conftest import World
from tests.security.test_isolation import SEGMENT_MODELS

pytestmark = pytest.mark.django_db

EXAMPLES = 12
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
OPERATIONS = [result.ok() for result in schema.get_all_operations()]


def test_the_schema_has_every_operation_and_none_failed_to_load():
    assert len(OPERATIONS) >= 60
    assert all(result.ok() for result in schema.get_all_operations())


def test_every_operation_documents_the_retryable_503_and_every_write_the_408():
    """Answers given before or around the view (config/faults.py, config/wsgi.py) are in the
    schema too, so a client reading it knows a 503 stored nothing and may be sent again."""
    document = APIClient().get("/api/schema/?format=json").json()
    checked = 0
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            responses = operation["responses"]
            assert "nothing was stored" in responses["503"]["description"], (method, path)
            assert ("408" in responses) == (method in ("post", "put", "patch")), (method, path)
            checked += 1
    assert checked >= 60


@pytest.fixture
def in_process_requests():
    """Requests run in this thread on the test's own database connection: like Django's test
    client, keep the request signals from closing it mid-transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def real_path_parameters(path: str, world: World) -> dict[str, object]:
    """The world's object for each parameter of the path, named by the segment before it."""
    values = {}
    for segment, name in re.findall(r"([a-z_-]+)/\{(\w+)\}", path):
        if name == "public_token":
            values[name] = world.survey.public_token
        else:
            values[name] = world.object_for(SEGMENT_MODELS[segment]).pk
    return values


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.label)
def test_every_operation_answers_as_documented(operation, world_b, in_process_requests):
    token = Token.objects.create(user=world_b.owner)
    headers = {"Authorization": f"Token {token.key}"}
    real = real_path_parameters(operation.path, world_b)
    cases = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )

    @settings(
        max_examples=EXAMPLES * 2,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases, use_real_ids=st.booleans())
    def check(case, use_real_ids):
        if use_real_ids and real:
            case.path_parameters = {**(case.path_parameters or {}), **real}
        case.call_and_validate(headers=headers, checks=CHECKS)

    check()


def test_every_get_answers_a_page_or_a_plain_list_as_the_schema_says(world_b):
    """Each GET of the schema with the world's real ids: a paginated 200 in the schema is a
    page ({"count", "results"}), an array is a plain list. (The survey's versions and erasures
    were documented as pages while they answered lists; the fuzzing above only found them when
    its examples happened to reach them.)"""
    token = Token.objects.create(user=world_b.owner)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    document = client.get("/api/schema/?format=json").json()
    checked, wrong = 0, []
    for path, operations in document["paths"].items():
        if "get" not in operations or "{format}" in path:
            continue
        body = operations["get"]["responses"]["200"].get("content", {}).get("application/json")
        if body is None:
            continue
        ref = body["schema"].get("$ref", "")
        if not (
            ref.split("/")[-1].startswith("Paginated") or body["schema"].get("type") == "array"
        ):
            continue
        answer = client.get(path.format(**real_path_parameters(path, world_b)))
        if answer.status_code != 200:
            continue
        paged = isinstance(answer.json(), dict) and "results" in answer.json()
        if paged != ref.split("/")[-1].startswith("Paginated"):
            wrong.append(path)
        checked += 1
    assert wrong == []
    assert checked >= 8
