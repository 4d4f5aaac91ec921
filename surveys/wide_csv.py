"""Reading the wide CSV format of responses collected elsewhere.

One row per respondent: an id column, optional profile columns, and per outcome code X an
importance and a satisfaction column named by patterns (default ``imp_{code}``/``sat_{code}``).
Ratings are 1–5, blank for unanswered, 98 for "not applicable / can't say" and 99 for "not shown by
design" (a planned subset). Any other value fails the whole import; every problem is
reported with its row number (the header is row 1), column and value, and nothing is stored.
Columns that are neither the id, a listed profile column nor a rating column are ignored, and the
import says which. Storing what was read is `surveys.importing`'s.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from itertools import chain, repeat

import numpy as np
from django.utils.text import slugify

from jtbd.models import OUTCOME_CODE_RE
from surveys import ratings

REPORT_LIMIT = 50
MAX_ID_LENGTH = 200
MAX_PROFILE_LENGTH = 500
_BAD = 255
MUST_BE = "must be 1–5, blank, 98 (not applicable) or 99 (not shown by design)"
_FROM_FILE = {written: code for code, written in ratings.FILE_CODES.items()}
# Accepted spellings of the five ratings; anything else in a rating column is a problem.
_RATING = {"": 0}
for _v in range(1, 6):
    for _text in (str(_v), f"{_v}.0", f" {_v}", f"{_v} "):
        _RATING[_text] = _v
_RATING[" "] = 0
for _code, _written in ratings.FILE_CODES.items():  # "not applicable", "not shown by design"
    for _text in (str(_written), f"{_written}.0", f" {_written}", f"{_written} "):
        _RATING[_text] = _code


@dataclass(frozen=True)
class ImportOptions:
    id_column: str = "respondent_id"
    importance_pattern: str = "imp_{code}"
    satisfaction_pattern: str = "sat_{code}"
    profile_columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class CellProblem:
    row: int  # the header is row 1; 0 = the file or the import as a whole
    column: str
    value: str
    message: str

    def __str__(self) -> str:
        where = f"row {self.row}" if self.row else "file"  # row 0: the file or the import
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
        key = profile_key(column)
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
        rating = _lenient_rating(cells[r][c])
        if rating is None:
            problems.append(CellProblem(row_numbers[r], rating_names[c], cells[r][c], MUST_BE))
        else:
            flat[r, c] = rating
    # "Not shown by design" means neither question was asked: both columns or neither.
    unshown = flat == ratings.NOT_SHOWN
    for r, j in zip(*np.nonzero(unshown[:, :k] != unshown[:, k:]), strict=True):
        c = j if unshown[r, j] else k + j  # the column holding the 99
        problems.append(
            CellProblem(
                row_numbers[r],
                rating_names[c],
                cells[r][c],
                "99 (not shown by design) must be in both of an outcome's columns, or in neither",
            )
        )
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
    """Ratings written with extra spaces or as "4.00" are still ratings, and the same for the
    missing codes 98 and 99; nothing else is."""
    stripped = text.strip()
    if stripped == "":
        return 0
    try:
        number = float(stripped)
    except ValueError:
        return None
    if not number.is_integer():
        return None
    if 1 <= number <= 5:
        return int(number)
    return _FROM_FILE.get(int(number))


def profile_key(column: str) -> str:
    return slugify(column)[:40].replace("-", "_") or "profile"
