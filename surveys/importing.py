"""Importing responses collected elsewhere: a new study (`import_study`: job, outcomes, survey
and responses) or more responses to a published survey (`import_responses`).

The file is read by `surveys.wide_csv` (the wide CSV format and its checks); anything wrong with
it or with its answers fails the whole import, every problem reported, and nothing is stored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import psycopg
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from jtbd import services as jtbd_services
from jtbd.models import JobKind, OutcomeStatus, Stage
from surveys import ratings, services
from surveys.models import (
    Question,
    QuestionKind,
    Response,
    ResponseSource,
    ResponseStatus,
    Survey,
    SurveyVersion,
)
from surveys.wide_csv import (
    CellProblem,
    ImportOptions,
    ParsedFile,
    ResponseImportError,
    parse_wide_csv,
    profile_key,
)
from workspaces.models import Workspace

CHOICE_LIMIT = 30  # profile columns with at most this many distinct values become single choice


@dataclass
class ImportResult:
    survey: Survey
    created: int
    codes: list[str]
    ignored_columns: list[str]


def _infer_question(column: str, values: list[str], order: int) -> Question:
    present = [v for v in values if v != ""]
    distinct = sorted(set(present))
    numeric = bool(present) and all(_is_number(v) for v in distinct)
    if numeric and len(distinct) > 12:
        kind, options = QuestionKind.NUMBER, []
    elif len(distinct) <= CHOICE_LIMIT:
        kind, options = QuestionKind.SINGLE, distinct
    else:
        kind, options = QuestionKind.TEXT, []
    return Question(
        key=profile_key(column),
        kind=kind,
        text=column,
        options=options,
        required=False,
        order=order,
    )


def _is_number(value: str) -> bool:
    try:
        return math.isfinite(float(value))
    except ValueError:
        return False


def _profile_value(question: Question | None, raw: str):
    if raw == "":
        return None
    if question is not None and question.kind == QuestionKind.NUMBER:
        number = float(raw)
        return int(number) if number.is_integer() else number
    return raw


@transaction.atomic
def import_study(
    *, workspace: Workspace, name: str, data: bytes | str, options: ImportOptions
) -> ImportResult:
    """Create a job with the file's outcome codes, a survey over them and its responses.

    The job, its step and outcomes, the survey and its version are made by the services the
    pages use (`jtbd.services`, `surveys.services`), so the same checks and the publish checks
    apply; anything they refuse is reported as a problem of the import and nothing is stored."""
    parsed = parse_wide_csv(data, options)
    try:
        survey = _create_study(workspace, name, parsed, options)
    except ValidationError as exc:
        raise ResponseImportError(_study_problems(exc)) from None
    version = survey.current_version
    assert version is not None  # _create_study publishes the survey
    created = _store(survey, version, parsed, options)
    return ImportResult(survey, created, parsed.codes, parsed.ignored_columns)


def _create_study(
    workspace: Workspace, name: str, parsed: ParsedFile, options: ImportOptions
) -> Survey:
    job = jtbd_services.create_job(
        workspace=workspace,
        statement=name,
        executor="Respondent",
        kind=JobKind.CORE_FUNCTIONAL,
        notes="Created by importing a response file.",
        universal_steps=False,
    )
    step = jtbd_services.add_step(
        job=job,
        stage=Stage.EXECUTE,
        title="Imported outcomes",
        description="Outcomes named by the codes in the imported file; edit their statements.",
    )
    outcomes = [
        jtbd_services.add_outcome(
            step=step,
            statement=f"Outcome {code}",
            code=code,
            status=OutcomeStatus.APPROVED,
            confirm_flagged=True,  # fielded already: its outcomes were approved then
        )
        for code in parsed.codes
    ]
    survey = services.create_survey(workspace=workspace, job=job, title=name, outcomes=outcomes)
    for i, column in enumerate(options.profile_columns, start=1):
        question = _infer_question(column, parsed.profile[column], i)
        question.survey = survey
        try:
            question.full_clean()
        except ValidationError as exc:
            raise ValidationError({f"column {column}": _messages(exc)}) from None
        question.save()
    services.publish_survey(survey=survey)
    survey.close()  # the fieldwork happened elsewhere
    return survey


# Fields of the job and survey that the study's name fills, named as the import names it.
_NAME_FIELDS = {"statement", "title"}


def _messages(exc: ValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        return [f"{field}: {m}" for field, ms in exc.message_dict.items() for m in ms]
    return list(exc.messages)


def _study_problems(exc: ValidationError) -> list[CellProblem]:
    """What the services refused, as import problems: the name, a profile column, an outcome."""
    if not hasattr(exc, "error_dict"):
        return [CellProblem(0, "", "", m) for m in exc.messages]
    problems = []
    for field, messages in exc.message_dict.items():
        for message in messages:
            if field in _NAME_FIELDS:
                problems.append(CellProblem(0, "", "", f"the study's name: {message}"))
            elif field.startswith("column "):
                problems.append(CellProblem(1, field.removeprefix("column "), "", message))
            else:
                problems.append(CellProblem(1, "", "", f"{field}: {message}"))
    return problems


@transaction.atomic
def import_responses(*, survey: Survey, data: bytes | str, options: ImportOptions) -> ImportResult:
    """Add the file's responses to an existing, published survey."""
    # Lock the survey: a second import of the same file waits, then finds the ids taken.
    survey = (
        Survey.objects.select_for_update(of=("self",))
        .select_related("current_version")
        .get(pk=survey.pk)
    )
    version = survey.current_version
    if version is None:
        raise ResponseImportError([CellProblem(0, "", "", "publish the survey before importing")])
    existing = set(survey.responses.values_list("respondent_id", flat=True))
    parsed = parse_wide_csv(data, options, known_codes=version.outcome_codes, existing_ids=existing)
    questions = {q.key: q for q in survey.questions.all()}
    problems = []
    for column in options.profile_columns:
        question = questions.get(profile_key(column))
        if question is None or question.kind not in (QuestionKind.SINGLE, QuestionKind.NUMBER):
            continue
        for i, value in enumerate(parsed.profile[column]):
            if value == "":
                continue
            if question.kind == QuestionKind.SINGLE and value not in question.options:
                problems.append(
                    CellProblem(
                        parsed.row_numbers[i], column, value, "not one of the question's options"
                    )
                )
            elif question.kind == QuestionKind.NUMBER and not _is_number(value):
                problems.append(CellProblem(parsed.row_numbers[i], column, value, "not a number"))
    if problems:
        raise ResponseImportError(problems)
    try:
        created = _store(survey, version, parsed, options, questions)
    except (IntegrityError, psycopg.IntegrityError):
        # Only a web or API response arriving mid-import with one of the file's ids gets here.
        raise ResponseImportError(
            [CellProblem(0, options.id_column, "", "an id was taken while importing; try again")]
        ) from None
    return ImportResult(survey, created, parsed.codes, parsed.ignored_columns)


def _store(
    survey: Survey,
    version: SurveyVersion,
    parsed: ParsedFile,
    options: ImportOptions,
    questions: dict[str, Question] | None = None,
) -> int:
    """Write the responses: COPY on PostgreSQL (a 100,000-row file in seconds), else batches;
    then request the background work completed responses need (speeders, re-analysis) through
    the same outbox as a response completed on the survey pages, sent once this commits."""
    codes = version.outcome_codes
    n = len(parsed.respondent_ids)
    imp = np.zeros((n, len(codes)), dtype=np.uint8)
    sat = np.zeros_like(imp)
    where = [codes.index(c) for c in parsed.codes]
    imp[:, where] = parsed.importance
    sat[:, where] = parsed.satisfaction
    blobs = ratings.encode_arrays(imp, sat)
    questions = questions if questions is not None else {q.key: q for q in survey.questions.all()}
    keys = [(column, profile_key(column)) for column in options.profile_columns]
    now = timezone.now()

    def profile_of(i: int) -> dict:
        out = {}
        for column, key in keys:
            value = _profile_value(questions.get(key), parsed.profile[column][i])
            if value is not None:
                out[key] = value
        return out

    if connection.vendor == "postgresql":
        _copy_rows(survey, version, parsed.respondent_ids, blobs, profile_of, now)
    else:
        Response.objects.bulk_create(
            (
                Response(
                    survey=survey,
                    version=version,
                    respondent_id=rid,
                    source=ResponseSource.IMPORT,
                    status=ResponseStatus.COMPLETED,
                    ratings=blob,
                    profile=profile_of(i),
                    started_at=now,
                    page_started_at=now,
                    completed_at=now,
                )
                for i, (rid, blob) in enumerate(zip(parsed.respondent_ids, blobs, strict=True))
            ),
            batch_size=2000,
        )
    if n:
        services.request_background(survey_id=survey.pk, kind="response_completed")
    return n


def _copy_rows(survey, version, ids, blobs, profile_of, now) -> None:
    import json

    columns = (
        "survey_id, version_id, respondent_id, source, status, page, ratings, shown_order, "
        "profile, current_solution, flags, page_seconds, started_at, page_started_at, completed_at"
    )
    with connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg cursor, for COPY
        with raw.copy(f"COPY {Response._meta.db_table} ({columns}) FROM STDIN") as copy:
            for i, (rid, blob) in enumerate(zip(ids, blobs, strict=True)):
                copy.write_row(
                    (
                        survey.pk,
                        version.pk,
                        rid,
                        ResponseSource.IMPORT.value,
                        ResponseStatus.COMPLETED.value,
                        0,
                        blob,
                        "{}",
                        json.dumps(profile_of(i)),
                        "",
                        "[]",
                        "{}",
                        now,
                        now,
                        now,
                    )
                )
