"""The analysis commands of the interchange: analyze, export_results, export_segments."""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from analysis.core import synthetic
from analysis.exports import RESULT_COLUMNS
from analysis.models import AnalysisRun, OutcomeResult, RunStatus
from surveys.models import Response
from tests.analysis.test_runs import import_arrays, planted, published_example
from tests.factories import WorkspaceFactory

PROJECT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.django_db


@pytest.fixture
def workspace(db):
    return WorkspaceFactory(name="Acme commands")


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def segmented(workspace):
    survey, truth = planted(workspace, n=1500, m=30, segments=3, seed=5)
    run("analyze", str(survey.pk), "--seed", "4")
    return survey, truth


# --- analyze ------------------------------------------------------------------------------------


def test_analyze_prints_the_sample_the_top_ten_and_the_segments(segmented):
    survey, _ = segmented
    out = run("analyze", str(survey.pk), "--seed", "4")
    analysis = AnalysisRun.objects.latest_succeeded(survey)
    assert "n = 1500 respondents, 30 outcomes" in out
    top = list(analysis.whole_sample()[:10])
    lines = out.splitlines()
    for row in top:
        line = next(line for line in lines if f" {row.code} " in line)
        assert f"{row.opportunity:.2f}" in line
        assert f"{row.opportunity_lower:.2f}–{row.opportunity_upper:.2f}" in line
    assert len([ln for ln in lines if re.match(r"^\s*\d+\s+O\d+ ", ln)]) == 10
    assert "Segments: found, k = 3." in out
    assert analysis.parameters["seed"] == 4


def test_analyze_says_so_when_there_are_no_segments(workspace):
    imp, sat, _ = synthetic.generate(800, 15, 0, seed=2)
    survey = import_arrays(workspace, imp, sat)
    out = run("analyze", str(survey.pk))
    assert "Segments: none found, k = 1. No segments" in out
    out = run("analyze", str(survey.pk), "--segments", "off")
    assert "Segmentation was turned off" in out


def test_analyze_runs_a_fixed_number_of_segments(workspace):
    survey, _ = planted(workspace, n=900, m=20, segments=3)
    out = run("analyze", str(survey.pk), "--segments", "4")
    assert "Segments: found, k = 4." in out
    assert AnalysisRun.objects.latest_succeeded(survey).segments.count() == 4


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("999999",), "No survey with id '999999'"),
        (("abc",), "No survey with id 'abc'"),
        (("{survey}", "--segments", "many"), "--segments: 'many' is not 'auto', 'off'"),
        (("{survey}", "--segments", "1"), "--segments:"),
        (("{survey}", "--seed", "-3"), "seed: Give a whole number"),
    ],
)
def test_analyze_refuses_bad_input(workspace, args, message):
    survey = import_arrays(workspace, *published_example())
    with pytest.raises(CommandError, match=message):
        run("analyze", *(a.format(survey=survey.pk) for a in args))


def test_analyze_reports_a_failed_run(workspace):
    survey = import_arrays(workspace, *published_example())
    Response.objects.filter(survey=survey).update(flags=["speeder"])
    with pytest.raises(CommandError, match="failed: No analysable responses yet"):
        run("analyze", str(survey.pk))
    assert AnalysisRun.objects.get(survey=survey).status == RunStatus.FAILED


# --- export_results -----------------------------------------------------------------------------


def _as_stored(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, int | float) else str(value)


def test_export_results_matches_the_stored_results_exactly(segmented):
    survey, _ = segmented
    rows = read_csv(run("export_results", str(survey.pk), "--format", "csv"))
    analysis = AnalysisRun.objects.latest_succeeded(survey)
    stored = list(analysis.whole_sample().values(*RESULT_COLUMNS))
    assert len(rows) == 30
    required = {"code", "statement", "step", "n", "importance", "satisfaction", "opportunity"}
    required |= {"band", "overserved", "opportunity_lower", "opportunity_upper"}
    assert required <= set(rows[0])
    for row, expected in zip(rows, stored, strict=True):
        assert row == {k: _as_stored(v) for k, v in expected.items()}
    # unrounded: the CSV gives back the stored floats bit for bit
    assert float(rows[0]["opportunity"]) == stored[0]["opportunity"]
    assert [int(r["rank"]) for r in rows] == list(range(1, 31))
    opportunities = [float(r["opportunity"]) for r in rows]
    assert opportunities == sorted(opportunities, reverse=True)


def test_export_results_of_one_segment(segmented, tmp_path):
    survey, _ = segmented
    analysis = AnalysisRun.objects.latest_succeeded(survey)
    segment = analysis.segments.get(number=2)
    path = tmp_path / "segment2.csv"
    run("export_results", str(survey.pk), "--segment", "2", "-o", str(path))
    rows = read_csv(path.read_text(encoding="utf-8"))
    stored = OutcomeResult.objects.filter(segment=segment).order_by("rank")
    assert [r["code"] for r in rows] == list(stored.values_list("code", flat=True))
    assert [float(r["opportunity"]) for r in rows] == list(
        stored.values_list("opportunity", flat=True)
    )
    assert {r["distinctive"] for r in rows} == {"true", "false"}
    by_name = read_csv(run("export_results", str(survey.pk), "--segment", segment.name.upper()))
    assert by_name == rows


def test_export_results_neutralises_formulas_in_text(segmented):
    survey, _ = segmented
    analysis = AnalysisRun.objects.latest_succeeded(survey)
    OutcomeResult.objects.filter(run=analysis, code="O001").update(
        statement='=HYPERLINK("http://evil.example","click")', step="+step"
    )
    rows = read_csv(run("export_results", str(survey.pk)))
    row = next(r for r in rows if r["code"] == "O001")
    assert row["statement"].startswith("'=HYPERLINK(")
    assert row["step"] == "'+step"
    gaps = [r["mean_gap"] for r in rows]
    assert any(g.startswith("-") for g in gaps)  # negative numbers stay numbers
    assert all(float(g) == float(g) for g in gaps)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("{survey}", "--format", "xlsx"), "binary file: give -o FILE"),
        (("{survey}", "--format", "sav", "--segment", "1"), "--segment does not apply to"),
        (
            ("{survey}", "--format", "pdf"),
            "choose csv, xlsx, sav, respondents-csv or respondents-xlsx",
        ),
        (("{survey}", "--segment", "9"), "No segment 9"),
        (("424242",), "No survey with id '424242'"),
    ],
)
def test_export_results_refuses_bad_input(segmented, args, message):
    survey, _ = segmented
    with pytest.raises(CommandError, match=message):
        run("export_results", *(a.format(survey=survey.pk) for a in args))


def test_export_results_needs_a_successful_analysis(workspace):
    survey = import_arrays(workspace, *published_example())
    with pytest.raises(CommandError, match="has no successful analysis yet"):
        run("export_results", str(survey.pk))
    run("analyze", str(survey.pk), "--segments", "off")
    with pytest.raises(CommandError, match="found no segments"):
        run("export_results", str(survey.pk), "--segment", "1")


# --- export_segments ----------------------------------------------------------------------------


def test_export_segments_lists_every_analysed_respondent_once_with_their_id(segmented, tmp_path):
    survey, truth = segmented
    Response.objects.filter(survey=survey, respondent_id="resp-00007").update(flags=["speeder"])
    run("analyze", str(survey.pk), "--seed", "4")
    path = tmp_path / "segments.csv"
    run("export_segments", str(survey.pk), "-o", str(path))
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == "respondent_id,segment"
    rows = read_csv(text)
    ids = [r["respondent_id"] for r in rows]
    analysed = set(
        Response.objects.filter(survey=survey).analysable().values_list("respondent_id", flat=True)
    )
    assert len(ids) == len(set(ids)) == 1499
    assert set(ids) == analysed and "resp-00007" not in ids
    assert {r["segment"] for r in rows} == {"1", "2", "3"}
    analysis = AnalysisRun.objects.latest_succeeded(survey)
    sizes = {s.number: s.size for s in analysis.segments.all()}
    assert {n: sum(r["segment"] == str(n) for r in rows) for n in sizes} == sizes
    from sklearn.metrics import adjusted_rand_score

    found = {r["respondent_id"]: int(r["segment"]) for r in rows}
    keep = [i for i in range(1500) if f"resp-{i:05d}" in found]
    assert adjusted_rand_score(truth[keep], [found[f"resp-{i:05d}"] for i in keep]) >= 0.85


def test_export_segments_puts_everyone_in_one_segment_when_none_was_found(workspace):
    imp, sat, _ = synthetic.generate(700, 12, 0, seed=6)
    ids = [f"ext-{i}" for i in range(700)]
    survey = import_arrays(workspace, imp, sat, ids=ids)
    run("analyze", str(survey.pk))
    rows = read_csv(run("export_segments", str(survey.pk)))
    assert [r["respondent_id"] for r in rows] == ids
    assert {r["segment"] for r in rows} == {"1"}


def test_export_segments_needs_a_successful_analysis(workspace):
    survey = import_arrays(workspace, *published_example())
    with pytest.raises(CommandError, match="no successful analysis yet"):
        run("export_segments", str(survey.pk))


# --- a real process -----------------------------------------------------------------------------


def test_the_commands_work_as_processes_and_exit_non_zero_on_bad_input(tmp_path):
    """Import, analyse and export through manage.py, as another tool would; exit codes matter."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}"}
    env.pop("REDIS_URL", None)

    def manage(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=PROJECT,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )

    assert manage("migrate", "-v0").returncode == 0
    imp, sat = published_example()
    study = tmp_path / "study.csv"
    from tests.analysis.test_runs import wide_csv

    study.write_text(wide_csv(imp, sat), encoding="utf-8")
    imported = manage("import_study", str(study), "--name", "Published example")
    assert imported.returncode == 0, imported.stderr
    survey_id = imported.stdout.strip().splitlines()[-1]

    missing = manage("export_results", survey_id, "--format", "csv")
    assert missing.returncode != 0
    assert "no successful analysis yet" in missing.stderr
    assert manage("analyze", survey_id, "--segments", "lots").returncode != 0
    assert manage("analyze", "31337").returncode != 0

    analysed = manage("analyze", survey_id)
    assert analysed.returncode == 0, analysed.stderr
    assert "n = 270 respondents" in analysed.stdout
    exported = manage("export_results", survey_id, "--format", "csv")
    assert exported.returncode == 0, exported.stderr
    row = next(r for r in read_csv(exported.stdout) if r["code"] == "O001")
    assert round(float(row["importance"]), 3) == 7.407
    assert round(float(row["satisfaction"]), 3) == 2.778
    assert round(float(row["opportunity"]), 3) == 12.037
    xlsx = tmp_path / "results.xlsx"
    exported = manage("export_results", survey_id, "--format", "xlsx", "-o", str(xlsx))
    assert exported.returncode == 0, exported.stderr
    assert xlsx.read_bytes()[:2] == b"PK"  # a zip: the workbook
    assert manage("export_results", survey_id, "--format", "sav", "--segment", "1").returncode != 0
    segments = manage("export_segments", survey_id)
    assert segments.returncode == 0, segments.stderr
    assert len(read_csv(segments.stdout)) == 270
    assert np.all([r["segment"] == "1" for r in read_csv(segments.stdout)])
