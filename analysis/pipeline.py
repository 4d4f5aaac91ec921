"""The compute pipeline of an analysis run: load, score, segment, profile, drivers.

`compute` loads the survey's analysable responses, scores the whole sample with bootstrap
intervals, looks for segments, scores and profiles each segment, and computes drivers of NPS/CES
when asked. It holds everything in memory (`RunResults`) and writes nothing but progress, through
the callback its caller gives; `analysis.storing` then writes the results in one transaction.
Randomness comes from the run's seed, one stream per purpose, so a run repeats exactly.
"""

from __future__ import annotations

import hashlib
import itertools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.core.exceptions import ValidationError
from django.db.models import Q

from analysis.core import drivers as drivers_core
from analysis.core.bootstrap import BootstrapResult, bootstrap_scores
from analysis.core.profile import SegmentProfiles, profile_segments
from analysis.core.scoring import AlternativeScores, alternative_scores
from analysis.core.segments import Segmentation, segment
from analysis.models import AnalysisRun
from analysis.parameters import clean_parameters
from surveys.models import Response, Survey
from surveys.ratings import RatingMatrix, load_matrix

# Drivers need enough loyalty answers for correlations across many outcomes to mean anything.
MIN_LOYALTY_ANSWERS = 30
# Numeric profile answers with more distinct values than this are grouped into quartiles.
MAX_NUMBER_CATEGORIES = 8


class AnalysisError(Exception):
    """The analysis cannot be done on this data; the message is shown to the researcher."""


class StageTimer:
    """Seconds per named stage, in order."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = round(self.seconds.get(name, 0.0) + time.perf_counter() - t0, 4)


@dataclass
class GroupScores:
    boot: BootstrapResult
    alt: AlternativeScores
    segment: int | None = None  # 0-based label, None = whole sample


@dataclass
class RunResults:
    """Everything a run stores, computed before the one write transaction."""

    params: dict[str, Any]
    matrix: RatingMatrix
    outcomes: list[dict[str, str]]  # per column: code, statement, step, stage
    fingerprint: dict[str, Any]
    whole: GroupScores
    segmentation: Segmentation
    labels: np.ndarray  # 0-based segment per respondent (all 0 when none found)
    segments: list[GroupScores] = field(default_factory=list)
    profiles: SegmentProfiles | None = None
    loyalty_by_segment: list[dict[str, Any]] = field(default_factory=list)  # as `loyalty`
    loyalty: dict[str, Any] = field(default_factory=dict)
    drivers: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _rng(seed: int, *purpose: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, *purpose]))


def _responses(run: AnalysisRun):
    completed = Response.objects.filter(survey=run.survey).completed()
    if run.parameters.get("include_flagged"):
        return completed.exclude(include_override=False)
    return completed.analysable()


def _outcome_info(survey: Survey, codes: list[str]) -> list[dict[str, str]]:
    """Statement, step and stage of each code as the newest version that asked it showed it."""
    info: dict[str, dict[str, str]] = {}
    for version in survey.versions.order_by("-number"):
        for step in version.content.get("steps", []):
            for outcome in step.get("outcomes", []):
                info.setdefault(
                    outcome["code"],
                    {
                        "statement": outcome.get("statement", ""),
                        "step": step.get("title", ""),
                        "stage": step.get("stage", ""),
                    },
                )
    return [{"code": c, **info.get(c, {"statement": c, "step": "", "stage": ""})} for c in codes]


def _fingerprint(survey: Survey, matrix: RatingMatrix, params: dict) -> dict[str, Any]:
    ids = np.sort(matrix.response_ids).astype("<i8")
    return {
        "versions": sorted(survey.versions.values_list("id", flat=True)),
        "responses": int(ids.size),
        "max_response_id": int(ids[-1]) if ids.size else None,
        "response_ids_sha256": hashlib.sha256(ids.tobytes()).hexdigest(),
        "include_flagged": bool(params.get("include_flagged")),
    }


@dataclass
class Extras:
    """Per-respondent answers besides the ratings, in matrix row order."""

    questions: list[tuple[str, list]] = field(default_factory=list)
    loyalty: dict[str, np.ndarray] = field(default_factory=dict)  # "nps"/"ces" → float, NaN


def _bin_numbers(values: list[Any]) -> list[str | None]:
    """Numbers as categories: themselves when few distinct values, else quartile ranges."""
    numbers = np.array(
        [
            float(v) if isinstance(v, int | float) and not isinstance(v, bool) else np.nan
            for v in values
        ]
    )
    finite = np.isfinite(numbers)
    present = numbers[finite]
    if np.unique(present).size <= MAX_NUMBER_CATEGORIES:
        return [f"{x:g}" if ok else None for x, ok in zip(numbers, finite, strict=True)]
    edges = np.unique(np.quantile(present, [0.25, 0.5, 0.75]))
    bounds = [present.min(), *edges, present.max()]
    names = [f"{lo:g}–{hi:g}" for lo, hi in itertools.pairwise(bounds)]
    where = np.searchsorted(edges, numbers, side="left")
    return [names[int(w)] if ok else None for w, ok in zip(where, finite, strict=True)]


def _extras(survey: Survey, responses, matrix: RatingMatrix) -> Extras:
    """Profile answers that are a choice or a number (complexity factors first), the current
    solution, and NPS/CES — loaded only when the survey has any of them."""
    specs: dict[str, dict] = {}
    for version in survey.versions.order_by("-number"):
        for q in version.content.get("questions", []):
            if q.get("kind") in ("single", "number"):
                specs.setdefault(q["key"], q)
    has_other = responses.filter(
        Q(nps__isnull=False) | Q(ces__isnull=False) | ~Q(current_solution="")
    ).exists()
    extras = Extras()
    if not specs and not has_other:
        return extras
    ordered = sorted(specs.values(), key=lambda q: not q.get("complexity_factor"))
    keys = [q["key"] for q in ordered]
    # Only the profile keys analysed, extracted by the database: far less JSON to decode.
    by_id = {
        row[0]: row[1:]
        for row in responses.values_list(
            "id", "current_solution", "nps", "ces", *(f"profile__{key}" for key in keys)
        )
    }
    # A response changed between the two queries is read as unanswered, never misaligned.
    missing = ("", None, None, *([None] * len(keys)))
    rows = [by_id.get(int(i), missing) for i in matrix.response_ids]
    for column, q in enumerate(ordered, start=3):
        answers = [row[column] for row in rows]
        if q["kind"] == "number":
            answers = _bin_numbers(answers)
        else:
            answers = [a if isinstance(a, str) and a else None for a in answers]
        if any(a is not None for a in answers):
            extras.questions.append((q["key"], answers))
    solutions = [row[0] or None for row in rows]
    if any(solutions):
        extras.questions.append(("current_solution", solutions))
    for index, name in ((1, "nps"), (2, "ces")):
        values = np.array([np.nan if r[index] is None else r[index] for r in rows], dtype=float)
        if np.isfinite(values).any():
            extras.loyalty[name] = values
    return extras


def _group_scores(
    imp: np.ndarray,
    sat: np.ndarray,
    rows: np.ndarray | None,
    params: dict,
    rng: np.random.Generator,
    segment: int | None = None,
) -> GroupScores:
    boot = bootstrap_scores(
        imp,
        sat,
        rows,
        n_resamples=params["n_resamples"],
        top_k=10,
        small_group_threshold=params["small_group"],
        seed=rng,
    )
    return GroupScores(boot=boot, alt=alternative_scores(imp, sat, rows), segment=segment)


def _segmentation(
    imp: np.ndarray, sat: np.ndarray, params: dict, rng: np.random.Generator
) -> Segmentation:
    mode = params["segments"]
    if mode == "off":
        n, m = imp.shape
        return Segmentation(
            found=False,
            k=1,
            labels=np.zeros(n, dtype=np.int64),
            reason="Segmentation was turned off for this run.",
            diagnostics=(),
            sizes=np.array([n], dtype=np.int64),
            profiles=np.zeros((1, m)),
            requested_k=None,
            n_subsample=0,
            n_components=0,
        )
    if mode == "auto":
        return segment(imp, sat, seed=rng, k_range=tuple(params["k_range"]))
    return segment(imp, sat, seed=rng, k=int(mode))


def _loyalty_drivers(
    sat: np.ndarray, extras: Extras, outcomes: list[dict], seed: int, warnings: list[str]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for index, (name, values) in enumerate(sorted(extras.loyalty.items())):
        answered = int(np.isfinite(values).sum())
        if answered < MIN_LOYALTY_ANSWERS:
            warnings.append(
                f"Only {answered} {name.upper()} answers: drivers need at least "
                f"{MIN_LOYALTY_ANSWERS}, so none are shown."
            )
            continue
        result = drivers_core.drivers(sat, values, seed=_rng(seed, 4, index))
        out[name] = {
            "method": "Johnson's relative weights of outcome satisfaction",
            "n": result.n,
            "r_squared": result.r_squared,
            "r_squared_lower": result.r_squared_lower,
            "r_squared_upper": result.r_squared_upper,
            "n_resamples": result.n_resamples,
            "confidence": result.confidence,
            "outcomes": [
                {
                    "rank": rank,
                    "code": outcomes[j]["code"],
                    "statement": outcomes[j]["statement"],
                    "weight": result.weight[j],
                    "weight_lower": result.weight_lower[j],
                    "weight_upper": result.weight_upper[j],
                    "share": result.share[j],
                    "share_lower": result.share_lower[j],
                    "share_upper": result.share_upper[j],
                }
                for rank, j in enumerate(result.ranking.tolist(), start=1)
            ],
        }
    return out


def _loyalty_of(extras: Extras, rows: np.ndarray | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, values in extras.loyalty.items():
        chosen = values if rows is None else values[rows]
        value = drivers_core.nps(chosen) if name == "nps" else drivers_core.ces_mean(chosen)
        out[name] = {"value": value, "n": int(np.isfinite(chosen).sum())}
    return out


def compute(
    run: AnalysisRun, *, timer: StageTimer, progress: Callable[[int, str], None]
) -> RunResults:
    """All of a run's statistics, in memory; nothing is written but progress."""
    try:
        params = clean_parameters(run.parameters)
    except ValidationError as exc:
        raise AnalysisError(f"Invalid parameters: {exc.message_dict}") from None
    seed = params["seed"]
    survey = run.survey
    progress(5, "Loading responses")
    with timer("load"):
        responses = _responses(run)
        matrix = load_matrix(survey, responses=responses)
        outcomes = _outcome_info(survey, matrix.codes)
        extras = _extras(survey, responses, matrix)
        fingerprint = _fingerprint(survey, matrix, params)
    imp, sat = matrix.importance, matrix.satisfaction
    n, m = imp.shape
    if m == 0:
        raise AnalysisError("The survey has no outcomes to analyse.")
    if n == 0:
        raise AnalysisError(
            "No analysable responses yet: there are no completed responses"
            + ("." if params["include_flagged"] else " that are not flagged for quality.")
        )

    progress(15, f"Scoring {n} respondents × {m} outcomes")
    with timer("scores"):
        whole = _group_scores(imp, sat, None, params, _rng(seed, 1))
    progress(35, "Looking for segments")
    with timer("segmentation"):
        seg = _segmentation(imp, sat, params, _rng(seed, 2))
    results = RunResults(
        params=params,
        matrix=matrix,
        outcomes=outcomes,
        fingerprint=fingerprint,
        whole=whole,
        segmentation=seg,
        labels=seg.labels,
        loyalty=_loyalty_of(extras),
    )
    if seg.found:
        progress(65, f"Scoring {seg.k} segments")
        with timer("segment_scores"):
            results.segments = [
                _group_scores(imp, sat, seg.labels == s, params, _rng(seed, 3, s), segment=s)
                for s in range(seg.k)
            ]
        progress(80, "Profiling segments")
        with timer("profiles"):
            results.profiles = profile_segments(
                imp,
                sat,
                seg.labels,
                statements=[o["statement"] for o in outcomes],
                questions=extras.questions,
                small_group_threshold=params["small_group"],
            )
            results.loyalty_by_segment = [
                _loyalty_of(extras, seg.labels == s) for s in range(seg.k)
            ]
    if extras.loyalty:
        progress(88, "Finding drivers of loyalty")
        with timer("drivers"):
            results.drivers = _loyalty_drivers(sat, extras, outcomes, seed, results.warnings)
    results.warnings[:0] = _size_warnings(
        n, seg, params["small_group"], outcomes, whole.boot.small_group
    )
    return results


def _size_warnings(
    n: int, seg: Segmentation, threshold: int, outcomes: list[dict], few_answers: np.ndarray
) -> list[str]:
    warnings = []
    if n < threshold:
        warnings.append(
            f"Only {n} respondents: scores carry wide intervals (fewer than {threshold})."
        )
    else:
        # An outcome is scored on its own answers: few of them (skipped, or not shown) make its
        # score move a lot however many respondents the survey has.
        few = [o["code"] for o, flag in zip(outcomes, few_answers.tolist(), strict=True) if flag]
        if few:
            shown = ", ".join(few[:10]) + (" …" if len(few) > 10 else "")
            warnings.append(
                f"{len(few)} outcome{'s have' if len(few) > 1 else ' has'} fewer than {threshold} "
                f"importance answers ({shown}): read {'their' if len(few) > 1 else 'its'} "
                "scores with care; each one's n is beside it."
            )
    if seg.found:
        for s, size in enumerate(seg.sizes.tolist(), start=1):
            if size < threshold:
                warnings.append(
                    f"Segment {s} has {size} respondents (fewer than {threshold}): read its "
                    "scores with care."
                )
    return warnings
