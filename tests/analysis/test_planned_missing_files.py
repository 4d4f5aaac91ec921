"""Planned-missing data in files: a wide CSV with "not shown by design" (99) and "not applicable"
(98) imports and analyses like blanks, and the exports keep the two apart from "shown, not
answered" (SPSS user-missing values with labels; the design on the Excel "About" sheet)."""

from __future__ import annotations

import csv
import io
import math

import numpy as np
import openpyxl
import pyreadstat
import pytest
from django.core.management import call_command

from analysis import export_respondents, export_sav, export_xlsx
from analysis.core.designs import counter_allocation
from analysis.models import OutcomeResult
from analysis.runs import analyze_now
from surveys import ratings
from surveys.importing import import_study
from surveys.models import Response, SurveyVersion
from surveys.wide_csv import ImportOptions, ResponseImportError
from tests.analysis.test_runs import import_arrays
from tests.factories import WorkspaceFactory

pytestmark = pytest.mark.django_db


def planned_missing(n: int = 300, m: int = 12, k: int = 4, seed: int = 3):
    """Ratings of n respondents on m outcomes where each was shown k; the rest coded 7 (not
    shown), a few shown ones 6 (not applicable) and a few left blank (0)."""
    rng = np.random.default_rng(seed)
    imp = rng.integers(1, 6, (n, m)).astype(np.uint8)
    sat = rng.integers(1, 6, (n, m)).astype(np.uint8)
    shown = counter_allocation(n, m, k, seed)
    imp[~shown], sat[~shown] = ratings.NOT_SHOWN, ratings.NOT_SHOWN
    rows, cols = np.nonzero(shown)
    pick = rng.choice(len(rows), size=30, replace=False)
    imp[rows[pick[:15]], cols[pick[:15]]] = ratings.NOT_APPLICABLE
    sat[rows[pick[:15]], cols[pick[:15]]] = ratings.NOT_APPLICABLE
    sat[rows[pick[15:]], cols[pick[15:]]] = 0
    return imp, sat


@pytest.fixture
def survey():
    imp, sat = planned_missing()
    return import_arrays(WorkspaceFactory(), imp, sat, name="Planned"), imp, sat


def test_the_codes_are_stored_apart_and_scores_equal_those_of_blanks(survey):
    planned, imp, sat = survey
    stored = np.array(
        [ratings.decode(r.ratings, 12)[0] for r in Response.objects.filter(survey=planned)]
    )
    assert np.array_equal(stored, imp)  # 98 and 99 came in as codes 6 and 7
    blanks = import_arrays(
        planned.workspace, np.where(imp > 5, 0, imp), np.where(sat > 5, 0, sat), name="Blanks"
    )
    a = analyze_now(survey=planned, parameters={"seed": 1, "segments": "off"})
    b = analyze_now(survey=blanks, parameters={"seed": 1, "segments": "off"})
    rows_a = list(OutcomeResult.objects.filter(run=a, segment=None).order_by("position"))
    rows_b = list(OutcomeResult.objects.filter(run=b, segment=None).order_by("position"))
    for x, y in zip(rows_a, rows_b, strict=True):
        assert (x.n, x.opportunity, x.opportunity_lower) == (
            y.n,
            y.opportunity,
            y.opportunity_lower,
        )
    # n counts the ratings given: each outcome shown to 100, fewer where "not applicable".
    valid = ((imp > 0) & (imp <= 5)).sum(axis=0)
    assert [r.n for r in rows_a] == valid.tolist() and max(valid) <= 100


def test_spss_holds_98_and_99_as_labelled_user_missing_values_and_blank_as_system_missing(
    survey, tmp_path
):
    planned, imp, sat = survey
    run = analyze_now(survey=planned, parameters={"seed": 1, "segments": "off"})
    path = tmp_path / "planned.sav"  # pyreadstat reads from a path
    path.write_bytes(export_sav.respondents_sav(run))
    frame, meta = pyreadstat.read_sav(str(path), user_missing=True)
    order = {f"resp-{i:05d}": i for i in range(len(imp))}
    rows = [order[r] for r in frame["respondent_id"]]
    written = {0: math.nan, 6: 98.0, 7: 99.0}
    for j in range(12):
        code = f"O{j + 1:03d}"
        got = frame[f"sat_{code}"].to_numpy()
        want = np.array([written.get(v, float(v)) for v in sat[rows, j]])
        assert np.array_equal(got, want, equal_nan=True), code
        assert meta.missing_ranges[f"imp_{code}"] == [
            {"lo": 98.0, "hi": 98.0},
            {"lo": 99.0, "hi": 99.0},
        ]
        assert meta.variable_value_labels[f"imp_{code}"][99] == "Not shown by design"
        assert meta.variable_value_labels[f"sat_{code}"][98] == "Not applicable / can't say"
    plain, _ = pyreadstat.read_sav(str(path))  # without user missing: all missing
    assert plain["imp_O001"].max() <= 5 and plain["imp_O001"].isna().sum() >= 200


def test_the_about_sheet_states_the_design(survey):
    planned, _, _ = survey
    run = analyze_now(survey=planned, parameters={"seed": 1, "segments": "off"})
    facts = lambda: {  # noqa: E731
        r[0]: r[1]
        for r in openpyxl.load_workbook(io.BytesIO(export_xlsx.results_xlsx(run)))[
            "About"
        ].iter_rows(values_only=True)
        if r[0]
    }
    assert facts()["Planned subsets"].startswith("off")
    version = planned.current_version
    content = {**version.content, "design": {"k": 4, "core": ["O001"], "seed": 8, "minutes": None}}
    SurveyVersion.objects.filter(pk=version.pk).update(content=content)
    planned.refresh_from_db()
    run.survey = planned
    text = facts()["Planned subsets"]
    assert "rated 4 of 12 outcomes" in text and "O001" in text and "seed 8" in text
    # Versions with different designs: each is stated.
    SurveyVersion.objects.create(
        survey=planned, number=2, content={**version.content}, content_hash="x" * 64
    )
    text = facts()["Planned subsets"]
    assert text.startswith("version 1: each respondent rated 4 of 12") and "version 2: off" in text


def test_the_respondents_csv_keeps_the_codes_and_imports_again_to_the_same_ratings(survey):
    planned, imp, sat = survey
    run = analyze_now(survey=planned, parameters={"seed": 1, "segments": "off"})
    text = export_respondents.respondents_csv(run)
    rows = list(csv.reader(io.StringIO(text)))
    header, first = rows[0], rows[1]
    assert header[:3] == ["respondent_id", "segment", "segment_name"]
    assert header[3:5] == ["imp_O001", "sat_O001"] and len(header) == 3 + 24
    assert first[1:3] == ["1", "Everyone"]
    values = {v for row in rows[1:] for v in row[3:]}
    assert values == {"", "1", "2", "3", "4", "5", "98", "99"}
    again = import_study(
        workspace=planned.workspace, name="Again", data=text.encode(), options=ImportOptions()
    ).survey
    by_id = {
        r.respondent_id: ratings.decode(r.ratings, 12)
        for r in Response.objects.filter(survey=again)
    }
    for i in range(len(imp)):
        got_imp, got_sat = by_id[f"resp-{i:05d}"]
        assert np.array_equal(got_imp, imp[i]) and np.array_equal(got_sat, sat[i])


def test_the_respondents_workbook_has_the_same_table_and_the_codes_on_about(survey):
    planned, _, _ = survey
    run = analyze_now(survey=planned, parameters={"seed": 1, "segments": "off"})
    rows = list(csv.reader(io.StringIO(export_respondents.respondents_csv(run))))
    book = openpyxl.load_workbook(io.BytesIO(export_respondents.respondents_xlsx(run)))
    assert book.sheetnames == ["Respondents", "About"]
    cells = [
        ["" if v is None else str(v) for v in row]
        for row in book["Respondents"].iter_rows(values_only=True)
    ]
    assert cells == rows
    assert isinstance(book["Respondents"]["D2"].value, int)  # numbers stay numbers
    about = {r[0]: r[1] for r in book["About"].iter_rows(values_only=True) if r[0]}
    assert about["99"] == "Not shown by design" and about["blank"].startswith("shown, not answered")
    assert about["Planned subsets"].startswith("off") and about["Analysis run"] == run.pk


def test_the_command_writes_the_respondent_formats(survey, tmp_path):
    planned, _, _ = survey
    analyze_now(survey=planned, parameters={"seed": 1, "segments": "off"})
    out = io.StringIO()
    call_command("export_results", str(planned.pk), "--format", "respondents-csv", stdout=out)
    assert out.getvalue().startswith("respondent_id,segment,segment_name,imp_O001")
    path = tmp_path / "r.xlsx"
    call_command("export_results", str(planned.pk), "--format", "respondents-xlsx", "-o", str(path))
    assert openpyxl.load_workbook(path).sheetnames == ["Respondents", "About"]


def test_99_in_only_one_of_an_outcomes_columns_is_refused_naming_the_cell():
    imp, sat = planned_missing(n=20)
    row, col = np.argwhere(imp == ratings.NOT_SHOWN)[0]
    sat[row, col] = 3
    with pytest.raises(ResponseImportError) as refused:
        import_arrays(WorkspaceFactory(), imp, sat, name="Odd")
    problem = refused.value.problems[0]
    assert (problem.row, problem.column) == (row + 2, f"imp_O{col + 1:03d}")
    assert "both of an outcome's columns" in problem.message
    assert not Response.objects.exists()
