"""XLSX and SPSS exports of stored results, read back with real readers (openpyxl, pyreadstat).

The survey is built as a researcher's would be: a planted-segment study imported from a wide
CSV, then given the profile questions of every kind, a current-solution question, NPS and CES,
as if its version had asked them.
"""

from __future__ import annotations

import csv
import io
import math
import zipfile

import openpyxl
import pyreadstat
import pytest
from django.core.management import CommandError, call_command

from analysis import export_xlsx, exports
from analysis.export_sav import spss_name
from analysis.export_xlsx import BAND_STYLES, sheet_title
from analysis.exports import RESULT_COLUMNS
from analysis.models import AnalysisRun, OutcomeResult
from analysis.runs import analyze_now
from surveys.models import (
    CES_TEXT,
    CURRENT_SOLUTION_TEXT,
    DEFAULT_SATISFACTION_LABELS,
    NPS_TEXT,
    Response,
    SurveyVersion,
)
from surveys.ratings import decode
from tests.analysis.test_runs import import_arrays, planted, published_example
from tests.factories import WorkspaceFactory

pytestmark = pytest.mark.django_db

FORMULA = '=HYPERLINK("http://evil.example","click")'
LONG_STATEMENT = "Minimize the time it takes to tell whether the déjà-vu report is current " * 6
IMPORTANCE_LABELS = ["Unimportant", "A little", "Somewhat", "Quite", "Crucial"]
TOOLS = ["Slack", "E-mail", "Wiki"]
SOLUTIONS = ["Spreadsheets", "Tool X"]
ROLES = ["Analyst", "Engineer", "Manager"]  # planted(): 3 segments, 3 roles; the import sorts


@pytest.fixture
def workspace(db):
    return WorkspaceFactory(name="Acme exports")


def command(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def tools_of(i: int) -> list[str] | None:
    """Respondent i's multiple-choice answer: None (not answered) for every 7th."""
    return None if i % 7 == 0 else [t for k, t in enumerate(TOOLS) if (i >> k) & 1]


def solution_of(i: int) -> str:
    return ["Spreadsheets", "Tool X", "Carrier pigeons", ""][i % 4]


@pytest.fixture
def study(workspace):
    """A segmented survey whose version asked every kind of profile question, the current
    solution, NPS and CES; one respondent flagged out of the analysis. Returns (survey, run)."""
    survey, _ = planted(workspace, n=900, m=20, segments=3, seed=5, name="Exports study")
    version = survey.current_version
    content = version.content
    content["importance_labels"] = IMPORTANCE_LABELS
    outcomes = content["steps"][0]["outcomes"]
    outcomes[0]["statement"] = FORMULA
    outcomes[1]["statement"] = LONG_STATEMENT
    base = {"required": False, "complexity_factor": False, "screener": False}
    base |= {"disqualifying": [], "minimum": None, "maximum": None}
    content["questions"] += [
        {**base, "key": "tools", "kind": "multiple", "text": "Which tools?", "options": TOOLS},
        {**base, "key": "team_size", "kind": "number", "text": "Team size", "options": []},
        {**base, "key": "notes", "kind": "text", "text": "Anything else?", "options": []},
    ]
    content["current_solution"] = {"text": CURRENT_SOLUTION_TEXT, "options": SOLUTIONS}
    content["nps"] = NPS_TEXT.format(subject="your tool")
    content["ces"] = CES_TEXT
    SurveyVersion.objects.filter(pk=version.pk).update(content=content)
    responses = list(Response.objects.filter(survey=survey).order_by("id"))
    for i, response in enumerate(responses):
        response.profile = {
            **response.profile,
            **({"tools": tools_of(i)} if tools_of(i) is not None else {}),
            **({"team_size": i % 17 + 0.5} if i % 5 else {}),
            "notes": "=1+1" if i == 3 else f"note {i}",
        }
        response.current_solution = solution_of(i)
        response.nps = i % 11
        response.ces = i % 7 + 1 if i % 9 else None
    Response.objects.bulk_update(responses, ["profile", "current_solution", "nps", "ces"])
    Response.objects.filter(pk=responses[10].pk).update(flags=["speeder"])
    run = analyze_now(survey=survey, parameters={"seed": 4})
    assert run.segments_found, run.segmentation
    return survey, run


# --- XLSX ---------------------------------------------------------------------------------------


def read_csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def assert_sheet_equals_csv(sheet, csv_text: str) -> None:
    expected = read_csv_rows(csv_text)
    got = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert len(got) == len(expected)
    assert got[0] == list(RESULT_COLUMNS) == expected[0]
    for row, want in zip(got[1:], expected[1:], strict=True):
        assert len(row) == len(want)
        for column, value, text in zip(RESULT_COLUMNS, row, want, strict=True):
            if text == "":
                assert value is None, column
            elif text in ("true", "false"):
                assert value is (text == "true"), column
            elif isinstance(value, int | float):
                assert not isinstance(value, bool), column
                assert math.isclose(value, float(text), rel_tol=0, abs_tol=1e-12), column
            else:
                assert value == text, column


def test_xlsx_has_a_sheet_per_group_equal_to_the_csv_cell_for_cell(study, tmp_path):
    survey, run = study
    path = tmp_path / "results.xlsx"
    command("export_results", str(survey.pk), "--format", "xlsx", "-o", str(path))
    book = openpyxl.load_workbook(path)
    segments = list(run.segments.order_by("number"))
    assert len(segments) == 3
    names = book.sheetnames
    assert names[0] == "Whole sample" and names[-1] == "About" and len(names) == 5
    for name, segment in zip(names[1:-1], segments, strict=True):
        assert name.startswith(f"{segment.number} ") and len(name) <= 31
    assert_sheet_equals_csv(book["Whole sample"], exports.results_csv(run))
    for name, segment in zip(names[1:-1], segments, strict=True):
        assert_sheet_equals_csv(book[name], exports.results_csv(run, segment))
    # unrounded: openpyxl writes 16 significant digits, Excel shows 15
    top = run.whole_sample().first()
    assert math.isclose(book["Whole sample"]["N2"].value, top.opportunity, rel_tol=1e-15)


def test_xlsx_sheets_are_styled_frozen_filtered_and_coloured_by_band(study, tmp_path):
    survey, _ = study
    path = tmp_path / "results.xlsx"
    command("export_results", str(survey.pk), "--format", "xlsx", "-o", str(path))
    book = openpyxl.load_workbook(path)
    band_col = RESULT_COLUMNS.index("band") + 1
    seen = set()
    for sheet in book.worksheets[:-1]:
        assert sheet.freeze_panes == "A2"
        assert all(c.font.bold for c in sheet[1])
        assert sheet.auto_filter.ref == f"A1:AD{sheet.max_row}"
        assert sheet.column_dimensions["C"].width > sheet.column_dimensions["A"].width
        for row in sheet.iter_rows(min_row=2):
            band = row[band_col - 1].value
            if band in BAND_STYLES:
                seen.add(band)
                assert row[band_col - 1].fill.fgColor.rgb.endswith(BAND_STYLES[band][1])
                assert row[0].fill.fgColor.rgb.endswith(BAND_STYLES[band][0])
    assert {"extreme", "low"} <= seen


def test_xlsx_never_holds_a_formula(study):
    _, run = study
    assert OutcomeResult.objects.get(run=run, segment=None, code="O001").statement == FORMULA
    OutcomeResult.objects.filter(run=run, code="O002").update(step="@SUM(A1)", stage="+1")
    data = export_xlsx.results_xlsx(run)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/")]
        assert sheets and all(b"<f>" not in archive.read(n) for n in sheets)
    book = openpyxl.load_workbook(io.BytesIO(data))
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            assert all(c.data_type != "f" for c in row)
    whole = book["Whole sample"]
    row = next(r for r in whole.iter_rows(values_only=True) if r[1] == "O001")
    assert row[2] == "'" + FORMULA
    row = next(r for r in whole.iter_rows(values_only=True) if r[1] == "O002")
    assert row[3:5] == ("'@SUM(A1)", "'+1")


def test_xlsx_of_one_segment_has_only_its_sheet(study, tmp_path):
    survey, run = study
    segment = run.segments.get(number=2)
    path = tmp_path / "segment.xlsx"
    command("export_results", str(survey.pk), "--format", "xlsx", "--segment", "2", "-o", str(path))
    book = openpyxl.load_workbook(path)
    assert len(book.sheetnames) == 2 and book.sheetnames[1] == "About"
    assert book.sheetnames[0].startswith("2 ")
    assert_sheet_equals_csv(book.worksheets[0], exports.results_csv(run, segment))


def test_xlsx_about_sheet_describes_the_run(study):
    survey, run = study
    about = openpyxl.load_workbook(io.BytesIO(export_xlsx.results_xlsx(run)))["About"]
    facts = {r[0]: r[1] for r in about.iter_rows(values_only=True) if r[0]}
    assert facts["Survey"] == survey.title
    assert facts["Analysis run"] == run.pk
    assert facts["Respondents (n)"] == run.n_respondents == 899
    assert facts["Finished"] == run.finished_at.isoformat()
    assert facts["seed"] == 4 and facts["k_range"] == "[2, 8]"
    assert facts["opportunity"] == "O = I + max(I − S, 0) (0–20)"
    assert facts["Segments"] == "3 found"


def test_xlsx_goes_to_a_redirected_stdout(study):
    survey, _ = study
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    call_command("export_results", str(survey.pk), "--format", "xlsx", stdout=out)
    data = out.buffer.getvalue()
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames[0] == "Whole sample"


def test_sheet_titles_are_excel_safe_short_and_unique():
    taken = {"whole sample", "about"}
    long = "1 Minimize: the [time]/effort? *to* find\\who " * 3
    first = sheet_title(long, taken)
    second = sheet_title(long, taken)
    assert len(first) <= 31 and len(second) <= 31 and first != second
    assert not set("[]:*?/\\") & set(first + second)
    assert sheet_title("About", taken) == "About (2)"
    assert sheet_title("'quoted'", taken) == "quoted"
    assert sheet_title("History", taken) == "History (2)"


# --- SAV ----------------------------------------------------------------------------------------


@pytest.fixture
def sav(study, tmp_path):
    survey, run = study
    path = tmp_path / "respondents.sav"
    command("export_results", str(survey.pk), "--format", "sav", "-o", str(path))
    frame, meta = pyreadstat.read_sav(str(path))
    return survey, run, frame, meta


def test_sav_has_one_row_per_analysed_respondent_with_their_ratings(sav):
    survey, run, frame, _ = sav
    membership = run.membership
    assert len(frame) == run.n_respondents == len(membership.respondent_ids) == 899
    assert list(frame["respondent_id"]) == membership.respondent_ids
    codes = survey.current_version.outcome_codes
    by_id = {r.respondent_id: r for r in Response.objects.filter(survey=survey)}
    assert "resp-00010" not in set(frame["respondent_id"])  # flagged, not analysed
    for i, rid in enumerate(frame["respondent_id"]):
        imp, sat = decode(by_id[rid].ratings, len(codes))
        for j, code in enumerate(codes):
            for value, stored in (
                (frame[f"imp_{code}"][i], imp[j]),
                (frame[f"sat_{code}"][i], sat[j]),
            ):
                assert (math.isnan(value) and stored == 0) or value == stored
    assert frame[[f"imp_{c}" for c in codes]].isna().to_numpy().any()  # gaps stay missing
    segments = membership.segment_array()
    assert list(frame["segment"]) == segments.tolist()


def test_sav_labels_the_outcomes_and_both_scales(sav):
    survey, _, _, meta = sav
    labels = meta.column_names_to_labels
    assert labels["imp_O001"] == "Importance: " + FORMULA
    assert labels["sat_O003"] == "Satisfaction: Outcome O003"
    long = labels["imp_O002"]
    assert long.startswith("Importance: Minimize the time") and long.endswith("…")
    assert len(long.encode("utf-8")) <= 256
    values = meta.variable_value_labels
    for code in survey.current_version.outcome_codes:
        missing = {98: "Not applicable / can't say", 99: "Not shown by design"}
        assert values[f"imp_{code}"] == {**dict(enumerate(IMPORTANCE_LABELS, start=1)), **missing}
        assert values[f"sat_{code}"] == {
            **dict(enumerate(DEFAULT_SATISFACTION_LABELS, start=1)),
            **missing,
        }
    assert meta.variable_measure["imp_O001"] == "ordinal"


def test_sav_codes_every_profile_question(sav):
    survey, _, frame, meta = sav
    labels, values = meta.column_names_to_labels, meta.variable_value_labels
    by_id = {r.respondent_id: r for r in Response.objects.filter(survey=survey)}
    answers = [by_id[rid] for rid in frame["respondent_id"]]
    index = [int(rid.split("-")[1]) for rid in frame["respondent_id"]]
    # single choice: codes 1..k in option order
    assert labels["q_role"] == "role"
    assert values["q_role"] == dict(enumerate(ROLES, start=1))
    assert [ROLES[int(c) - 1] for c in frame["q_role"]] == [a.profile["role"] for a in answers]
    # multiple choice: one 0/1 variable per option, missing when not answered
    for k, tool in enumerate(TOOLS, start=1):
        name = f"q_tools_{k}"
        assert labels[name] == f"Which tools?: {tool}"
        assert values[name] == {0: "Not chosen", 1: "Chosen"}
        for value, i in zip(frame[name], index, strict=True):
            chosen = tools_of(i)
            assert math.isnan(value) if chosen is None else value == (tool in chosen)
    # number and text
    assert labels["q_team_size"] == "Team size"
    for value, i in zip(frame["q_team_size"], index, strict=True):
        assert value == i % 17 + 0.5 if i % 5 else math.isnan(value)
    assert list(frame["q_notes"]) == [a.profile["notes"] for a in answers]
    assert "=1+1" in set(frame["q_notes"])  # data, not a formula: SPSS does not evaluate text
    # current solution: options, then "Something else" with its text
    assert values["current_solution"] == {1: "Spreadsheets", 2: "Tool X", 3: "Something else"}
    assert labels["current_solution"] == CURRENT_SOLUTION_TEXT
    for code, other, i in zip(
        frame["current_solution"], frame["current_solution_other"], index, strict=True
    ):
        text = solution_of(i)
        assert (
            math.isnan(code)
            if text == ""
            else code == {"Spreadsheets": 1, "Tool X": 2}.get(text, 3)
        )
        assert other == ("Carrier pigeons" if text == "Carrier pigeons" else "")
    # loyalty
    assert labels["nps"] == NPS_TEXT.format(subject="your tool")
    assert list(frame["nps"]) == [float(i % 11) for i in index]
    for value, i in zip(frame["ces"], index, strict=True):
        assert value == i % 7 + 1 if i % 9 else math.isnan(value)


def test_sav_labels_segments_with_their_names(sav):
    _, run, frame, meta = sav
    names = {s.number: s.display_name for s in run.segments.all()}
    assert len(names) == 3
    assert meta.variable_value_labels["segment"] == names
    sizes = {s.number: s.size for s in run.segments.all()}
    assert {n: int((frame["segment"] == n).sum()) for n in sizes} == sizes


def test_sav_puts_everyone_in_one_labelled_segment_when_none_was_found(workspace, tmp_path):
    survey = import_arrays(workspace, *published_example())
    command("analyze", str(survey.pk), "--segments", "off")
    path = tmp_path / "one.sav"
    command("export_results", str(survey.pk), "--format", "sav", "-o", str(path))
    frame, meta = pyreadstat.read_sav(str(path))
    assert len(frame) == 270
    assert meta.variable_value_labels["segment"] == {1: "Everyone"}
    assert set(frame["segment"]) == {1.0}
    assert "current_solution" not in frame and "nps" not in frame  # never asked


def test_spss_names_are_valid_and_unique():
    taken: set[str] = set()
    names = [
        spss_name(base, taken)
        for base in ["imp_O-1", "imp_O.1", "IMP_O_1", "2nd", "", "to", "q_" + "x" * 80, "ünïcode"]
    ]
    assert names[:3] == ["imp_O_1", "imp_O_1_2", "IMP_O_1_3"]
    assert names[3:6] == ["v_2nd", "v", "to_"]
    assert len(names[6]) == 64 and names[7] == "unicode"
    for name in names:
        assert name[0].isalpha() and all(c.isalnum() or c == "_" for c in name) and name.isascii()
    assert len({n.lower() for n in names}) == len(names)


# --- the command's errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--format", "sav", "--segment", "1"), "--segment does not apply to --format sav"),
        (("--format", "pdf"), "choose csv, xlsx, sav, respondents-csv or respondents-xlsx"),
        (("--format", "xlsx", "--segment", "9", "-o", "{out}"), "No segment 9"),
        (("--format", "xlsx", "--segment", "nobody", "-o", "{out}"), "No segment nobody"),
        (("--format", "xlsx"), "binary file: give -o FILE"),
        (("--format", "sav"), "binary file: give -o FILE"),
    ],
)
def test_export_results_refuses_bad_input(study, tmp_path, args, message):
    survey, _ = study
    out = tmp_path / "out.xlsx"
    with pytest.raises(CommandError, match=message):
        command("export_results", str(survey.pk), *(a.format(out=out) for a in args))
    assert not out.exists()


@pytest.mark.parametrize("fmt", ["xlsx", "sav"])
def test_binary_exports_need_a_successful_analysis(workspace, tmp_path, fmt):
    survey = import_arrays(workspace, *published_example())
    out = str(tmp_path / f"out.{fmt}")
    with pytest.raises(CommandError, match="has no successful analysis yet"):
        command("export_results", str(survey.pk), "--format", fmt, "-o", out)
    with pytest.raises(CommandError, match="No survey with id '777777'"):
        command("export_results", "777777", "--format", fmt, "-o", out)
    assert not (tmp_path / f"out.{fmt}").exists()


def test_binary_exports_follow_the_latest_successful_run(study, tmp_path):
    survey, first = study
    second = analyze_now(survey=survey, parameters={"segments": "off", "seed": 4})
    assert AnalysisRun.objects.latest_succeeded(survey).pk == second.pk != first.pk
    path = tmp_path / "latest.xlsx"
    command("export_results", str(survey.pk), "--format", "xlsx", "-o", str(path))
    assert openpyxl.load_workbook(path).sheetnames == ["Whole sample", "About"]
