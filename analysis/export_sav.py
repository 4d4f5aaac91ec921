"""SPSS export of a run's respondents (registered in `analysis.export_formats`).

Respondents SAV (`respondents_sav`): one row per respondent of the run, in the order of the
segments CSV. Variable names are valid SPSS names (ASCII letters, digits and _, starting with a
letter, at most 64 characters, unique ignoring case; anything else becomes _, and a clash gets
_2, _3…):

- ``respondent_id`` (string);
- ``imp_<code>`` and ``sat_<code>`` per outcome (1–5), labelled "Importance: <statement>" /
  "Satisfaction: <statement>", value labels the version's scale; 98 "Not applicable / can't say"
  and 99 "Not shown by design" (a planned subset) are user-missing values with those labels, and
  a rating shown but not given is system missing;
- per profile question with key K: single choice ``q_K`` coded 1…k in option order (value labels
  = options; answers no longer offered are appended); number ``q_K``; text ``q_K`` (string);
  multiple choice ``q_K_1`` … ``q_K_k``, one 0/1 variable per option, labelled
  "<question>: <option>" (missing when the question was not answered);
- ``current_solution`` coded 1…k by option plus k+1 "Something else", and
  ``current_solution_other`` (string) holding the "something else" text;
- ``nps`` (0–10) and ``ces`` (1–7) when asked; ``segment`` with the segment names as value labels
  (1 = "Everyone" when no segments were found).

Variable labels are cut to SPSS's 256 bytes and value labels to 120 bytes.
"""

from __future__ import annotations

import re
import tempfile
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from analysis.core.numbers import finite_or_none
from analysis.export_respondents import load_respondents, merged_questions
from analysis.models import AnalysisRun
from surveys.models import (
    DEFAULT_IMPORTANCE_LABELS,
    DEFAULT_SATISFACTION_LABELS,
    QuestionKind,
)
from surveys.ratings import FILE_CODE_LABELS

MAX_VARIABLE_NAME = 64
MAX_VARIABLE_LABEL_BYTES = 256
MAX_VALUE_LABEL_BYTES = 120
SOMETHING_ELSE = "Something else"
_SPSS_RESERVED = frozenset(
    ("all", "and", "by", "eq", "ge", "gt", "le", "lt", "ne", "not", "or", "to", "with")
)


def spss_name(base: str, taken: set[str]) -> str:
    """A valid SPSS variable name made from `base`, unique among `taken` ignoring case (and
    added to it): ASCII letters, digits and _, starting with a letter, at most 64 characters."""
    ascii_text = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode()
    name = re.sub(r"[^A-Za-z0-9_]", "_", ascii_text)
    if not name[:1].isalpha():
        name = "v" + (name if name.startswith("_") else "_" + name if name else "")
    if name.lower() in _SPSS_RESERVED:
        name += "_"
    name = name[:MAX_VARIABLE_NAME]
    candidate, i = name, 2
    while candidate.lower() in taken:
        suffix = f"_{i}"
        candidate = name[: MAX_VARIABLE_NAME - len(suffix)] + suffix
        i += 1
    taken.add(candidate.lower())
    return candidate


def clip(text: str, limit: int) -> str:
    """`text` cut to at most `limit` UTF-8 bytes on a character boundary, "…" marking a cut."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode("utf-8", "ignore") + "…"


@dataclass
class SavData:
    """Columns of a .sav file with their SPSS metadata, in variable order."""

    columns: dict[str, list | np.ndarray] = field(default_factory=dict)
    # Typed as pyreadstat.write_sav takes them (its dicts are invariant); no None is stored.
    labels: dict[str, str | None] = field(default_factory=dict)
    value_labels: dict[str, dict[int | float, str]] = field(default_factory=dict)
    missing: dict[str, list[Any]] = field(default_factory=dict)
    measures: dict[str, str] = field(default_factory=dict)
    taken: set[str] = field(default_factory=set)

    def add(
        self,
        base: str,
        values: list | np.ndarray,
        *,
        label: str = "",
        value_labels: Mapping[int, str] | None = None,
        measure: str = "unknown",
        missing: list[Any] | None = None,
    ) -> str:
        name = spss_name(base, self.taken)
        self.columns[name] = values
        if label:
            self.labels[name] = clip(label, MAX_VARIABLE_LABEL_BYTES)
        if value_labels:
            self.value_labels[name] = {
                k: clip(v, MAX_VALUE_LABEL_BYTES) for k, v in value_labels.items()
            }
        self.measures[name] = measure
        if missing:
            self.missing[name] = missing
        return name


def _with_observed(options: Sequence[str], observed: Iterable[str]) -> list[str]:
    """`options`, then answers given that are no longer among them (sorted)."""
    extra = sorted({o for o in observed if o not in options})
    return [*options, *extra]


def _codes_of(values: Sequence[str | None], options: Sequence[str]) -> np.ndarray:
    code = {option: k for k, option in enumerate(options, start=1)}
    return np.array([np.nan if v is None else code[v] for v in values], dtype=np.float64)


def _add_question(data: SavData, question: Mapping[str, Any], answers: list[Any]) -> None:
    key, text, kind = question["key"], question.get("text") or question["key"], question["kind"]
    if kind == QuestionKind.SINGLE:
        values = [None if a is None or a == "" else str(a) for a in answers]
        options = _with_observed(question["options"], (v for v in values if v is not None))
        data.add(
            f"q_{key}",
            _codes_of(values, options),
            label=text,
            value_labels=dict(enumerate(options, start=1)),
            measure="nominal",
        )
    elif kind == QuestionKind.MULTIPLE:
        chosen = [
            None if a is None else {str(x) for x in (a if isinstance(a, list) else [a])}
            for a in answers
        ]
        options = _with_observed(question["options"], (x for c in chosen if c for x in c))
        for k, option in enumerate(options, start=1):
            data.add(
                f"q_{key}_{k}",
                np.array([np.nan if c is None else float(option in c) for c in chosen]),
                label=f"{text}: {option}",
                value_labels={0: "Not chosen", 1: "Chosen"},
                measure="nominal",
            )
    elif kind == QuestionKind.NUMBER:
        data.add(f"q_{key}", np.array([_number(a) for a in answers]), label=text, measure="scale")
    else:
        data.add(
            f"q_{key}",
            ["" if a is None else str(a) for a in answers],
            label=text,
            measure="nominal",
        )


def _number(value: Any) -> float:
    """A profile answer as an SPSS number: system missing (NaN) unless a finite number."""
    if isinstance(value, bool):
        return np.nan
    try:
        number = finite_or_none(value)
    except (TypeError, ValueError):
        return np.nan
    return np.nan if number is None else number


def respondent_data(run: AnalysisRun) -> SavData:
    """The run's respondents as SPSS variables (see the module docstring for the names)."""
    survey = run.survey
    versions = sorted(survey.versions.all(), key=lambda v: v.number, reverse=True)
    contents = [v.content for v in versions]
    latest = contents[0] if contents else {}
    outcomes = list(run.whole_sample().order_by("position").values_list("code", "statement"))
    codes = [code for code, _ in outcomes]
    people = load_respondents(run, codes)
    importance_labels = list(latest.get("importance_labels") or DEFAULT_IMPORTANCE_LABELS)
    satisfaction_labels = list(latest.get("satisfaction_labels") or DEFAULT_SATISFACTION_LABELS)

    data = SavData()
    data.add("respondent_id", people.ids, label="Respondent id", measure="nominal")
    for j, (code, statement) in enumerate(outcomes):
        data.add(
            f"imp_{code}",
            people.importance[:, j],
            label=f"Importance: {statement}",
            value_labels={**dict(enumerate(importance_labels, start=1)), **FILE_CODE_LABELS},
            measure="ordinal",
            missing=list(FILE_CODE_LABELS),
        )
        data.add(
            f"sat_{code}",
            people.satisfaction[:, j],
            label=f"Satisfaction: {statement}",
            value_labels={**dict(enumerate(satisfaction_labels, start=1)), **FILE_CODE_LABELS},
            measure="ordinal",
            missing=list(FILE_CODE_LABELS),
        )
    for question in merged_questions(contents):
        _add_question(data, question, [p.get(question["key"]) for p in people.profile])

    asked = [c["current_solution"] for c in contents if c.get("current_solution")]
    if asked or any(people.current_solution):
        options: list[str] = []
        for block in asked:
            options += [str(o) for o in block.get("options", []) if str(o) not in options]
        labels = {**dict(enumerate(options, start=1)), len(options) + 1: SOMETHING_ELSE}
        number = {option: k for k, option in enumerate(options, start=1)}
        data.add(
            "current_solution",
            np.array(
                [number.get(s, len(options) + 1) if s else np.nan for s in people.current_solution],
                dtype=np.float64,
            ),
            label=asked[0].get("text", "Current solution") if asked else "Current solution",
            value_labels=labels,
            measure="nominal",
        )
        data.add(
            "current_solution_other",
            [s if s and s not in number else "" for s in people.current_solution],
            label=f"{SOMETHING_ELSE}: what they use today",
            measure="nominal",
        )
    nps_text = next((c["nps"] for c in contents if c.get("nps")), None)
    if nps_text or not np.isnan(people.nps).all():
        data.add("nps", people.nps, label=nps_text or "Likelihood to recommend", measure="scale")
    ces_text = next((c["ces"] for c in contents if c.get("ces")), None)
    if ces_text or not np.isnan(people.ces).all():
        data.add("ces", people.ces, label=ces_text or "Customer effort", measure="ordinal")

    segments = {s.number: s.display_name for s in run.segments.order_by("number")}
    data.add(
        "segment",
        people.segments,
        label="Segment",
        value_labels=segments or {1: "Everyone"},
        measure="nominal",
    )
    return data


def respondents_sav(run: AnalysisRun) -> bytes:
    """The run's respondent-level data as an SPSS .sav file."""
    import pandas as pd
    import pyreadstat

    data = respondent_data(run)
    frame = pd.DataFrame({name: values for name, values in data.columns.items()})
    finished = run.finished_at.isoformat() if run.finished_at else ""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "respondents.sav"
        pyreadstat.write_sav(
            frame,
            str(path),
            file_label=clip(run.survey.title, 64),
            column_labels=data.labels,
            variable_value_labels=data.value_labels,
            variable_measure=data.measures,
            missing_ranges=data.missing,
            # SPSS documents are lines of at most 80 bytes.
            note=[
                f"Opportunity Engine: survey {run.survey_id}, analysis {run.pk}.",
                f"Finished {finished}.",
            ],
        )
        return path.read_bytes()
