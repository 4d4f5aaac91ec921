"""Importing responses collected elsewhere from the wide CSV format.

One row per respondent: an id column, optional profile columns, and per outcome code X an
importance and a satisfaction column named by patterns (default ``imp_{code}``/``sat_{code}``).
Ratings are 1–5, blank for unanswered. Any other value fails the whole import; every problem is
reported with its row number (the header is row 1), column and value, and nothing is stored.
Columns that are neither the id, a listed profile column nor a rating column are ignored, and the
import says which.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from itertools import chain, repeat

import numpy as np
import psycopg
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.text import slugify

from jtbd.models import OUTCOME_CODE_RE, DesiredOutcome, Job, JobKind, JobStep, OutcomeStatus, Stage
from surveys import ratings
from surveys.models import (
    Question,
    QuestionKind,
    Response,
    ResponseSource,
    ResponseStatus,
    Survey,
    SurveyOutcome,
    SurveyStatus,
    SurveyVersion,
)
from workspaces.models import Workspace

REPORT_LIMIT = 50
MAX_ID_LENGTH = 200
MAX_PROFILE_LENGTH = 500
_BAD = 255
# Accepted spellings of the five ratings; anything else in a rating column is a problem.
_RATING = {"": 0}
for _v in range(1, 6):
    for _text in (str(_v), f"{_v}.0", f" {_v}", f"{_v} "):
        _RATING[_text] = _v
_RATING[" "] = 0
CHOICE_LIMIT = 30  # profile columns with at most this many distinct values become single choice


@dataclass(frozen=True)
class ImportOptions:
    id_column: str = "respondent_id"
    importance_pattern: str = "imp_{code}"
    satisfaction_pattern: str = "sat_{code}"
    profile_columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class CellProblem:
    row: int
    column: str
    value: str
    message: str

    def __str__(self) -> str:
        where = f"row {self.row}" if self.row else "header"
        column = f", column {self.column!r}" if self.column else ""
        value = f", value {self.value!r}" if self.value != "" else ""
        return f"{where}{column}{value}: {self.message}"

    def to_dict(self) -> dict:
        return {
            "row": self.row,
            "column": self.column,
            "value": self.value,
            "message": self.message,
        }


class ResponseImportError(Exception):
    def __init__(self, problems: list[CellProblem]):
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s); nothing was imported.")

    def report(self, limit: int = REPORT_LIMIT) -> str:
        lines = [f"Import refused: {len(self.problems)} problem(s), nothing was stored."]
        lines += [f"  {p}" for p in self.problems[:limit]]
        if len(self.problems) > limit:
            lines.append(f"  … and {len(self.problems) - limit} more.")
        return "\n".join(lines)


@dataclass
class ParsedFile:
    respondent_ids: list[str]
    codes: list[str]
    importance: np.ndarray  # (n, k) uint8, 0 = unanswered
    satisfaction: np.ndarray
    profile: dict[str, list[str]]  # column -> one value per respondent
    ignored_columns: list[str] = field(default_factory=list)
    row_numbers: list[int] = field(default_factory=list)  # each respondent's row in the file


@dataclass
class ImportResult:
    survey: Survey
    created: int
    codes: list[str]
    ignored_columns: list[str]


def _pattern(template: str, name: str) -> re.Pattern[str]:
    if template.count("{code}") != 1:
        raise ResponseImportError(
            [CellProblem(0, "", template, f"{name} must contain {{code}} once")]
        )
    before, after = template.split("{code}")
    return re.compile(f"^{re.escape(before)}(?P<code>.+?){re.escape(after)}$")


def _decode(data: bytes | str) -> str:
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Spreadsheet programs on Windows often save CSV as cp1252.
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError:
            raise ResponseImportError(
                [CellProblem(0, "", "", "the file is neither UTF-8 nor Windows-1252 text")]
            ) from None


def parse_wide_csv(
    data: bytes | str,
    options: ImportOptions,
    *,
    known_codes: list[str] | None = None,
    existing_ids: set[str] | None = None,
) -> ParsedFile:
    """Read and validate a whole file; raise ResponseImportError listing every problem."""
    text = _decode(data)
    imp_re = _pattern(options.importance_pattern, "the importance pattern")
    sat_re = _pattern(options.satisfaction_pattern, "the satisfaction pattern")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise ResponseImportError([CellProblem(0, "", "", "the file is empty")]) from None
    except csv.Error as exc:
        raise ResponseImportError([CellProblem(1, "", "", f"not readable as CSV: {exc}")]) from None

    problems: list[CellProblem] = []
    for name, count in Counter(header).items():
        if count > 1:
            problems.append(CellProblem(1, name, "", "the column appears more than once"))
    if options.id_column not in header:
        problems.append(CellProblem(1, options.id_column, "", "the id column is missing"))
    keys: dict[str, str] = {}
    for column in options.profile_columns:
        if column not in header:
            problems.append(CellProblem(1, column, "", "the profile column is missing"))
        key = _profile_key(column)
        if key in keys:
            problems.append(
                CellProblem(1, column, "", f"reads as the same name as column {keys[key]!r}")
            )
        keys.setdefault(key, column)

    imp_cols: dict[str, int] = {}
    sat_cols: dict[str, int] = {}
    ignored: list[str] = []
    for i, name in enumerate(header):
        if name == options.id_column or name in options.profile_columns:
            continue
        if m := imp_re.match(name):
            imp_cols[m.group("code")] = i
        elif m := sat_re.match(name):
            sat_cols[m.group("code")] = i
        else:
            ignored.append(name)
    codes = []
    for code in (c for c in imp_cols if c in sat_cols):
        if not OUTCOME_CODE_RE.match(code):
            problems.append(
                CellProblem(1, header[imp_cols[code]], code, "not a valid outcome code")
            )
        elif known_codes is not None and code not in known_codes:
            problems.append(
                CellProblem(1, header[imp_cols[code]], code, "unknown outcome code for this survey")
            )
        else:
            codes.append(code)
    for code in imp_cols.keys() - sat_cols.keys():
        problems.append(
            CellProblem(1, header[imp_cols[code]], "", "no matching satisfaction column")
        )
    for code in sat_cols.keys() - imp_cols.keys():
        problems.append(CellProblem(1, header[sat_cols[code]], "", "no matching importance column"))
    if not imp_cols and not sat_cols:
        problems.append(CellProblem(1, "", "", "no rating columns match the patterns"))
    # Header problems do not stop here: the rows are still checked, so one report lists all.

    id_index = header.index(options.id_column) if options.id_column in header else None
    rating_index = [imp_cols[c] for c in codes] + [sat_cols[c] for c in codes]
    profile_present = [c for c in options.profile_columns if c in header]
    profile_index = [header.index(c) for c in profile_present]
    width = len(header)
    ids: list[str] = []
    row_numbers: list[int] = []
    cells: list[list[str]] = []
    profile_rows: list[list[str]] = []
    seen: dict[str, int] = {}
    try:
        for row_number, row in enumerate(reader, start=2):
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line
            if len(row) != width:
                problems.append(
                    CellProblem(row_number, "", "", f"has {len(row)} cells, the header has {width}")
                )
                row = (row + [""] * width)[:width]
            rid = row[id_index].strip() if id_index is not None else f"row-{row_number}"
            row_numbers.append(row_number)
            if not rid:
                problems.append(CellProblem(row_number, options.id_column, "", "the id is empty"))
            elif len(rid) > MAX_ID_LENGTH or "\x00" in rid:
                problems.append(
                    CellProblem(
                        row_number,
                        options.id_column,
                        rid[:60].replace("\x00", "\\0"),
                        f"ids are at most {MAX_ID_LENGTH} characters, without NUL characters",
                    )
                )
            elif rid in seen:
                problems.append(
                    CellProblem(
                        row_number, options.id_column, rid, f"duplicate id (also row {seen[rid]})"
                    )
                )
            elif existing_ids and rid in existing_ids:
                problems.append(
                    CellProblem(row_number, options.id_column, rid, "already in this survey")
                )
            seen.setdefault(rid, row_number)
            ids.append(rid)
            cells.append([row[i] for i in rating_index])
            if profile_index:
                values = [row[i].strip() for i in profile_index]
                for column, value in zip(profile_present, values, strict=True):
                    if "\x00" in value or len(value) > MAX_PROFILE_LENGTH:
                        problems.append(
                            CellProblem(
                                row_number,
                                column,
                                value[:60].replace("\x00", "\\0"),
                                f"at most {MAX_PROFILE_LENGTH} characters, without NUL characters",
                            )
                        )
                profile_rows.append(values)
    except csv.Error as exc:
        problems.append(CellProblem(reader.line_num, "", "", f"not readable as CSV: {exc}"))
        raise ResponseImportError(problems) from None

    n, k = len(ids), len(codes)
    flat = np.fromiter(
        map(_RATING.get, chain.from_iterable(cells), repeat(_BAD)), dtype=np.uint8, count=n * 2 * k
    ).reshape(n, 2 * k)
    bad_rows, bad_cols = np.nonzero(flat == _BAD)
    rating_names = [header[i] for i in rating_index]
    for r, c in zip(bad_rows.tolist(), bad_cols.tolist(), strict=True):
        value = _lenient_rating(cells[r][c])
        if value is None:
            problems.append(
                CellProblem(row_numbers[r], rating_names[c], cells[r][c], "must be 1–5 or blank")
            )
        else:
            flat[r, c] = value
    if n == 0:
        problems.append(CellProblem(0, "", "", "the file has no respondent rows"))
    if problems:
        problems.sort(key=lambda p: (p.row, p.column))
        raise ResponseImportError(problems)
    profile = {column: [row[j] for row in profile_rows] for j, column in enumerate(profile_present)}
    return ParsedFile(
        ids, codes, flat[:, :k].copy(), flat[:, k:].copy(), profile, ignored, row_numbers
    )


def _lenient_rating(text: str) -> int | None:
    """Ratings written with extra spaces or as "4.00" are still ratings; nothing else is."""
    stripped = text.strip()
    if stripped == "":
        return 0
    try:
        number = float(stripped)
    except ValueError:
        return None
    return int(number) if number.is_integer() and 1 <= number <= 5 else None


def _profile_key(column: str) -> str:
    return slugify(column)[:40].replace("-", "_") or "profile"


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
        key=_profile_key(column),
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
    """Create a job with the file's outcome codes, a survey over them and its responses."""
    parsed = parse_wide_csv(data, options)
    job = Job.objects.create(
        workspace=workspace,
        statement=name.strip()[:300],
        executor="Respondent",
        kind=JobKind.CORE_FUNCTIONAL,
        notes="Created by importing a response file.",
    )
    step = JobStep.objects.create(
        job=job,
        stage=Stage.EXECUTE,
        title="Imported outcomes",
        order=1,
        description="Outcomes named by the codes in the imported file; edit their statements.",
    )
    outcomes = []
    for i, code in enumerate(parsed.codes, start=1):
        outcome = DesiredOutcome(
            job=job, step=step, code=code, status=OutcomeStatus.APPROVED, order=i
        )
        outcome.set_statement(f"Outcome {code}")
        outcomes.append(outcome)
    DesiredOutcome.objects.bulk_create(outcomes)
    job.remember_outcome_codes()
    survey = Survey.objects.create(
        workspace=workspace, job=job, title=name.strip()[:200], status=SurveyStatus.CLOSED
    )
    SurveyOutcome.objects.bulk_create(
        SurveyOutcome(survey=survey, outcome=o, order=i) for i, o in enumerate(outcomes, start=1)
    )
    questions = []
    for i, column in enumerate(options.profile_columns, start=1):
        question = _infer_question(column, parsed.profile[column], i)
        question.survey = survey
        questions.append(question)
    Question.objects.bulk_create(questions)
    content = survey.snapshot()
    version = SurveyVersion.objects.create(
        survey=survey, number=1, content=content, content_hash=SurveyVersion.hash_content(content)
    )
    survey.current_version = version
    survey.save(update_fields=["current_version"])
    created = _store(survey, version, parsed, options)
    return ImportResult(survey, created, parsed.codes, parsed.ignored_columns)


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
        question = questions.get(_profile_key(column))
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
    """Write the responses: COPY on PostgreSQL (a 100,000-row file in seconds), else batches."""
    codes = version.outcome_codes
    n = len(parsed.respondent_ids)
    imp = np.zeros((n, len(codes)), dtype=np.uint8)
    sat = np.zeros_like(imp)
    where = [codes.index(c) for c in parsed.codes]
    imp[:, where] = parsed.importance
    sat[:, where] = parsed.satisfaction
    blobs = ratings.encode_arrays(imp, sat)
    questions = questions if questions is not None else {q.key: q for q in survey.questions.all()}
    keys = [(column, _profile_key(column)) for column in options.profile_columns]
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
