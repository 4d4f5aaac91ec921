"""Comparisons computed on request: two groups of one run, and two waves of the same job.

Why on request
==============
Everything else a page, the API or an export shows is read from what a run stored. A
comparison cannot be stored in advance: a group is any segment, any answer to a profile question
or any current solution, compared against any other or against everyone else, and a wave is any
other analysed survey of the same job. So these two functions compute, in the request, and this
module is the only place outside a run where statistics are computed.

What bounds it
==============
- The data are one stored run's respondents (two runs' for waves) and its outcome columns: one
  load of the packed rating matrix (`surveys.ratings.load_matrix`), the loading the run itself
  does; answers to profile questions are read for those respondents only.
- The statistics are `analysis.core.compare`'s bootstrap: after one pass counting each
  outcome's answer cells (at most 5 × 5 of them), it resamples those counts, not respondents, so
  the respondents only add that counting pass (two groups over 100 outcomes: 0.5–0.7 s at 1,000
  or 10,000 respondents, 1.5 s at 100,000, measured on a 2-core machine).
- Groups come from a closed set (a segment of the run, an answer given by its respondents, a
  current solution, everyone else); anything else is refused with a message before computing.
- The run's seed seeds the bootstrap, so the same request gives the same figures.

Problems with a request are raised as `ComparisonError` naming the group ("a" or "b") and what
is wrong; the API answers them as a 400 and the page shows them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from analysis.core.compare import compare, compare_groups
from analysis.core.numbers import finite_or_none
from analysis.models import AnalysisRun, OutcomeResult, SegmentNotFound
from analysis.parameters import DEFAULT_PARAMETERS
from surveys.models import Response as SurveyResponse
from surveys.models import Survey
from surveys.ratings import load_matrix

# Group b may be everyone in the run who is not in group a.
REST = "rest"


class ComparisonError(ValueError):
    """A group that cannot be compared: `group` is "a" or "b", the message says why."""

    def __init__(self, group: str, message: str) -> None:
        super().__init__(message)
        self.group = group
        self.message = message


def run_seed(run: AnalysisRun) -> int:
    return int(run.parameters.get("seed", DEFAULT_PARAMETERS["seed"]))


def small_group_threshold(run: AnalysisRun) -> int:
    return int(run.parameters.get("small_group", DEFAULT_PARAMETERS["small_group"]))


# --- two groups of one run ----------------------------------------------------------------------


@dataclass
class RunRows:
    """The run's respondents as the comparison sees them: ratings in the run's outcome columns,
    and each respondent's segment, in matrix row order."""

    response_ids: np.ndarray
    importance: np.ndarray
    satisfaction: np.ndarray
    segments: np.ndarray


def _run_rows(run: AnalysisRun, codes: list[str]) -> RunRows:
    membership = run.membership
    ids, labels = membership.response_id_array(), membership.segment_array()
    completed = SurveyResponse.objects.filter(survey=run.survey).completed()
    matrix = load_matrix(run.survey, codes=codes, responses=completed)
    # The run's respondents only (a response deleted since the run is simply missing).
    in_run = np.isin(matrix.response_ids, ids)
    order = np.argsort(ids, kind="stable")
    kept = matrix.response_ids[in_run]
    return RunRows(
        response_ids=kept,
        importance=matrix.importance[in_run],
        satisfaction=matrix.satisfaction[in_run],
        segments=labels[order][np.searchsorted(ids[order], kept)],
    )


def _answers(survey: Survey, rows: RunRows, field: str) -> list[Any]:
    """Each row's answer in `field` (a Response column or profile__<key>), None if missing."""
    by_id = dict(SurveyResponse.objects.filter(survey=survey).completed().values_list("id", field))
    return [by_id.get(int(i)) for i in rows.response_ids]


def _text(value: Any) -> list[str]:
    """An answer as the texts it matches: a choice, each of several choices, a number."""
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return [t for v in value for t in _text(v)]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return [str(value)]


def _profile_keys(survey: Survey) -> list[str]:
    keys = list(survey.questions.order_by("order").values_list("key", flat=True))
    for version in survey.versions.order_by("-number"):
        keys += [q["key"] for q in version.content.get("questions", []) if q["key"] not in keys]
    return keys


def _matching(answers: list[Any], value: str, name: str, where: str) -> np.ndarray:
    texts = [_text(a) for a in answers]
    mask = np.array([value in t for t in texts], dtype=bool)
    if not mask.any():
        known = sorted({t for ts in texts for t in ts})
        listed = ", ".join(known[:20]) + (", …" if len(known) > 20 else "")
        raise ComparisonError(
            where,
            f"No respondent of this analysis answered {name} = {value!r:.80}"
            + (f"; answers: {listed}." if known else "; nobody answered it."),
        )
    return mask


def _group(
    run: AnalysisRun, rows: RunRows, spec: dict, where: str, other: np.ndarray | None
) -> tuple[str, np.ndarray]:
    """(label, row mask) of one group spec; a ComparisonError for `where` naming any problem."""
    n = rows.response_ids.size
    if REST in spec:
        assert other is not None  # "rest" is only ever group b (the callers refuse it for a)
        return "Everyone else", ~other
    if "segment" in spec:
        try:
            segment = run.find_segment(spec["segment"])
        except SegmentNotFound as exc:
            raise ComparisonError(where, str(exc)) from None
        return f"Segment {segment.number}: {segment.display_name}", rows.segments == segment.number
    if "current_solution" in spec:
        value = spec["current_solution"]
        answers = _answers(run.survey, rows, "current_solution")
        return f"Current solution: {value}", _matching(answers, value, "current_solution", where)
    keys = _profile_keys(run.survey)
    mask = np.ones(n, dtype=bool)
    for key, value in spec["profile"].items():
        if key not in keys:
            raise ComparisonError(
                where,
                f"No profile question {key!r:.80} in this survey; questions: "
                + (", ".join(keys) or "none")
                + ".",
            )
        mask &= _matching(_answers(run.survey, rows, f"profile__{key}"), value, key, where)
    label = ", ".join(f"{k} = {v}" for k, v in spec["profile"].items())
    return label, mask


def compare_in_run(run: AnalysisRun, spec_a: dict, spec_b: dict) -> dict[str, Any]:
    """Opportunity of group a minus group b per outcome, over `run`'s respondents.

    A spec is {"segment": N}, {"profile": {key: answer, …}} (every key must match),
    {"current_solution": text}, or for b {REST: True} (everyone not in a). Outcomes come in the
    run's whole-sample rank order."""
    outcomes = list(
        run.outcome_results.filter(segment=None)
        .order_by("position")
        .values_list("code", "statement", "rank")
    )
    rows = _run_rows(run, [code for code, _, _ in outcomes])
    label_a, a = _group(run, rows, spec_a, "a", None)
    label_b, b = _group(run, rows, spec_b, "b", a)
    for name, mask in (("a", a), ("b", b)):
        if not mask.any():
            raise ComparisonError(name, f"Nobody of analysis {run.pk} is in group {name}.")
    threshold = small_group_threshold(run)
    seed = run_seed(run)
    n_a, n_b = int(a.sum()), int(b.sum())
    warnings = [
        f"Group {name} has {size} respondents (fewer than {threshold}): differences carry wide "
        "intervals."
        for name, size in (("a", n_a), ("b", n_b))
        if size < threshold
    ]
    both = int((a & b).sum())
    if both:
        warnings.append(
            f"{both} respondents are in both groups: the test assumes independent groups, so "
            "read the p-values with care."
        )
    result = compare_groups(rows.importance, rows.satisfaction, a, b, seed=seed)
    per_outcome: list[dict[str, Any]] = [
        {
            "code": code,
            "statement": statement,
            "rank": rank,
            "n_a": int(result.scores_a.n[j]),
            "n_b": int(result.scores_b.n[j]),
            "opportunity_a": finite_or_none(result.scores_a.opportunity[j]),
            "opportunity_b": finite_or_none(result.scores_b.opportunity[j]),
            "difference": finite_or_none(result.difference[j]),
            "lower": finite_or_none(result.lower[j]),
            "upper": finite_or_none(result.upper[j]),
            "p_value": finite_or_none(result.p_value[j]),
            "q_value": finite_or_none(result.q_value[j]),
            "significant": bool(result.significant[j]),
        }
        for j, (code, statement, rank) in enumerate(outcomes)
    ]
    per_outcome.sort(key=lambda o: o["rank"])
    return {
        "run": run.pk,
        "seed": seed,
        "a": {"label": label_a, "n": n_a, "small_group": n_a < threshold},
        "b": {"label": label_b, "n": n_b, "small_group": n_b < threshold},
        "confidence": result.confidence,
        "alpha": result.alpha,
        "n_resamples": result.n_resamples,
        "warnings": warnings,
        "outcomes": per_outcome,
    }


# --- two waves of the same job ------------------------------------------------------------------


def _run_matrix(run: AnalysisRun, codes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The run's respondents' ratings in `codes` columns (all analysable ones if the run kept
    no membership)."""
    completed = SurveyResponse.objects.filter(survey=run.survey).completed()
    try:
        ids = run.membership.response_id_array()
    except AnalysisRun.membership.RelatedObjectDoesNotExist:
        matrix = load_matrix(run.survey, codes=codes)
        return matrix.importance, matrix.satisfaction
    matrix = load_matrix(run.survey, codes=codes, responses=completed)
    keep = np.isin(matrix.response_ids, ids)
    return matrix.importance[keep], matrix.satisfaction[keep]


def _minus(x: float | None, y: float | None) -> float | None:
    return None if x is None or y is None else x - y


def compare_waves(run: AnalysisRun, other_run: AnalysisRun) -> dict[str, Any]:
    """This wave (`run`) against another (`other_run`) on the outcome codes both share: the
    stored whole-sample scores side by side, and a bootstrap interval and q-value of the
    opportunity difference from both runs' respondents. Rows come largest satisfaction change
    first; {"rows": [], "note": …} when the surveys share no outcome code."""
    mine = {r.code: r for r in OutcomeResult.objects.filter(run=run, segment=None)}
    theirs = {r.code: r for r in OutcomeResult.objects.filter(run=other_run, segment=None)}
    codes = [r.code for r in sorted(mine.values(), key=lambda r: r.position) if r.code in theirs]
    if not codes:
        return {
            "rows": [],
            "note": "The two surveys share no outcome codes, so there is nothing to compare.",
        }
    imp_a, sat_a = _run_matrix(run, codes)
    imp_b, sat_b = _run_matrix(other_run, codes)
    result = compare(imp_a, sat_a, imp_b, sat_b, seed=run_seed(run))
    rows: list[dict[str, Any]] = []
    for j, code in enumerate(codes):
        a, b = mine[code], theirs[code]
        rows.append(
            {
                "code": code,
                "statement": a.statement,
                "s_this": a.satisfaction,
                "s_other": b.satisfaction,
                "s_change": _minus(a.satisfaction, b.satisfaction),
                "o_this": a.opportunity,
                "o_other": b.opportunity,
                "o_change": _minus(a.opportunity, b.opportunity),
                "lower": finite_or_none(result.lower[j]),
                "upper": finite_or_none(result.upper[j]),
                "q_value": finite_or_none(result.q_value[j]),
                "significant": bool(result.significant[j]),
            }
        )
    rows.sort(key=lambda r: -abs(r["s_change"]) if r["s_change"] is not None else 1.0)
    return {"rows": rows, "n_this": len(imp_a), "n_other": len(imp_b)}
