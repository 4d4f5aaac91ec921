"""`import_study` makes the job, its outcomes, the survey and its version through the services the
pages use: what those refuse, the command refuses too, naming the problem, and nothing is stored."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from jtbd.models import DesiredOutcome, Job, JobStep
from surveys.models import Question, Response, Survey, SurveyStatus, SurveyVersion

pytestmark = pytest.mark.django_db

FILE = "respondent_id,team,imp_A1,sat_A1,imp_A2,sat_A2\nr1,Ops,5,1,4,2\nr2,Dev,3,4,,5\n"


def counts() -> dict[str, int]:
    models = (Job, JobStep, DesiredOutcome, Survey, SurveyVersion, Question, Response)
    return {model.__name__: model.objects.count() for model in models}


def import_study(tmp_path: Path, *args: str, text: str = FILE) -> list[str]:
    path = tmp_path / "study.csv"
    path.write_text(text)
    out = io.StringIO()
    call_command("import_study", str(path), "--workspace", "acme", *args, stdout=out)
    return out.getvalue().splitlines()


@pytest.fixture(autouse=True)
def _acme(workspace):
    workspace.slug = "acme"
    workspace.save(update_fields=["slug"])


def test_a_study_is_made_as_the_pages_make_one(tmp_path):
    lines = import_study(tmp_path, "--name", "  Team tools  ", "--profile-columns", "team")
    survey = Survey.objects.get(pk=int(lines[-1]))
    assert (survey.title, survey.job.statement, survey.status) == (
        "Team tools",
        "Team tools",
        SurveyStatus.CLOSED,
    )
    assert [s.title for s in survey.job.steps.all()] == ["Imported outcomes"]
    assert survey.current_version.number == 1
    assert survey.current_version.outcome_codes == ["A1", "A2"]
    assert [q["key"] for q in survey.current_version.content["questions"]] == ["team"]
    assert survey.job.last_outcome_number == 0  # A1, A2 are not O-numbers
    assert survey.responses.count() == 2


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("   ", "file: the study's name: This field cannot be blank."),
        ("x" * 201, "file: the study's name: Ensure this value has at most 200 characters"),
    ],
)
def test_a_study_with_a_bad_name_is_refused_naming_it_and_nothing_is_stored(
    tmp_path, name, problem
):
    before = counts()
    with pytest.raises(CommandError) as refused:
        import_study(tmp_path, "--name", name)
    assert "Import refused: 1 problem(s), nothing was stored." in str(refused.value)
    assert problem in str(refused.value)
    assert counts() == before


def test_a_profile_column_no_question_can_hold_is_refused_naming_it(tmp_path):
    long_column = "What " + "very " * 60 + "long question?"  # over a question's 300 characters
    text = FILE.replace("team", long_column)
    before = counts()
    with pytest.raises(CommandError) as refused:
        import_study(tmp_path, "--name", "Tools", "--profile-columns", long_column, text=text)
    assert f"row 1, column {long_column!r}: text: Ensure this value has at most 300" in str(
        refused.value
    )
    assert counts() == before
