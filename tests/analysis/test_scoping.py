"""Workspace scoping and roles of the analysis API, on every analysis route the project routes.

As in tests/jtbd/test_scoping.py the routes are enumerated from the URL resolver, so an action
added later is covered: a viewer reads (and compares, which only reads) but gets 403 on every
write. The 404 of another workspace's member on every route is checked in
tests/security/test_isolation.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from rest_framework.test import APIClient

from analysis import runs
from analysis.models import AnalysisRun, SegmentResult
from tests.analysis.test_runs import import_arrays
from tests.jtbd.test_scoping import Route, all_routes

pytestmark = pytest.mark.django_db

TARGETS = {"runs": "run", "segments": "segment"}
SURVEY_ROUTES = {"survey-results", "survey-segments", "survey-compare", "survey-exports"}
READS_BY_POST = {"survey-compare"}


def analysis_routes() -> list[Route]:
    return [
        r
        for r in all_routes()
        if r.is_api and "pk" in r.params and (r.target in TARGETS or r.name in SURVEY_ROUTES)
    ]


API_ROUTES = analysis_routes()


def test_the_enumeration_finds_every_analysis_api_route():
    names = {str(r) for r in API_ROUTES}
    for expected in (
        "api:run-detail",
        "api:run-cancel",
        "api:segment-detail",
        "api:survey-results",
        "api:survey-segments",
        "api:survey-compare",
        "api:survey-exports",
    ):
        assert expected in names, names


@pytest.fixture
def victim(workspace, researcher):
    """Workspace B: an analysed survey with one segment, and a queued run of it."""
    imp = np.tile(np.array([[5, 4]], dtype=np.uint8), (40, 1))
    sat = np.tile(np.array([[2, 4]], dtype=np.uint8), (40, 1))
    profile = {"role": ["Lead", "Engineer"] * 20}
    survey = import_arrays(workspace, imp, sat, name="B's study", profile=profile)
    done = runs.analyze_now(survey=survey, parameters={"segments": "off"})
    segment = SegmentResult.objects.create(run=done, number=1, name="Everyone", size=40, share=1)
    queued = AnalysisRun.objects.create(survey=survey)
    return {"survey": survey, "run": queued, "segment": segment}


def snapshot() -> tuple:
    return (
        list(
            AnalysisRun.objects.order_by("pk").values_list(
                "pk", "survey_id", "status", "parameters", "finished_at"
            )
        ),
        list(SegmentResult.objects.order_by("pk").values_list("pk", "run_id", "custom_name")),
    )


def _pk(route: Route, objects: dict) -> int:
    return objects["survey" if route.name in SURVEY_ROUTES else TARGETS[route.target]].pk


def _body(objects: dict) -> dict:
    """A body that would pass, so a leak would really write (or compute)."""
    return {
        "survey": objects["survey"].pk,
        "segments": "off",
        "custom_name": "Hijacked",
        "a": {"profile": {"role": "Lead"}},
        "b": "rest",
    }


def test_viewers_read_every_route_and_get_403_on_every_write(viewer, victim):
    api = APIClient()
    api.force_authenticate(viewer)
    before = snapshot()
    writes = 0
    for route in API_ROUTES:
        url = route.url(_pk(route, victim))
        for method in route.api_methods():
            response = getattr(api, method.lower())(url, _body(victim), format="json")
            if method in ("GET", "HEAD") or route.name in READS_BY_POST:
                assert response.status_code == 200, (method, url, response.content[:200])
            else:
                assert response.status_code == 403, (method, url)
                writes += 1
    assert api.post("/api/runs/", _body(victim), format="json").status_code == 403
    assert writes >= 2
    assert snapshot() == before
