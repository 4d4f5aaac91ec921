"""The analysis API: runs (start, status, cancel), results, segments, comparisons and exports.

Surveys are imported from wide CSVs with planted segments and a profile column "role" planted
with them (plus a "team" column that is pure noise), then analysed synchronously.
"""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from rest_framework.test import APIClient

from analysis import exports, runs
from analysis.core import synthetic
from analysis.export_formats import FORMATS
from analysis.models import AnalysisRun, OutcomeResult, RunStatus, SegmentResult
from analysis.parameters import clean_parameters
from analysis.storing import Superseded
from tests.analysis.test_runs import import_arrays

pytestmark = pytest.mark.django_db

ROLES = ["Team lead", "Engineer", "Analyst"]


def planted_survey(workspace, *, n=900, m=12, seed=11, name="Planted API study"):
    """Three planted segments; "role" follows the segment, "team" is random."""
    imp, sat, labels = synthetic.generate(n, m, 3, seed=seed)
    rng = np.random.default_rng(seed)
    profile = {
        "role": [ROLES[s] for s in labels],
        "team": [str(t) for t in rng.choice(["North", "South"], n)],
    }
    return import_arrays(workspace, imp, sat, name=name, profile=profile), labels


@pytest.fixture
def survey(workspace):
    return planted_survey(workspace)[0]


@pytest.fixture
def run(survey):
    run = runs.analyze_now(survey=survey, parameters={"segments": 3, "seed": 7})
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.segments_found
    return run


@pytest.fixture
def small_survey(workspace):
    """Analysed without segments: 120 respondents, 2 outcomes."""
    imp = np.tile(np.array([[5, 4]], dtype=np.uint8), (120, 1))
    sat = np.tile(np.array([[2, 4]], dtype=np.uint8), (120, 1))
    survey = import_arrays(workspace, imp, sat, name="Small")
    runs.analyze_now(survey=survey, parameters={"segments": "off"})
    return survey


def as_user(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def run_rows() -> list[tuple]:
    return list(AnalysisRun.objects.order_by("pk").values_list("pk", "status", "parameters"))


# --- runs ---------------------------------------------------------------------------------------


def test_a_researcher_queues_a_run_and_a_second_request_joins_it(researcher, survey):
    api = as_user(researcher)
    body = {"survey": survey.pk, "segments": "off", "seed": 42, "include_flagged": True}
    first = api.post("/api/runs/", body, format="json")
    assert first.status_code == 201, first.json()
    data = first.json()
    assert data["status"] == "queued" and data["joined_existing"] is False
    assert data["parameters"]["segments"] == "off" and data["parameters"]["seed"] == 42
    assert data["parameters"]["include_flagged"] is True
    assert data["requested_by"] == "researcher"

    again = api.post("/api/runs/", {"survey": survey.pk, "segments": 4}, format="json")
    assert again.status_code == 200
    assert again.json()["id"] == data["id"] and again.json()["joined_existing"] is True
    assert AnalysisRun.objects.filter(survey=survey).count() == 1


def test_starting_a_run_validates_its_parameters_by_name(researcher, survey):
    api = as_user(researcher)
    for body, field in [
        ({"survey": survey.pk, "segments": "many"}, "segments"),
        ({"survey": survey.pk, "segments": 99}, "segments"),
        ({"survey": survey.pk, "seed": -1}, "seed"),
        ({"survey": survey.pk, "include_flagged": "perhaps"}, "include_flagged"),
        ({"survey": survey.pk, "k_range": [5, 3]}, "k_range"),
        ({"segments": "auto"}, "survey"),
        ({"survey": 987654321}, "survey"),
    ]:
        response = api.post("/api/runs/", body, format="json")
        assert response.status_code == 400, body
        assert field in response.json(), (body, response.json())
    assert not AnalysisRun.objects.exists()


def test_runs_list_filters_by_survey_and_shows_progress_and_segmentation(viewer, run, small_survey):
    api = as_user(viewer)
    everything = api.get("/api/runs/").json()
    assert everything["count"] == 2
    listed = api.get(f"/api/runs/?survey={run.survey_id}").json()["results"]
    assert [r["id"] for r in listed] == [run.pk]
    assert api.get("/api/runs/?survey=abc").json()["results"] == []
    # Digits outside ASCII pass str.isdigit but are no id ("²" made int() fail: a 500).
    for odd in ("²", "٣", "¹²"):
        answer = api.get("/api/runs/", {"survey": odd})
        assert answer.status_code == 200 and answer.json()["results"] == [], odd
    detail = api.get(f"/api/runs/{run.pk}/").json()
    assert detail["status"] == "succeeded" and detail["progress"] == 100
    assert detail["n_respondents"] == 900 and detail["n_outcomes"] == 12
    assert detail["segmentation"]["found"] is True and detail["segmentation"]["k"] == 3
    assert sum(detail["segmentation"]["sizes"]) == 900
    assert detail["fingerprint"]["responses"] == 900
    assert "total" in detail["timings"] and detail["joined_existing"] is None
    assert detail["error"] == "" and isinstance(detail["warnings"], list)


def test_cancelling_a_queued_run_cancels_it_and_a_finished_run_is_a_conflict(researcher, survey):
    api = as_user(researcher)
    run_id = api.post("/api/runs/", {"survey": survey.pk}, format="json").json()["id"]
    cancelled = api.post(f"/api/runs/{run_id}/cancel/")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    run = AnalysisRun.objects.get(pk=run_id)
    assert run.status == RunStatus.CANCELLED and run.finished_at is not None
    # Nothing can claim it now, and a new request queues a new run.
    assert runs.execute_run(run_id, task_id="late-delivery") is None
    again = api.post(f"/api/runs/{run_id}/cancel/")
    assert again.status_code == 409 and "already finished" in again.json()["detail"]
    assert api.post("/api/runs/", {"survey": survey.pk}, format="json").status_code == 201


def test_a_running_run_that_is_cancelled_stores_nothing_at_its_next_write(researcher, survey):
    run = AnalysisRun.objects.create(survey=survey, parameters=clean_parameters({}))
    token = runs.claim_run(run.pk, task_id="worker-1")
    assert token is not None
    response = as_user(researcher).post(f"/api/runs/{run.pk}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    with pytest.raises(Superseded):
        runs._progress(run.pk, token, 50, "Bootstrap")
    # Nor can a redelivery of the same task take it back.
    assert runs.claim_run(run.pk, task_id="worker-1") is None
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED and not OutcomeResult.objects.filter(run=run).exists()


def test_viewers_cannot_start_or_cancel_runs_and_nothing_changes(viewer, survey):
    queued = AnalysisRun.objects.create(survey=survey)
    before = run_rows()
    api = as_user(viewer)
    assert api.post("/api/runs/", {"survey": survey.pk}, format="json").status_code == 403
    response = api.post(f"/api/runs/{queued.pk}/cancel/")
    assert response.status_code == 403 and "Viewers" in response.json()["detail"]
    assert run_rows() == before


# --- results ------------------------------------------------------------------------------------


def test_results_are_the_latest_runs_whole_sample_rows_best_first(viewer, run):
    data = as_user(viewer).get(f"/api/surveys/{run.survey_id}/results/").json()
    assert data["run"]["id"] == run.pk and data["segment"] is None
    assert data["sort"] == "opportunity" and data["count"] == 12
    outcomes = data["outcomes"]
    assert [o["rank"] for o in outcomes] == list(range(1, 13))
    top = outcomes[0]
    stored = OutcomeResult.objects.get(run=run, segment=None, rank=1)
    assert top["code"] == stored.code and top["opportunity"] == stored.opportunity
    assert top["opportunity_lower"] <= top["opportunity"] <= top["opportunity_upper"]
    for name in ("p_top10", "rank_lower", "mean_gap", "opportunity_to_add_value", "band"):
        assert name in top


def test_results_filter_by_segment_band_and_step_and_sort(viewer, run):
    api = as_user(viewer)
    url = f"/api/surveys/{run.survey_id}/results/"
    segment = api.get(url, {"segment": 2}).json()
    assert segment["segment"]["number"] == 2 and segment["count"] == 12
    # The one segment rule of pages, exports and commands: a name works too, in any case.
    name = SegmentResult.objects.get(run=run, number=2).name.upper()
    assert api.get(url, {"segment": name}).json()["segment"]["number"] == 2
    stored = OutcomeResult.objects.filter(segment__run=run, segment__number=2)
    assert {o["code"]: o["opportunity"] for o in segment["outcomes"]} == dict(
        stored.values_list("code", "opportunity")
    )
    band = OutcomeResult.objects.filter(run=run, segment=None).first().band
    banded = api.get(url, {"band": band}).json()["outcomes"]
    assert banded and all(o["band"] == band for o in banded)
    assert api.get(url, {"step": "Imported outcomes"}).json()["count"] == 12
    by_satisfaction = api.get(url, {"sort": "satisfaction"}).json()["outcomes"]
    values = [o["satisfaction"] for o in by_satisfaction]
    assert values == sorted(values, reverse=True)


def test_results_refuse_bad_filters_naming_them(viewer, run):
    api = as_user(viewer)
    for query, field, words in [
        ({"sort": "popularity"}, "sort", "popularity"),
        ({"band": "huge"}, "band", "huge"),
        ({"segment": 9}, "segment", "No segment 9"),
        ({"segment": "two"}, "segment", "No segment two"),
        ({"step": "Nowhere"}, "step", "Nowhere"),
    ]:
        response = api.get(f"/api/surveys/{run.survey_id}/results/", query)
        assert response.status_code == 400, query
        assert words in str(response.json()[field]), response.json()


def test_results_without_a_successful_run_are_404_saying_so(viewer, survey):
    response = as_user(viewer).get(f"/api/surveys/{survey.pk}/results/")
    assert response.status_code == 404
    assert "no successful analysis" in response.json()["detail"]


def test_a_segment_filter_on_a_run_without_segments_says_so(viewer, small_survey):
    response = as_user(viewer).get(f"/api/surveys/{small_survey.pk}/results/", {"segment": 1})
    assert response.status_code == 400 and "found no segments" in response.json()["segment"]


# --- segments -----------------------------------------------------------------------------------


def test_segments_list_the_latest_runs_segments_with_the_verdict(viewer, run):
    data = as_user(viewer).get(f"/api/surveys/{run.survey_id}/segments/").json()
    assert data["run"]["id"] == run.pk
    assert data["segmentation"]["found"] is True and data["segmentation"]["k"] == 3
    assert data["segmentation"]["reason"]
    segments = data["segments"]
    assert [s["number"] for s in segments] == [1, 2, 3]
    assert sum(s["size"] for s in segments) == 900
    first = segments[0]
    assert first["name"] and first["top_unmet"] and first["distinct_outcomes"]
    assert first["stability"] is not None and 0 < first["share"] < 1
    assert first["answer_differences"][0]["question"] == "role"
    assert {"nps", "ces", "custom_name", "display_name"} <= set(first)


def test_segments_of_a_run_without_segments_say_why(viewer, small_survey):
    data = as_user(viewer).get(f"/api/surveys/{small_survey.pk}/segments/").json()
    assert data["segments"] == [] and data["segmentation"]["found"] is False


def test_a_researcher_renames_a_segment_and_a_viewer_cannot(researcher, viewer, run):
    segment = SegmentResult.objects.get(run=run, number=1)
    url = f"/api/segments/{segment.pk}/"
    assert as_user(viewer).patch(url, {"custom_name": "Hijack"}, format="json").status_code == 403
    segment.refresh_from_db()
    assert segment.custom_name == ""
    renamed = as_user(researcher).patch(url, {"custom_name": "  Busy leads "}, format="json")
    assert renamed.status_code == 200
    assert renamed.json()["custom_name"] == "Busy leads"
    assert renamed.json()["display_name"] == "Busy leads"
    too_long = as_user(researcher).patch(url, {"custom_name": "x" * 201}, format="json")
    assert too_long.status_code == 400 and "custom_name" in too_long.json()
    assert as_user(researcher).put(url, {"custom_name": "x"}, format="json").status_code == 405
    segment.refresh_from_db()
    assert segment.custom_name == "Busy leads"


# --- comparisons --------------------------------------------------------------------------------


def test_a_planted_segment_differs_significantly_from_the_rest(viewer, run):
    url = f"/api/surveys/{run.survey_id}/compare/"
    data = as_user(viewer).post(url, {"a": {"segment": 1}, "b": "rest"}, format="json").json()
    size = SegmentResult.objects.get(run=run, number=1).size
    assert data["a"]["n"] == size and data["b"]["n"] == 900 - size
    assert data["seed"] == 7 and data["n_resamples"] == 2000
    outcomes = data["outcomes"]
    assert len(outcomes) == 12
    significant = [o for o in outcomes if o["significant"]]
    assert len(significant) >= 3
    for o in significant:
        assert o["q_value"] < 0.05 and o["p_value"] <= o["q_value"]
        assert o["lower"] <= o["difference"] <= o["upper"]
        assert o["lower"] > 0 or o["upper"] < 0
        assert o["difference"] == pytest.approx(o["opportunity_a"] - o["opportunity_b"])
    # The same request gives the same answer: the run's seed.
    again = as_user(viewer).post(url, {"a": {"segment": 1}, "b": "rest"}, format="json").json()
    assert again == data


def test_profile_groups_follow_the_planted_role_and_noise_finds_nothing(viewer, run):
    api = as_user(viewer)
    url = f"/api/surveys/{run.survey_id}/compare/"
    planted = api.post(
        url, {"a": {"profile": {"role": "Team lead"}}, "b": {"rest": True}}, format="json"
    ).json()
    assert planted["a"]["label"] == "role = Team lead"
    assert sum(o["significant"] for o in planted["outcomes"]) >= 3
    noise = api.post(
        url,
        {"a": {"profile": {"team": "North"}}, "b": {"profile": {"team": "South"}}},
        format="json",
    ).json()
    assert noise["a"]["n"] + noise["b"]["n"] == 900
    assert sum(o["significant"] for o in noise["outcomes"]) <= 1


def test_overlapping_groups_carry_a_warning(viewer, run):
    url = f"/api/surveys/{run.survey_id}/compare/"
    body = {"a": {"segment": 1}, "b": {"profile": {"team": "North"}}}
    data = as_user(viewer).post(url, body, format="json").json()
    assert any("in both groups" in w for w in data["warnings"])
    assert not any("fewer than" in w for w in data["warnings"])


def test_compare_refuses_unknown_or_malformed_groups_naming_them(viewer, run):
    api = as_user(viewer)
    for body, field, words in [
        ({"a": {"segment": 7}, "b": "rest"}, "a", "No segment 7"),
        ({"a": {"profile": {"shoe": "42"}}, "b": "rest"}, "a", "No profile question 'shoe'"),
        ({"a": {"segment": 1}, "b": {"profile": {"role": "Pilot"}}}, "b", "role = 'Pilot'"),
        ({"a": {"current_solution": "Spreadsheets"}, "b": "rest"}, "a", "nobody answered"),
        ({"a": {"segment": 1, "profile": {"role": "Analyst"}}, "b": "rest"}, "a", "exactly one"),
        ({"a": {}, "b": "rest"}, "a", "exactly one"),
        ({"a": "rest", "b": {"segment": 1}}, "a", "dictionary"),
        ({"a": {"rest": True}, "b": {"segment": 1}}, "a", "only be group b"),
        ({"a": {"segment": 1}, "b": "everyone"}, "b", "rest"),
        ({"a": {"segment": 1}}, "b", "required"),
    ]:
        response = api.post(f"/api/surveys/{run.survey_id}/compare/", body, format="json")
        assert response.status_code == 400, (body, response.json())
        assert words in str(response.json()[field]), (body, response.json())


def test_small_groups_are_warned_about_and_empty_ones_refused(viewer, workspace):
    imp = np.full((10, 2), 5, dtype=np.uint8)
    profile = {"role": ["Lead"] * 6 + ["Other"] * 4, "team": ["North"] * 6 + ["South"] * 4}
    tiny = import_arrays(workspace, imp, imp, name="Tiny", profile=profile)
    runs.analyze_now(survey=tiny, parameters={"segments": "off"})
    api = as_user(viewer)
    url = f"/api/surveys/{tiny.pk}/compare/"
    small = api.post(url, {"a": {"profile": {"role": "Lead"}}, "b": "rest"}, format="json")
    assert small.status_code == 200
    data = small.json()
    assert (data["a"]["n"], data["b"]["n"]) == (6, 4)
    assert data["a"]["small_group"] and data["b"]["small_group"]
    assert "Group a has 6 respondents (fewer than 100)" in data["warnings"][0]
    empty = {"a": {"profile": {"role": "Lead", "team": "South"}}, "b": "rest"}
    response = api.post(url, empty, format="json")
    assert response.status_code == 400 and "Nobody" in response.json()["a"]


# --- exports ------------------------------------------------------------------------------------


def test_the_csv_export_is_the_results_file_with_a_filename(viewer, run):
    api = as_user(viewer)
    url = f"/api/surveys/{run.survey_id}/exports/"
    response = api.get(url, {"format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    name = f"survey-{run.survey_id}-analysis-{run.pk}-results.csv"
    assert response["Content-Disposition"] == f'attachment; filename="{name}"'
    assert response.content.decode() == exports.results_csv(run)
    assert api.get(url).content == response.content  # csv is the default
    segment = api.get(url, {"format": "csv", "segment": 2})
    assert "segment-2.csv" in segment["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(segment.content.decode())))
    assert len(rows) == 12 and all(r["unmet_share"] for r in rows)


def test_xlsx_and_sav_exports_are_files_real_readers_open(viewer, run, tmp_path):
    import openpyxl
    import pyreadstat

    api = as_user(viewer)
    url = f"/api/surveys/{run.survey_id}/exports/"
    xlsx = api.get(url, {"format": "xlsx", "segment": 1})
    assert xlsx.status_code == 200, xlsx.content[:300]
    assert xlsx["Content-Type"] == FORMATS["xlsx"].content_type
    assert xlsx["Content-Disposition"].endswith('-results-segment-1.xlsx"')
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    assert len(book.sheetnames) == 2 and book.sheetnames[0].startswith("1 ")

    sav = api.get(url, {"format": "sav"})
    assert sav.status_code == 200, sav.content[:300]
    assert sav["Content-Disposition"].endswith('-respondents.sav"')
    path = tmp_path / "respondents.sav"
    path.write_bytes(sav.content)
    frame, meta = pyreadstat.read_sav(str(path))
    assert meta.variable_value_labels["segment"][1]
    assert len(frame) == 900 and "segment" in frame.columns


def test_exports_refuse_unknown_formats_and_segments(viewer, run):
    api = as_user(viewer)
    for query, field in [
        ({"format": "pdf"}, "format"),
        ({"segment": 8}, "segment"),
        ({"format": "sav", "segment": 1}, "segment"),
    ]:
        response = api.get(f"/api/surveys/{run.survey_id}/exports/", query)
        assert response.status_code == 400 and field in response.json(), query


# --- scoping ------------------------------------------------------------------------------------


def test_another_workspace_gets_404_from_every_endpoint_and_changes_nothing(outsider, run):
    api = as_user(outsider)
    survey_id = run.survey_id
    segment = SegmentResult.objects.get(run=run, number=1)
    queued = AnalysisRun.objects.create(survey=run.survey)
    before = run_rows(), list(SegmentResult.objects.values_list("pk", "custom_name"))
    for url in (
        f"/api/runs/{run.pk}/",
        f"/api/segments/{segment.pk}/",
        f"/api/surveys/{survey_id}/results/",
        f"/api/surveys/{survey_id}/segments/",
        f"/api/surveys/{survey_id}/exports/?format=csv",
    ):
        assert api.get(url).status_code == 404, url
    assert api.post(f"/api/runs/{queued.pk}/cancel/").status_code == 404
    assert api.patch(f"/api/segments/{segment.pk}/", {"custom_name": "x"}).status_code == 404
    compare = api.post(
        f"/api/surveys/{survey_id}/compare/", {"a": {"segment": 1}, "b": "rest"}, format="json"
    )
    assert compare.status_code == 404
    started = api.post("/api/runs/", {"survey": survey_id}, format="json")
    assert started.status_code == 400 and "does not exist" in str(started.json()["survey"])
    assert api.get("/api/runs/").json()["results"] == []
    assert api.get(f"/api/runs/?survey={survey_id}").json()["results"] == []
    assert (run_rows(), list(SegmentResult.objects.values_list("pk", "custom_name"))) == before


def test_anonymous_users_are_refused(run):
    api = APIClient()
    for url in ("/api/runs/", f"/api/surveys/{run.survey_id}/results/"):
        assert api.get(url).status_code == 401
    assert api.post("/api/runs/", {"survey": run.survey_id}).status_code == 401
