"""Importing the wide response CSV: the import_study / import_responses commands and the page.

The format and the commands are the stable interchange of design.md: one row per respondent, an id
column, profile columns and an importance and a satisfaction column per outcome code; any bad
value refuses the whole file, reports every problem (row, column, value) and stores nothing.
"""

from __future__ import annotations

import csv
import io
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from jtbd.models import DesiredOutcome, Job, JobStep
from surveys import ratings, services
from surveys.models import (
    Question,
    QuestionKind,
    Response,
    ResponseSource,
    ResponseStatus,
    Survey,
)
from tests.factories import add_outcomes
from workspaces.models import Workspace

PROJECT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.django_db


# --- helpers -------------------------------------------------------------------------------------


def write_csv(
    path: Path,
    header: list[str],
    rows: list[list[object]],
    *,
    encoding: str = "utf-8",
    trailing: str = "",
) -> Path:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes((buffer.getvalue() + trailing).encode(encoding))
    return path


def import_study(path: Path, *args: str, name: str = "Imported study") -> list[str]:
    out = io.StringIO()
    call_command("import_study", str(path), "--name", name, *args, stdout=out)
    return out.getvalue().splitlines()


def import_responses(survey: Survey, path: Path, *args: str) -> list[str]:
    out = io.StringIO()
    call_command("import_responses", str(survey.pk), str(path), *args, stdout=out)
    return out.getvalue().splitlines()


def stored_counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Workspace, Job, JobStep, DesiredOutcome, Survey, Question, Response)
    }


def wide_header(codes: list[str], imp: str = "imp_{code}", sat: str = "sat_{code}") -> list[str]:
    return [p.format(code=c) for c in codes for p in (imp, sat)]


def wide_cells(imp_row, sat_row) -> list[str]:
    return [str(v) if v else "" for pair in zip(imp_row, sat_row, strict=True) for v in pair]


def random_ratings(rng: np.random.Generator, n: int, k: int, blank: float = 0.08):
    imp = rng.integers(1, 6, (n, k)).astype(np.uint8)
    sat = rng.integers(1, 6, (n, k)).astype(np.uint8)
    imp[rng.random((n, k)) < blank] = 0
    sat[rng.random((n, k)) < blank] = 0
    return imp, sat


def by_respondent(matrix: ratings.RatingMatrix) -> dict[str, tuple[list[int], list[int]]]:
    return {
        rid: (matrix.importance[i].tolist(), matrix.satisfaction[i].tolist())
        for i, rid in enumerate(matrix.respondent_ids)
    }


def problem_lines(message: str) -> list[str]:
    return [line.strip() for line in message.splitlines()[1:] if line.strip()]


def assert_reported(lines: list[str], row: int, column: str, value: str | None = None) -> None:
    prefix = f"row {row}, column {column!r}"
    hits = [line for line in lines if line.startswith(prefix)]
    if value is not None:
        hits = [line for line in hits if f"value {value!r}" in line]
    assert hits, f"no problem reported for {prefix} value {value!r} in:\n" + "\n".join(lines)


# --- import_study on valid files -----------------------------------------------------------------


def test_import_study_creates_job_outcomes_survey_and_responses(tmp_path, workspace):
    header = [
        "Timestamp",
        "respondent_id",
        "Email Address",
        "role",
        *wide_header(["O1", "O2", "O3"]),
    ]
    rows = [
        ["2024-05-01 10:00", "r1", "a@example.com", "Manager", 5, 1, 4, 2, 3, 3],
        ["2024-05-01 10:05", "r2", "b@example.com", "Engineer", 1, 5, "", "", 2, 4],
        ["2024-05-01 10:09", "r3", "", "", "", "", "", "", "", ""],
    ]
    path = write_csv(tmp_path / "study.csv", header, rows)
    before = stored_counts()

    lines = import_study(path, "--profile-columns", "role", name="Adoption study")

    survey = Survey.objects.get(pk=int(lines[-1]))
    assert "Ignored columns: Timestamp, Email Address" in lines
    assert survey.title == "Adoption study"
    assert survey.workspace == workspace
    job = survey.job
    assert list(job.outcomes.order_by("order").values_list("code", flat=True)) == [
        "O1",
        "O2",
        "O3",
    ]
    assert survey.current_version.outcome_codes == ["O1", "O2", "O3"]
    after = stored_counts()
    assert after["Job"] == before["Job"] + 1
    assert after["Survey"] == before["Survey"] + 1
    assert after["DesiredOutcome"] == before["DesiredOutcome"] + 3
    assert after["Response"] == before["Response"] + 3

    responses = {r.respondent_id: r for r in survey.responses.all()}
    assert set(responses) == {"r1", "r2", "r3"}
    assert all(r.status == ResponseStatus.COMPLETED for r in responses.values())
    assert all(r.source == ResponseSource.IMPORT for r in responses.values())
    codes = survey.current_version.outcome_codes
    assert ratings.decode_answers(responses["r1"].ratings, codes) == {
        "O1": (5, 1),
        "O2": (4, 2),
        "O3": (3, 3),
    }
    assert ratings.decode_answers(responses["r2"].ratings, codes) == {
        "O1": (1, 5),
        "O2": (None, None),
        "O3": (2, 4),
    }
    assert ratings.decode_answers(responses["r3"].ratings, codes) == dict.fromkeys(
        codes, (None, None)
    )
    # The profile column became a question; its answers are kept per respondent.
    (question,) = survey.questions.all()
    assert (question.key, question.text, question.kind) == ("role", "role", QuestionKind.SINGLE)
    assert question.options == ["Engineer", "Manager"]
    assert responses["r1"].profile == {"role": "Manager"}
    assert responses["r2"].profile == {"role": "Engineer"}
    assert responses["r3"].profile == {}
    assert [q["key"] for q in survey.current_version.content["questions"]] == ["role"]


def test_import_study_with_custom_patterns_id_column_and_profile_columns(tmp_path, workspace):
    codes = ["A-1", "B.2", "c_3"]
    header = ["ID", "Submitted", "role", "size", *wide_header(codes, "Imp-{code}", "Sat-{code}")]
    rng = np.random.default_rng(11)
    imp, sat = random_ratings(rng, 40, 3)
    roles = ["Lead", "Engineer", "Analyst"]
    rows = [
        [f"id-{i}", "yesterday", roles[i % 3], 5 + 3 * i, *wide_cells(imp[i], sat[i])]
        for i in range(40)
    ]
    path = write_csv(tmp_path / "custom.csv", header, rows)

    lines = import_study(
        path,
        "--importance-pattern",
        "Imp-{code}",
        "--satisfaction-pattern",
        "Sat-{code}",
        "--id-column",
        "ID",
        "--profile-columns",
        "role,size",
    )

    survey = Survey.objects.get(pk=int(lines[-1]))
    assert "Ignored columns: Submitted" in lines
    assert survey.current_version.outcome_codes == codes
    questions = {q.key: q for q in survey.questions.all()}
    assert set(questions) == {"role", "size"}
    assert questions["role"].kind == QuestionKind.SINGLE
    assert questions["role"].options == sorted(roles)
    # 40 distinct numbers: a number question, stored as numbers.
    assert questions["size"].kind == QuestionKind.NUMBER
    matrix = ratings.load_matrix(survey)
    got = by_respondent(matrix)
    assert set(got) == {f"id-{i}" for i in range(40)}
    for i in range(40):
        assert got[f"id-{i}"] == (imp[i].tolist(), sat[i].tolist())
    response = survey.responses.get(respondent_id="id-4")
    assert response.profile == {"role": "Engineer", "size": 17}


def test_import_study_accepts_a_cp1252_file(tmp_path, workspace):
    header = ["respondent_id", "Zeitstempel (München)", "Rolle", *wide_header(["O1", "O2"])]
    rows = [["r1", "1.5.2024", "Geschäftsführer", 5, 4, 3, 2], ["r2", "", "Büro", 1, "", 2, 3]]
    path = write_csv(tmp_path / "cp1252.csv", header, rows, encoding="cp1252")
    assert "ä".encode("cp1252") in path.read_bytes()  # really not UTF-8

    lines = import_study(path, "--profile-columns", "Rolle")

    survey = Survey.objects.get(pk=int(lines[-1]))
    assert "Ignored columns: Zeitstempel (München)" in lines
    assert survey.responses.get(respondent_id="r1").profile == {"rolle": "Geschäftsführer"}
    assert survey.questions.get().options == ["Büro", "Geschäftsführer"]
    assert by_respondent(ratings.load_matrix(survey)) == {
        "r1": ([5, 3], [4, 2]),
        "r2": ([1, 2], [0, 3]),
    }


def test_import_study_accepts_a_bom_and_blank_trailing_lines(tmp_path, workspace):
    header = ["respondent_id", *wide_header(["O1"])]
    path = write_csv(
        tmp_path / "bom.csv",
        header,
        [["r1", 4, 5], ["r2", 2, ""]],
        encoding="utf-8-sig",
        trailing="\r\n\r\n\n  \n",
    )
    assert path.read_bytes().startswith(b"\xef\xbb\xbfrespondent_id")

    lines = import_study(path)

    survey = Survey.objects.get(pk=int(lines[-1]))
    assert not any(line.startswith("Ignored columns") for line in lines)
    assert by_respondent(ratings.load_matrix(survey)) == {"r1": ([4], [5]), "r2": ([2], [0])}


def test_import_study_without_a_workspace_creates_one(tmp_path):
    path = write_csv(tmp_path / "s.csv", ["respondent_id", "imp_O1", "sat_O1"], [["r1", 3, 3]])
    survey = Survey.objects.get(pk=int(import_study(path)[-1]))
    assert survey.workspace.slug == "imported"


def test_import_study_into_a_named_workspace(tmp_path, workspace, other_workspace):
    path = write_csv(tmp_path / "s.csv", ["respondent_id", "imp_O1", "sat_O1"], [["r1", 3, 3]])
    lines = import_study(path, "--workspace", other_workspace.slug)
    assert Survey.objects.get(pk=int(lines[-1])).workspace == other_workspace
    with pytest.raises(CommandError, match="No workspace with slug 'nope'"):
        import_study(path, "--workspace", "nope")


def test_import_study_of_a_missing_or_empty_file_is_an_error(tmp_path, workspace):
    before = stored_counts()
    with pytest.raises(CommandError, match="no such file"):
        import_study(tmp_path / "absent.csv")
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(CommandError, match="the file is empty"):
        import_study(tmp_path / "empty.csv")
    header_only = write_csv(tmp_path / "header.csv", ["respondent_id", "imp_O1", "sat_O1"], [])
    with pytest.raises(CommandError, match="no respondent rows"):
        import_study(header_only)
    assert stored_counts() == before


def test_import_study_round_trips_exactly_through_the_matrix_loader(tmp_path, workspace):
    rng = np.random.default_rng(20240501)
    n, k = 400, 15
    codes = [f"O{j:03d}" for j in range(1, k + 1)]
    imp, sat = random_ratings(rng, n, k)
    imp[7], sat[7] = 0, 0  # a respondent who answered nothing
    ids = [f"R{v:05d}" for v in rng.permutation(n) * 7 + 3]
    rows = [[ids[i], *wide_cells(imp[i], sat[i])] for i in range(n)]
    path = write_csv(tmp_path / "round.csv", ["respondent_id", *wide_header(codes)], rows)

    survey = Survey.objects.get(pk=int(import_study(path)[-1]))
    matrix = ratings.load_matrix(survey)

    assert matrix.codes == codes
    assert sorted(matrix.respondent_ids) == sorted(ids)
    order = [ids.index(rid) for rid in matrix.respondent_ids]
    np.testing.assert_array_equal(matrix.importance, imp[order])
    np.testing.assert_array_equal(matrix.satisfaction, sat[order])
    assert matrix.importance.dtype == np.uint8


# --- import_responses ----------------------------------------------------------------------------


def test_import_responses_joins_versions_by_code(tmp_path, workspace, job):
    survey = services.create_survey(workspace=workspace, job=job, title="Two versions")
    v1 = services.publish_survey(survey=survey)
    codes1 = v1.outcome_codes
    assert len(codes1) == 3
    rng = np.random.default_rng(5)
    imp1, sat1 = random_ratings(rng, 30, 3)
    ids1 = [f"first-{i}" for i in range(30)]
    rows = [[ids1[i], "x@example.com", *wide_cells(imp1[i], sat1[i])] for i in range(30)]
    path1 = write_csv(tmp_path / "v1.csv", ["respondent_id", "email", *wide_header(codes1)], rows)
    lines = import_responses(survey, path1)
    assert lines[-1] == f"Imported 30 responses into survey {survey.pk}."
    assert "Ignored columns: email" in lines

    # Version 2 drops the first outcome and asks a new one, in a different order.
    step = job.steps.order_by("-order").first()
    (new,) = add_outcomes(job, ["Minimize the time it takes to train a new colleague"], step=step)
    kept = list(job.outcomes.filter(code__in=codes1[1:]))
    services.set_outcomes(survey=survey, outcomes=[new, *kept])
    v2 = services.publish_survey(survey=survey)
    survey.refresh_from_db()
    codes2 = v2.outcome_codes
    assert v2.number == 2 and sorted(codes2) == sorted([*codes1[1:], new.code])
    imp2, sat2 = random_ratings(rng, 20, 3)
    file_codes = list(reversed(codes2))  # the file's column order need not match the survey's
    rows = [[f"second-{i}", *wide_cells(imp2[i][::-1], sat2[i][::-1])] for i in range(20)]
    path2 = write_csv(tmp_path / "v2.csv", ["respondent_id", *wide_header(file_codes)], rows)
    import_responses(survey, path2)

    assert survey.responses.filter(version=v1).count() == 30
    assert survey.responses.filter(version=v2).count() == 20
    matrix = ratings.load_matrix(survey)
    assert matrix.codes == [*codes2, codes1[0]]
    got = by_respondent(matrix)
    col = {c: j for j, c in enumerate(matrix.codes)}
    for i, rid in enumerate(ids1):
        expect_imp, expect_sat = [0] * 4, [0] * 4
        for j, c in enumerate(codes1):
            expect_imp[col[c]], expect_sat[col[c]] = int(imp1[i][j]), int(sat1[i][j])
        assert got[rid] == (expect_imp, expect_sat)
    for i in range(20):
        expect_imp, expect_sat = [0] * 4, [0] * 4
        for j, c in enumerate(codes2):
            expect_imp[col[c]], expect_sat[col[c]] = int(imp2[i][j]), int(sat2[i][j])
        assert got[f"second-{i}"] == (expect_imp, expect_sat)


def test_import_responses_refuses_an_unknown_code_and_stores_nothing(tmp_path, workspace):
    path = write_csv(tmp_path / "s.csv", ["respondent_id", *wide_header(["O1"])], [["r1", 3, 3]])
    survey = Survey.objects.get(pk=int(import_study(path)[-1]))
    before = stored_counts()
    bad = write_csv(
        tmp_path / "bad.csv",
        ["respondent_id", *wide_header(["O1", "O9"])],
        [["r2", 3, 3, 4, 4]],
    )
    with pytest.raises(CommandError) as caught:
        import_responses(survey, bad)
    lines = problem_lines(str(caught.value))
    assert_reported(lines, 1, "imp_O9", "O9")
    assert "unknown outcome code" in str(caught.value)
    assert stored_counts() == before


def test_import_responses_refuses_ids_already_in_the_survey(tmp_path, workspace):
    header = ["respondent_id", *wide_header(["O1"])]
    path = write_csv(tmp_path / "s.csv", header, [["r1", 3, 3]])
    survey = Survey.objects.get(pk=int(import_study(path)[-1]))
    again = write_csv(tmp_path / "again.csv", header, [["r2", 1, 1], ["r1", 2, 2]])
    with pytest.raises(CommandError) as caught:
        import_responses(survey, again)
    assert_reported(problem_lines(str(caught.value)), 3, "respondent_id", "r1")
    assert survey.responses.count() == 1


def test_import_responses_into_an_unknown_survey_is_an_error(tmp_path):
    path = write_csv(tmp_path / "s.csv", ["respondent_id", *wide_header(["O1"])], [["r1", 3, 3]])
    with pytest.raises(CommandError, match="No survey with id 987654"):
        call_command("import_responses", "987654", str(path))


# --- files with problems -------------------------------------------------------------------------

PROBLEM_HEADER = ["respondent_id", "Timestamp", *wide_header(["O1", "O2"])]
PROBLEM_ROWS = [
    ["r1", "t", 6, 3, 4, 4],  # row 2: 6
    ["r2", "t", 0, 3, 4, 4],  # row 3: 0
    ["r3", "t", 3, "x", 4, 4],  # row 4: x
    ["r4", "t", 3, 3, "4.5", 4],  # row 5: 4.5
    ["r5", "t", 3, 3, 4, "very satisfied"],  # row 6: text in a rating column
    ["r1", "t", 3, 3, 4, 4],  # row 7: duplicate id
    ["", "t", 3, 3, 4, 4],  # row 8: empty id
    ["r9", "t", 3, 3, 4, 4, "extra"],  # row 9: too many cells
    ["r10", "t", 3, 3, 4, 4],  # row 10: fine
]


def assert_every_cell_problem_reported(message: str) -> None:
    lines = problem_lines(message)
    assert message.splitlines()[0] == "Import refused: 8 problem(s), nothing was stored."
    assert_reported(lines, 2, "imp_O1", "6")
    assert_reported(lines, 3, "imp_O1", "0")
    assert_reported(lines, 4, "sat_O1", "x")
    assert_reported(lines, 5, "imp_O2", "4.5")
    assert_reported(lines, 6, "sat_O2", "very satisfied")
    assert_reported(lines, 7, "respondent_id", "r1")
    assert "duplicate id (also row 2)" in message
    assert_reported(lines, 8, "respondent_id")
    assert "the id is empty" in message
    assert any(line.startswith("row 9:") and "7 cells" in line for line in lines)
    assert not any(line.startswith("row 10") for line in lines)


def test_import_study_reports_every_problem_and_stores_nothing(tmp_path, workspace):
    path = write_csv(tmp_path / "bad.csv", PROBLEM_HEADER, PROBLEM_ROWS)
    before = stored_counts()
    with pytest.raises(CommandError) as caught:
        import_study(path)
    assert_every_cell_problem_reported(str(caught.value))
    assert stored_counts() == before


def test_import_responses_reports_every_problem_and_stores_nothing(tmp_path, workspace):
    good = write_csv(tmp_path / "good.csv", PROBLEM_HEADER, [["r0", "t", 1, 1, 1, 1]])
    survey = Survey.objects.get(pk=int(import_study(good)[-1]))
    before = stored_counts()
    path = write_csv(tmp_path / "bad.csv", PROBLEM_HEADER, PROBLEM_ROWS)
    with pytest.raises(CommandError) as caught:
        import_responses(survey, path)
    assert_every_cell_problem_reported(str(caught.value))
    assert stored_counts() == before


def test_a_missing_satisfaction_column_is_reported_and_nothing_is_stored(tmp_path, workspace):
    header = ["respondent_id", "imp_O1", "sat_O1", "imp_O2", "Sat_O3"]
    path = write_csv(tmp_path / "bad.csv", header, [["r1", 3, 3, 3, 3]])
    before = stored_counts()
    with pytest.raises(CommandError) as caught:
        import_study(path)
    lines = problem_lines(str(caught.value))
    assert_reported(lines, 1, "imp_O2")
    assert "no matching satisfaction column" in str(caught.value)
    assert stored_counts() == before


def test_header_and_cell_problems_are_reported_together(tmp_path, workspace):
    header = [*PROBLEM_HEADER, "imp_O3"]
    rows = [[*row[:6], 3] for row in PROBLEM_ROWS]
    path = write_csv(tmp_path / "bad.csv", header, rows)
    with pytest.raises(CommandError) as caught:
        import_study(path)
    lines = problem_lines(str(caught.value))
    assert_reported(lines, 1, "imp_O3")
    assert_reported(lines, 2, "imp_O1", "6")
    assert_reported(lines, 6, "sat_O2", "very satisfied")


def test_more_than_fifty_problems_show_the_first_fifty_and_a_count(tmp_path, workspace):
    header = ["respondent_id", *wide_header(["O1"])]
    rows = [[f"r{i}", 9, 3] for i in range(63)]
    path = write_csv(tmp_path / "many.csv", header, rows)
    before = stored_counts()
    with pytest.raises(CommandError) as caught:
        import_study(path)
    message = str(caught.value)
    lines = problem_lines(message)
    assert message.splitlines()[0] == "Import refused: 63 problem(s), nothing was stored."
    assert lines[-1] == "… and 13 more."
    assert len(lines) == 51
    for row in range(2, 52):
        assert_reported(lines[:50], row, "imp_O1", "9")
    assert stored_counts() == before


def test_problem_rows_count_blank_lines_as_the_file_shows_them(tmp_path, workspace):
    path = tmp_path / "gaps.csv"
    path.write_bytes(b"respondent_id,imp_O1,sat_O1\r\nr1,3,3\r\n\r\nr2,3,7\r\n")
    with pytest.raises(CommandError) as caught:
        import_study(path)
    assert_reported(problem_lines(str(caught.value)), 4, "sat_O1", "7")


def test_profile_problem_rows_count_blank_lines_too(tmp_path, workspace):
    header = ["respondent_id", "role", *wide_header(["O1"])]
    path = write_csv(tmp_path / "s.csv", header, [["r1", "Lead", 3, 3]])
    survey = Survey.objects.get(pk=int(import_study(path, "--profile-columns", "role")[-1]))
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"respondent_id,role,imp_O1,sat_O1\r\n\r\n\r\nr2,Pilot,3,3\r\n")
    with pytest.raises(CommandError) as caught:
        import_responses(survey, bad, "--profile-columns", "role")
    assert_reported(problem_lines(str(caught.value)), 4, "role", "Pilot")


def test_a_refused_import_leaves_no_workspace_behind(tmp_path):
    path = write_csv(tmp_path / "bad.csv", ["respondent_id", "imp_O1", "sat_O1"], [["r1", 6, 3]])
    with pytest.raises(CommandError):
        import_study(path)
    assert Workspace.objects.count() == 0


def test_the_command_exits_non_zero_on_a_refused_file(tmp_path):
    """A real process: the exit status is what scripts and other tools rely on."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}"}
    env.pop("REDIS_URL", None)

    def manage(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=PROJECT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert manage("migrate", "-v0").returncode == 0
    bad = write_csv(tmp_path / "bad.csv", PROBLEM_HEADER, PROBLEM_ROWS)
    refused = manage("import_study", str(bad), "--name", "Bad")
    assert refused.returncode != 0
    assert "Import refused: 8 problem(s)" in refused.stderr
    assert "row 4, column 'sat_O1', value 'x'" in refused.stderr

    good = write_csv(tmp_path / "good.csv", PROBLEM_HEADER, [["r1", "t", 1, 2, 3, 4]])
    done = manage("import_study", str(good), "--name", "Good")
    assert done.returncode == 0, done.stderr
    survey_id = int(done.stdout.strip().splitlines()[-1])
    with sqlite3.connect(tmp_path / "cli.sqlite3") as db:
        (count,) = db.execute(
            "SELECT count(*) FROM surveys_response WHERE survey_id = ?", (survey_id,)
        ).fetchone()
        (surveys,) = db.execute("SELECT count(*) FROM surveys_survey").fetchone()
    assert count == 1
    assert surveys == 1  # the refused file stored no survey


# --- the import page -----------------------------------------------------------------------------


@pytest.fixture
def imported_survey(tmp_path, workspace):
    path = write_csv(
        tmp_path / "first.csv",
        ["respondent_id", "role", *wide_header(["O1", "O2"])],
        [["seed", "Lead", 1, 2, 3, 4]],
    )
    lines = import_study(path, "--profile-columns", "role", "--workspace", workspace.slug)
    return Survey.objects.get(pk=int(lines[-1]))


def upload(client, survey, content: bytes, **fields):
    data = {
        "file": _named(content),
        "id_column": "respondent_id",
        "importance_pattern": "imp_{code}",
        "satisfaction_pattern": "sat_{code}",
        "profile_columns": "",
        **fields,
    }
    return client.post(reverse("surveys:response-import", args=[survey.pk]), data)


def _named(content: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("responses.csv", content, content_type="text/csv")


def test_the_import_page_adds_responses(client, researcher, imported_survey):
    client.force_login(researcher)
    content = "\ufeffrespondent_id,role,Started,imp_O1,sat_O1,imp_O2,sat_O2\r\n"
    content += "r2,Lead,now,5,5,,1\r\nr3,,now,,,2,2\r\n\r\n"
    page = upload(client, imported_survey, content.encode(), profile_columns="role")
    assert page.status_code == 302
    assert page.url == imported_survey.get_absolute_url()
    shown = [str(m) for m in page.wsgi_request._messages]
    assert "Imported 2 responses." in shown
    assert "Ignored columns: Started" in shown
    assert by_respondent(ratings.load_matrix(imported_survey)) == {
        "seed": ([1, 3], [2, 4]),
        "r2": ([5, 0], [5, 1]),
        "r3": ([0, 2], [0, 2]),
    }
    assert imported_survey.responses.get(respondent_id="r2").profile == {"role": "Lead"}


def test_the_import_page_lists_problems_and_stores_nothing(client, researcher, imported_survey):
    client.force_login(researcher)
    before = stored_counts()
    buffer = io.StringIO()
    csv.writer(buffer).writerows([PROBLEM_HEADER, *PROBLEM_ROWS])
    page = upload(client, imported_survey, buffer.getvalue().encode())
    assert page.status_code == 400
    html = page.content.decode()
    assert "8 problems: nothing was imported" in html
    assert "row 4, column &#x27;sat_O1&#x27;, value &#x27;x&#x27;" in html
    assert "duplicate id (also row 2)" in html
    assert stored_counts() == before


def test_the_import_page_shows_fifty_problems_and_how_many_more(
    client, researcher, imported_survey
):
    client.force_login(researcher)
    lines = ["respondent_id,imp_O1,sat_O1,imp_O2,sat_O2"]
    lines += [f"x{i},0,0,3,3" for i in range(40)]  # 80 problems
    page = upload(client, imported_survey, "\n".join(lines).encode())
    assert page.status_code == 400
    html = page.content.decode()
    assert "80 problems" in html
    assert html.count("must be 1–5, blank, 98 (not applicable) or 99 (not shown by design)") == 50
    assert "… and 30 more." in html
    assert imported_survey.responses.count() == 1


def test_viewers_cannot_import(client, viewer, imported_survey):
    client.force_login(viewer)
    page = upload(client, imported_survey, b"respondent_id,imp_O1,sat_O1\nr9,1,1\n")
    assert page.status_code == 403
    assert imported_survey.responses.count() == 1


def test_other_workspaces_cannot_see_the_import_page(client, outsider, imported_survey):
    client.force_login(outsider)
    page = upload(client, imported_survey, b"respondent_id,imp_O1,sat_O1\nr9,1,1\n")
    assert page.status_code == 404
    assert imported_survey.responses.count() == 1
