"""Catalogue import and export: JSON (full fidelity) and CSV (one row per outcome).

Imports validate the whole file first and collect every problem with where it is (a JSON path
or a CSV row number and column); a file with any problem changes nothing.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.template.defaultfilters import pluralize

from config import inputs
from jtbd.models import (
    OUTCOME_CODE_RE,
    DesiredOutcome,
    Job,
    JobKind,
    JobStep,
    OutcomeStatus,
    Stage,
)
from jtbd.statements import HARD_MAX_LENGTH, check_statement
from workspaces.models import Workspace

FORMAT_NAME = "opportunity-engine.catalogue"
FORMAT_VERSION = 1
CSV_COLUMNS = ["stage", "step_title", "code", "statement", "status", "step_description"]
CSV_REQUIRED = ["stage", "step_title", "code", "statement"]
# Spreadsheet programs run cells starting with these as formulas; exports prefix them with "'".
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Problem:
    where: str  # "steps[2].outcomes[0]" or "row 7"
    field: str
    message: str
    value: str = ""

    def __str__(self) -> str:
        value = f" (value: {self.value!r})" if self.value else ""
        return f"{self.where}, {self.field}: {self.message}{value}"

    def to_dict(self) -> dict[str, str]:
        return {
            "where": self.where,
            "field": self.field,
            "message": self.message,
            "value": self.value,
        }


class CatalogueImportError(Exception):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s) in the file; nothing was imported.")


@dataclass
class ImportResult:
    job: Job
    outcomes: int
    steps: int
    notes: list[str] = field(default_factory=list)
    # CSV columns the catalogue does not read (a spreadsheet's extra columns), named back to the
    # researcher as the response import does, so a misspelt optional column is noticed.
    ignored_columns: list[str] = field(default_factory=list)


# --- export -----------------------------------------------------------------------------------


def export_json(job: Job) -> dict:
    steps = list(job.steps.order_by("order", "id").prefetch_related("outcomes"))
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "job": {
            "statement": job.statement,
            "executor": job.executor,
            "kind": job.kind,
            "parent": job.parent.statement if job.parent_id and job.parent else None,
            "notes": job.notes,
        },
        "steps": [
            {
                "stage": step.stage,
                "title": step.title,
                "description": step.description,
                "outcomes": [
                    {
                        "code": o.code,
                        "statement": o.statement,
                        "status": o.status,
                        "direction": o.direction,
                        "metric": o.metric,
                        "object_of_control": o.object_of_control,
                        "clarifier": o.clarifier,
                    }
                    for o in sorted(step.outcomes.all(), key=lambda o: (o.order, o.id))
                ],
            }
            for step in steps
        ],
    }


def export_json_text(job: Job) -> str:
    return json.dumps(export_json(job), indent=2, ensure_ascii=False) + "\n"


def neutralise_formula(value: str) -> str:
    """Prefix cells a spreadsheet would run as a formula with "'"; a cell that already starts
    with "'" gets one too, so `_restore_formula` can tell the two apart on import."""
    return "'" + value if value.startswith((*FORMULA_PREFIXES, "'")) else value


def _restore_formula(value: str) -> str:
    if value.startswith("'") and value[1:].startswith((*FORMULA_PREFIXES, "'")):
        return value[1:]
    return value


def export_csv_text(job: Job) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    outcomes = job.outcomes.select_related("step").order_by("step__order", "step_id", "order", "id")
    for o in outcomes:
        writer.writerow(
            neutralise_formula(v)
            for v in (o.step.stage, o.step.title, o.code, o.statement, o.status, o.step.description)
        )
    return buffer.getvalue()


# --- validation shared by both formats --------------------------------------------------------


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


class _Checker:
    """Collects problems; a field check returns the cleaned value or None."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.codes: dict[str, str] = {}

    def add(self, where: str, field_name: str, message: str, value: object = "") -> None:
        shown = value if isinstance(value, str) else ("" if value is None else json.dumps(value))
        self.problems.append(Problem(where, field_name, message, str(shown)[:200]))

    def choice(self, where: str, name: str, value: object, choices, required: bool = True):
        text = _text(value).lower()
        if not text:
            if required:
                self.add(where, name, "is required")
            return None
        if text not in choices.values:
            self.add(where, name, f"must be one of {', '.join(choices.values)}", value)
            return None
        return text

    def string(self, where: str, name: str, value: object, *, max_length: int, required: bool):
        if value is not None and not isinstance(value, str):
            self.add(where, name, "must be text", value)
            return None
        text = _text(value)
        if "\x00" in text:
            self.add(where, name, "contains a NUL character", text.replace("\x00", "\\0")[:60])
            return None
        if required and not text:
            self.add(where, name, "is required")
            return None
        if len(text) > max_length:
            self.add(where, name, f"is longer than {max_length} characters", text[:60] + "…")
            return None
        return text

    def outcome(self, where: str, raw_code: object, raw_statement: object, raw_status: object):
        code = self.string(where, "code", raw_code, max_length=32, required=True)
        if code is not None and not OUTCOME_CODE_RE.match(code):
            self.add(where, "code", "must be 1–32 letters, digits, '_', '.' or '-'", code)
            code = None
        if code is not None:
            if code in self.codes:
                self.add(where, "code", f"is used twice (also at {self.codes[code]})", code)
            else:
                self.codes[code] = where
        statement = self.string(
            where, "statement", raw_statement, max_length=HARD_MAX_LENGTH, required=True
        )
        if statement:
            for finding in check_statement(statement).findings:
                if finding.severity == "error":
                    self.add(where, "statement", finding.message, statement[:60])
        status = (
            self.choice(where, "status", raw_status, OutcomeStatus, required=False)
            or OutcomeStatus.DRAFT
        )
        return code, statement, status


# --- JSON import ------------------------------------------------------------------------------


def parse_json_bytes(data: bytes | str) -> object:
    try:
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        raise CatalogueImportError([Problem("file", "encoding", "is not UTF-8 text")]) from None
    try:
        return inputs.loads(text, where="the file")
    except inputs.BadInput as exc:  # not JSON, nested too deep, NUL or lone surrogates
        raise CatalogueImportError([Problem(exc.at or "file", "json", exc.what)]) from None


def import_json(workspace: Workspace, document: object) -> ImportResult:
    """Create a new job in the workspace from an exported catalogue document."""
    check = _Checker()
    if not isinstance(document, dict):
        raise CatalogueImportError([Problem("file", "document", "must be a JSON object")])
    if document.get("format") != FORMAT_NAME:
        check.add("file", "format", f"must be {FORMAT_NAME!r}", document.get("format"))
    if document.get("version") != FORMAT_VERSION:
        check.add("file", "version", f"must be {FORMAT_VERSION}", document.get("version"))
    job_data = document.get("job")
    if not isinstance(job_data, dict):
        check.add("job", "job", "must be an object with statement, executor and kind")
        job_data = {}
    statement = check.string(
        "job", "statement", job_data.get("statement"), max_length=300, required=True
    )
    executor = check.string(
        "job", "executor", job_data.get("executor"), max_length=120, required=True
    )
    kind = check.choice("job", "kind", job_data.get("kind"), JobKind)
    notes = check.string("job", "notes", job_data.get("notes"), max_length=100_000, required=False)
    parent_statement = check.string(
        "job", "parent", job_data.get("parent"), max_length=300, required=False
    )

    steps_data = document.get("steps")
    steps: list[tuple[str, str, str, list[tuple[str, str, str]]]] = []
    if not isinstance(steps_data, list):
        check.add("file", "steps", "must be a list of steps")
        steps_data = []
    for i, step in enumerate(steps_data):
        where = f"steps[{i}]"
        if not isinstance(step, dict):
            check.add(where, "step", "must be an object")
            continue
        stage = check.choice(where, "stage", step.get("stage"), Stage)
        title = check.string(where, "title", step.get("title"), max_length=120, required=True)
        description = check.string(
            where, "description", step.get("description"), max_length=500, required=False
        )
        outcomes_data = step.get("outcomes", [])
        if not isinstance(outcomes_data, list):
            check.add(where, "outcomes", "must be a list")
            outcomes_data = []
        outcomes = []
        for j, outcome in enumerate(outcomes_data):
            owhere = f"{where}.outcomes[{j}]"
            if not isinstance(outcome, dict):
                check.add(owhere, "outcome", "must be an object")
                continue
            outcomes.append(
                check.outcome(
                    owhere, outcome.get("code"), outcome.get("statement"), outcome.get("status")
                )
            )
        steps.append((stage, title, description or "", outcomes))

    if check.problems:
        raise CatalogueImportError(check.problems)

    notes_out: list[str] = []
    parent = None
    if parent_statement:
        parent = workspace.jobs.filter(statement=parent_statement).first()
        if parent is None:
            notes_out.append(
                f"Parent job “{parent_statement}” is not in this workspace; "
                "imported without a parent."
            )
    with transaction.atomic():
        job = Job.objects.create(
            workspace=workspace,
            statement=statement,
            executor=executor,
            kind=kind,
            parent=parent,
            notes=notes or "",
        )
        _create_steps_and_outcomes(job, steps)
        job.remember_outcome_codes()
    notes_out += _flagged_but_approved(job, {o[0] for s in steps for o in s[3]})
    return ImportResult(
        job=job, outcomes=sum(len(s[3]) for s in steps), steps=len(steps), notes=notes_out
    )


def _flagged_but_approved(job: Job, codes: set[str]) -> list[str]:
    """A note naming the imported outcomes that the file marks approved and the statement
    check flags. The file's status is kept (approving was decided where the file was written,
    and a catalogue's own export must read back unchanged), but nobody should miss them."""
    outcomes = list(job.outcomes.all())
    findings = job.findings_by_code(outcomes)
    flagged = [
        o.code
        for o in outcomes
        if o.code in codes and o.status == OutcomeStatus.APPROVED and findings[o.code]
    ]
    if not flagged:
        return []
    shown = ", ".join(flagged[:20]) + (" …" if len(flagged) > 20 else "")
    return [
        f"{len(flagged)} outcome{pluralize(len(flagged))} marked approved in the file "
        f"{pluralize(len(flagged), 'is,are')} flagged by the statement check ({shown}); "
        f"{pluralize(len(flagged), 'it stays,they stay')} approved: see why on the job page."
    ]


def _create_steps_and_outcomes(
    job: Job,
    steps: Iterable[tuple[str, str, str, list[tuple[str, str, str]]]],
    first_order: int = 1,
) -> None:
    outcomes: list[DesiredOutcome] = []
    for order, (stage, title, description, step_outcomes) in enumerate(steps, start=first_order):
        step = JobStep.objects.create(
            job=job, stage=stage, title=title, description=description, order=order
        )
        for position, (code, statement, status) in enumerate(step_outcomes, start=1):
            outcome = DesiredOutcome(job=job, step=step, code=code, status=status, order=position)
            outcome.set_statement(statement)
            outcomes.append(outcome)
    DesiredOutcome.objects.bulk_create(outcomes)


# --- CSV import -------------------------------------------------------------------------------


def import_csv(job: Job, data: bytes | str) -> ImportResult:
    """Add the outcomes of a CSV file to a job, creating steps that do not exist yet.

    Steps are matched by stage and title; every code must be new to the job. Columns other
    than `CSV_COLUMNS` are ignored and listed in the result.
    """
    check = _Checker()
    try:
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        raise CatalogueImportError([Problem("file", "encoding", "is not UTF-8 text")]) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in (reader.fieldnames or [])]
    except csv.Error as exc:
        raise CatalogueImportError(
            [Problem("row 1", "file", f"not readable as CSV: {exc}")]
        ) from None
    duplicated = sorted({h for h in header if header.count(h) > 1})
    if duplicated:
        raise CatalogueImportError(
            [Problem("row 1", h, "the column appears more than once") for h in duplicated]
        )
    missing = [c for c in CSV_REQUIRED if c not in header]
    if missing:
        raise CatalogueImportError(
            [Problem("row 1", c, "required column is missing") for c in missing]
        )
    reader.fieldnames = header
    ignored = [h for h in header if h not in CSV_COLUMNS]
    existing_codes = set(job.outcomes.values_list("code", flat=True))
    existing_steps = {(s.stage, s.title): s for s in job.steps.all()}
    grouped: dict[tuple[str, str], tuple[str, list[tuple[str, str, str]]]] = {}
    rows = 0
    try:
        parsed_rows = list(enumerate(reader, start=2))
    except csv.Error as exc:
        raise CatalogueImportError(
            [Problem(f"row {reader.line_num}", "file", f"not readable as CSV: {exc}")]
        ) from None
    for row_number, row in parsed_rows:
        rows += 1
        where = f"row {row_number}"
        if None in row:
            check.add(where, "row", "has more cells than the header has columns")
        values = {k: _restore_formula(v or "") for k, v in row.items() if k is not None}
        stage = check.choice(where, "stage", values.get("stage"), Stage)
        title = check.string(
            where, "step_title", values.get("step_title"), max_length=120, required=True
        )
        description = check.string(
            where,
            "step_description",
            values.get("step_description"),
            max_length=500,
            required=False,
        )
        code, statement, status = check.outcome(
            where, values.get("code"), values.get("statement"), values.get("status") or None
        )
        if code and code in existing_codes:
            check.add(where, "code", "is already used in this job", code)
        if stage and title:
            _, outcomes = grouped.setdefault((stage, title), (description or "", []))
            outcomes.append((code, statement, status))
    if rows == 0:
        check.add("file", "rows", "has no outcome rows")
    if check.problems:
        raise CatalogueImportError(check.problems)

    with transaction.atomic():
        new_steps = []
        outcomes_to_add: list[DesiredOutcome] = []
        for (stage, title), (description, outcomes) in grouped.items():
            step = existing_steps.get((stage, title))
            if step is None:
                new_steps.append((stage, title, description, outcomes))
                continue
            last = step.outcomes.order_by("-order").values_list("order", flat=True).first() or 0
            for position, (code, statement, status) in enumerate(outcomes, start=last + 1):
                outcome = DesiredOutcome(
                    job=job, step=step, code=code, status=status, order=position
                )
                outcome.set_statement(statement)
                outcomes_to_add.append(outcome)
        DesiredOutcome.objects.bulk_create(outcomes_to_add)
        _create_steps_and_outcomes(job, new_steps, first_order=job.next_step_order())
        job.remember_outcome_codes()
    imported = {o[0] for _, outcomes in grouped.values() for o in outcomes}
    return ImportResult(
        job=job,
        outcomes=rows,
        steps=len(new_steps),
        notes=_flagged_but_approved(job, imported),
        ignored_columns=ignored,
    )
