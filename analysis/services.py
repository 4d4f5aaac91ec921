"""Write workflows of analysis: requesting a run, executing it, recovering lost ones.

Requesting
==========
`request_analysis` creates a queued `AnalysisRun` and hands its task to the broker after the
transaction commits. At most one run per survey is queued (a partial unique constraint): a request
while one is queued returns that run, which is the debounce for re-analysis on new responses — the
queued run reads the data when it starts, so it includes everything that arrived meanwhile. A
broker that is down loses nothing: the run stays queued and `sweep_runs` (Celery beat, every
minute) hands it over again.

Claiming, and redelivery after a lost worker
============================================
A delivery of the task claims the run with one conditional UPDATE, taking it when

1. the run is ``queued``; or
2. the run is ``running`` and its ``task_id`` is the delivery's own task id; or
3. the run is ``running`` and was claimed longer ago than the lease (the task's hard time limit
   plus a margin).

Otherwise (succeeded, failed, cancelled, or running under another task) it does nothing.

Rule 2 is what lets a run survive a worker killed mid-run: the task is ``acks_late`` with
``reject_on_worker_lost``, so its message is only acknowledged at the end and comes back — with
the same task id — when the worker dies (at once from a prefork pool's parent; from Redis once the
visibility timeout has passed). The message can only come back while its first delivery is still
running if the visibility timeout is shorter than the task's hard time limit, and settings refuse
that configuration; Celery's retries of transient errors reuse the task id too. So a second
delivery of the *same* task id means the first holder is gone, and it may take over. A different
task id (the sweep's re-enqueue of a queued run, a duplicate request) only wins the queued state,
which exactly one delivery can. Rule 3 covers a holder lost without any redelivery.

Each claim writes a fresh ``claim_token``; progress updates and the final write check it, so a
holder that was replaced stops at its next write instead of storing a second set of results.
A run claimed `MAX_ATTEMPTS` times (the worker died each time, e.g. out of memory) fails.

Executing
=========
`execute_run` loads the survey's analysable responses, scores the whole sample with bootstrap
intervals, looks for segments, scores and profiles each segment, computes drivers of NPS/CES when
asked, then writes every result in one transaction and marks the run succeeded. Progress and stage
are plain UPDATEs between stages, outside that transaction. Any error marks the run failed with
its text, except transient database errors inside a task, which propagate so the task retries.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.db.models import F, Q
from django.utils import timezone

from analysis.core import drivers as drivers_core
from analysis.core.bootstrap import BootstrapResult, bootstrap_scores
from analysis.core.profile import SegmentProfiles, profile_segments
from analysis.core.scoring import AlternativeScores, alternative_scores
from analysis.core.segments import Segmentation, segment
from analysis.models import (
    AnalysisRun,
    OutcomeResult,
    RunStatus,
    SegmentMembership,
    SegmentResult,
)
from surveys.models import ErasureRecord, Response, Survey
from surveys.ratings import RatingMatrix, load_matrix

log = logging.getLogger(__name__)

DEFAULT_PARAMETERS: dict[str, Any] = {
    "segments": "auto",  # "auto", "off" or a number of segments k ≥ 2
    "seed": 20240501,
    "include_flagged": False,  # True: use flagged responses too, unless excluded by hand
    "k_range": [2, 8],
    "n_resamples": 1000,
    "small_group": 100,
}
MAX_K = 20
MAX_ATTEMPTS = 3
# Automatic segmentation needs enough outcomes for "which outcomes are unmet" to vary.
# Drivers need enough loyalty answers for correlations across many outcomes to mean anything.
MIN_LOYALTY_ANSWERS = 30
# Numeric profile answers with more distinct values than this are grouped into quartiles.
MAX_NUMBER_CATEGORIES = 8
TRANSIENT_ERRORS = (OperationalError, InterfaceError)


class Superseded(Exception):
    """The run was taken over by another delivery (or cancelled); stop without writing."""


class AnalysisError(Exception):
    """The analysis cannot be done on this data; the message is shown to the researcher."""


# --- parameters ---------------------------------------------------------------------------------


def parse_segments(value: object) -> str | int:
    """'auto', 'off' or k ≥ 2 (int or digits); anything else raises ValidationError."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("auto", "off"):
            return text
        if text.isdigit():
            value = int(text)
    if isinstance(value, int) and not isinstance(value, bool) and 2 <= value <= MAX_K:
        return value
    raise ValidationError(
        {"segments": f"{value!r} is not 'auto', 'off' or a number of segments from 2 to {MAX_K}."}
    )


def clean_parameters(raw: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The defaults overlaid with `raw`, checked; raises ValidationError naming each problem."""
    raw = dict(raw or {})
    unknown = sorted(set(raw) - set(DEFAULT_PARAMETERS))
    if unknown:
        raise ValidationError({k: "Unknown analysis parameter." for k in unknown})
    params = {**DEFAULT_PARAMETERS, **raw}
    errors: dict[str, str] = {}
    try:
        params["segments"] = parse_segments(params["segments"])
    except ValidationError as exc:
        errors.update(exc.message_dict)

    def whole(name: str, lo: int, hi: int) -> None:
        value = params[name]
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            errors[name] = f"Give a whole number from {lo} to {hi}."

    whole("seed", 0, 2**32 - 1)
    whole("n_resamples", 1000, 20000)
    whole("small_group", 1, 1_000_000)
    if not isinstance(params["include_flagged"], bool):
        errors["include_flagged"] = "Give true or false."
    k_range = params["k_range"]
    if (
        not isinstance(k_range, list | tuple)
        or len(k_range) != 2
        or not all(isinstance(k, int) and not isinstance(k, bool) for k in k_range)
        or not 2 <= k_range[0] <= k_range[1] <= MAX_K
    ):
        errors["k_range"] = f"Give [lowest, highest] with 2 ≤ lowest ≤ highest ≤ {MAX_K}."
    else:
        params["k_range"] = [int(k_range[0]), int(k_range[1])]
    if errors:
        raise ValidationError(errors)
    return params


# --- requesting ---------------------------------------------------------------------------------


def request_analysis(
    *, survey: Survey, parameters: Mapping[str, Any] | None = None, by=None
) -> AnalysisRun:
    """Queue an analysis of `survey`, or return the run already queued for it (the debounce).

    The task is handed to the broker after the surrounding transaction commits."""
    params = clean_parameters(parameters)
    for _ in range(3):
        queued = AnalysisRun.objects.filter(survey=survey, status=RunStatus.QUEUED).first()
        if queued is not None:
            return queued
        try:
            with transaction.atomic():
                run = AnalysisRun.objects.create(survey=survey, parameters=params, requested_by=by)
        except IntegrityError:
            continue  # another request queued one between our check and insert: join it
        transaction.on_commit(lambda run_id=run.pk: enqueue(run_id))
        return run
    raise RuntimeError(f"could not queue an analysis of survey {survey.pk}")  # pragma: no cover


def request_reanalysis(*, survey_id: int) -> AnalysisRun:
    """Re-analysis after new responses, with the parameters of the survey's latest run (a
    researcher's choice of k or seed carries over), or the defaults for a first run."""
    survey = Survey.objects.get(pk=survey_id)
    latest = AnalysisRun.objects.filter(survey=survey).order_by("-created_at", "-id").first()
    parameters = latest.parameters if latest is not None else None
    try:
        return request_analysis(survey=survey, parameters=parameters)
    except ValidationError:  # parameters from an older release that no longer validate
        return request_analysis(survey=survey)


def enqueue(run_id: int) -> bool:
    """Hand a queued run's task to the broker; never raises (the caller may be a respondent).

    On failure the run stays queued and `sweep_runs` tries again."""
    from analysis.tasks import run_analysis

    try:
        run_analysis.apply_async((run_id,))
    except Exception as exc:  # broker down, connection refused, timeouts: all the same here
        log.warning("Analysis run %s not handed to the broker yet: %s", run_id, exc)
        return False
    AnalysisRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
        enqueued_at=timezone.now()
    )
    return True


def lease() -> timedelta:
    """How long a claim protects a running run: no task can run longer (hard time limit)."""
    return timedelta(seconds=settings.ANALYSIS_TIME_LIMIT + 60)


def sweep_runs(now=None, *, requeue_after: timedelta = timedelta(minutes=5)) -> int:
    """Hand over again the runs whose message was lost; returns how many were sent.

    Queued runs never handed over (broker down) or handed over long ago, and running runs
    whose lease expired (worker lost and the message gone). Runs out of attempts fail."""
    now = now or timezone.now()
    abandoned = AnalysisRun.objects.abandoned(now, lease=lease())
    abandoned.filter(attempts__gte=MAX_ATTEMPTS).update(
        status=RunStatus.FAILED,
        finished_at=now,
        error=f"Gave up after {MAX_ATTEMPTS} attempts: the worker running it was lost each time.",
    )
    ids = list(
        AnalysisRun.objects.stale_queued(now, after=requeue_after).values_list("id", flat=True)
    )
    ids += list(abandoned.values_list("id", flat=True))
    return sum(enqueue(run_id) for run_id in ids)


# --- claiming -----------------------------------------------------------------------------------


def claim_run(run_id: int, *, task_id: str | None = None, now=None) -> str | None:
    """Claim the run for this delivery (see the module docstring); the claim token, or None if
    the run is not ours to execute."""
    now = now or timezone.now()
    claimable = Q(status=RunStatus.QUEUED) | Q(
        status=RunStatus.RUNNING, started_at__lt=now - lease()
    )
    if task_id:
        claimable |= Q(status=RunStatus.RUNNING, task_id=task_id)
    token = uuid.uuid4().hex
    claimed = AnalysisRun.objects.filter(claimable, pk=run_id).update(
        status=RunStatus.RUNNING,
        task_id=task_id or "",
        claim_token=token,
        attempts=F("attempts") + 1,
        started_at=now,
        heartbeat_at=now,
        progress=0,
        stage="Starting",
        error="",
    )
    if not claimed:
        return None
    attempts = AnalysisRun.objects.filter(pk=run_id).values_list("attempts", flat=True).get()
    if attempts > MAX_ATTEMPTS:
        _finish_failed(
            run_id,
            token,
            f"Gave up after {MAX_ATTEMPTS} attempts: the worker running it was lost each time "
            "(for example killed for using too much memory).",
        )
        return None
    return token


def _progress(run_id: int, token: str, progress: int, stage: str) -> None:
    updated = AnalysisRun.objects.filter(
        pk=run_id, status=RunStatus.RUNNING, claim_token=token
    ).update(progress=progress, stage=stage, heartbeat_at=timezone.now())
    if not updated:
        raise Superseded(run_id)


def _finish_failed(run_id: int, token: str, error: str) -> None:
    AnalysisRun.objects.filter(pk=run_id, status=RunStatus.RUNNING, claim_token=token).update(
        status=RunStatus.FAILED, error=error[:20000], finished_at=timezone.now()
    )


def fail_run(run_id: int, *, task_id: str, error: str) -> None:
    """Mark a run failed that its task gave up on (retries exhausted), if it still holds it."""
    AnalysisRun.objects.filter(pk=run_id, status=RunStatus.RUNNING, task_id=task_id).update(
        status=RunStatus.FAILED, error=error[:20000], finished_at=timezone.now()
    )


# --- executing ----------------------------------------------------------------------------------


def execute_run(run_id: int, *, task_id: str | None = None) -> AnalysisRun | None:
    """Claim and execute one run; None if it was not ours (already done, or held by another).

    `task_id` is the Celery delivery's id (None when run synchronously): transient database
    errors then propagate for the task to retry, instead of failing the run."""
    token = claim_run(run_id, task_id=task_id)
    if token is None:
        return None
    return _execute_claimed(run_id, token, propagate_transient=bool(task_id))


def analyze_now(
    *, survey: Survey, parameters: Mapping[str, Any] | None = None, by=None
) -> AnalysisRun:
    """Run an analysis synchronously in this process (the `analyze` command): a run created
    already claimed, executed by the same code as the task. It does not touch a queued run."""
    params = clean_parameters(parameters)
    token = uuid.uuid4().hex
    now = timezone.now()
    run = AnalysisRun.objects.create(
        survey=survey,
        parameters=params,
        requested_by=by,
        status=RunStatus.RUNNING,
        claim_token=token,
        attempts=1,
        started_at=now,
        heartbeat_at=now,
        stage="Starting",
    )
    result = _execute_claimed(run.pk, token, propagate_transient=False)
    return result if result is not None else AnalysisRun.objects.get(pk=run.pk)


def _execute_claimed(run_id: int, token: str, *, propagate_transient: bool) -> AnalysisRun | None:
    run = AnalysisRun.objects.select_related("survey").get(pk=run_id)
    timer = StageTimer()
    try:
        results = compute(run, timer=timer, progress=lambda p, s: _progress(run_id, token, p, s))
        _progress(run_id, token, 95, "Saving results")
        store_results(run_id, token, results, timer)
    except Superseded:
        log.info("Analysis run %s was taken over or cancelled; this attempt stops.", run_id)
        return None
    except TRANSIENT_ERRORS:
        if propagate_transient:
            raise
        _finish_failed(run_id, token, traceback.format_exc(limit=5))
    except AnalysisError as exc:
        _finish_failed(run_id, token, str(exc))
    except Exception as exc:
        log.exception("Analysis run %s failed", run_id)
        _finish_failed(run_id, token, _error_text(exc))
    return AnalysisRun.objects.get(pk=run_id)


def _error_text(exc: BaseException) -> str:
    from celery.exceptions import SoftTimeLimitExceeded

    if isinstance(exc, SoftTimeLimitExceeded):
        return (
            f"The analysis took longer than {settings.ANALYSIS_SOFT_TIME_LIMIT} seconds and was "
            "stopped. Try turning segmentation off or fixing the number of segments."
        )
    return f"{type(exc).__name__}: {exc}\n\n" + "".join(traceback.format_exception(exc, limit=8))


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
    loyalty_by_segment: list[dict[str, float | None]] = field(default_factory=list)
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
    results.warnings[:0] = _size_warnings(n, seg, params["small_group"])
    return results


def _size_warnings(n: int, seg: Segmentation, threshold: int) -> list[str]:
    warnings = []
    if n < threshold:
        warnings.append(
            f"Only {n} respondents: scores carry wide intervals (fewer than {threshold})."
        )
    if seg.found:
        for s, size in enumerate(seg.sizes.tolist(), start=1):
            if size < threshold:
                warnings.append(
                    f"Segment {s} has {size} respondents (fewer than {threshold}): read its "
                    "scores with care."
                )
    return warnings


# --- storing ------------------------------------------------------------------------------------


def _f(x: Any) -> float | None:
    """A finite float, or None for NaN/inf (stored as NULL)."""
    value = float(x)
    return value if np.isfinite(value) else None


def _json(obj: Any) -> Any:
    """Plain JSON values: numpy scalars and arrays converted, NaN and inf as null."""
    if isinstance(obj, dict):
        return {str(k): _json(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_json(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _json(obj.tolist())
    if isinstance(obj, bool | np.bool_):
        return bool(obj)
    if isinstance(obj, int | np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        return _f(obj)
    return obj


def _outcome_rows(
    run_id: int,
    group: GroupScores,
    outcomes: list[dict[str, str]],
    segment: SegmentResult | None = None,
    profile=None,
) -> list[OutcomeResult]:
    b, alt = group.boot, group.alt
    sc, iv = b.scores, b.intervals
    rank = np.empty(sc.n_outcomes, dtype=np.int64)
    rank[sc.ranking()] = np.arange(1, sc.n_outcomes + 1)
    distinctive = set(profile.distinctive.tolist()) if profile is not None else set()
    rows = []
    for j, o in enumerate(outcomes):
        rows.append(
            OutcomeResult(
                run_id=run_id,
                segment=segment,
                position=j,
                code=o["code"],
                statement=o["statement"],
                step=o["step"][:200],
                stage=o["stage"][:20],
                n=int(sc.n[j]),
                n_satisfaction=int(sc.n_satisfaction[j]),
                importance=_f(sc.importance[j]),
                satisfaction=_f(sc.satisfaction[j]),
                opportunity=_f(sc.opportunity[j]),
                band=str(sc.band[j]),
                overserved=bool(sc.overserved[j]),
                importance_lower=_f(iv.importance_lower[j]),
                importance_upper=_f(iv.importance_upper[j]),
                satisfaction_lower=_f(iv.satisfaction_lower[j]),
                satisfaction_upper=_f(iv.satisfaction_upper[j]),
                opportunity_lower=_f(iv.opportunity_lower[j]),
                opportunity_upper=_f(iv.opportunity_upper[j]),
                rank=int(rank[j]),
                rank_lower=_f(b.rank_lower[j]),
                rank_upper=_f(b.rank_upper[j]),
                p_top10=_f(b.p_top_k[j]),
                small_group=bool(b.small_group[j]),
                mean_importance=_f(alt.mean_importance[j]),
                mean_satisfaction=_f(alt.mean_satisfaction[j]),
                mean_gap=_f(alt.mean_gap[j]),
                opportunity_to_add_value=_f(alt.opportunity_to_add_value[j]),
                unmet_share=_f(profile.unmet_share[j]) if profile is not None else None,
                unmet_share_rest=_f(profile.unmet_share_rest[j]) if profile is not None else None,
                unmet_q_value=_f(profile.q_value[j]) if profile is not None else None,
                distinctive=j in distinctive,
            )
        )
    return rows


def _segmentation_json(seg: Segmentation, mode: str | int) -> dict[str, Any]:
    return _json(
        {
            "mode": mode,
            "found": seg.found,
            "k": seg.k,
            "reason": seg.reason,
            "requested_k": seg.requested_k,
            "sizes": seg.sizes,
            "n_subsample": seg.n_subsample,
            "n_components": seg.n_components,
            "diagnostics": [
                {
                    "k": d.k,
                    "silhouette": d.silhouette,
                    "null_silhouette": d.null_silhouette,
                    "distinctness": d.distinctness,
                    "stability": d.stability,
                    "stability_sd": d.stability_sd,
                    "stable": d.stable,
                    "distinct": d.distinct,
                }
                for d in seg.diagnostics
            ],
        }
    )


def _profile_differences(profiles: SegmentProfiles | None) -> list[dict[str, Any]]:
    if profiles is None:
        return []
    return _json(
        [
            {
                "question": c.question,
                "answers": [str(a) for a in c.codes],
                "table": c.table,  # rows: segments 1…k; columns: answers
                "chi2": c.chi2,
                "dof": c.dof,
                "p_value": c.p_value,
                "q_value": c.q_value,
                "cramers_v": c.cramers_v,
            }
            for c in profiles.categorical
        ]
    )


def _segment_answers(profiles: SegmentProfiles, row: int) -> list[dict[str, Any]]:
    """This segment's answer shares against the rest, per question (most different first)."""
    out = []
    for c in profiles.categorical:
        table = np.asarray(c.table, dtype=float)
        mine, rest = table[row], table.sum(axis=0) - table[row]
        with np.errstate(invalid="ignore", divide="ignore"):
            share = mine / mine.sum()
            share_rest = rest / rest.sum()
        answers = [
            {
                "answer": str(a),
                "count": int(mine[i]),
                "share": share[i],
                "share_rest": share_rest[i],
            }
            for i, a in enumerate(c.codes)
        ]
        answers.sort(key=lambda a: -abs(np.nan_to_num(a["share"] - a["share_rest"])))
        out.append(
            {
                "question": c.question,
                "cramers_v": c.cramers_v,
                "q_value": c.q_value,
                "answers": answers,
            }
        )
    return _json(out)


def _respondent_ids_now(run_id: int, matrix: RatingMatrix) -> list[str]:
    """The respondent ids to store with the run: as loaded, unless personal data of the survey
    have been erased since (surveys.erasure), which replaces them by pseudonyms.

    The survey's row lock orders this with an erasure, which holds it from start to commit: the
    ids read here are either from before an erasure (which then finds this run's membership and
    rewrites it) or from after it, never a mix."""
    survey_id = AnalysisRun.objects.filter(pk=run_id).values_list("survey_id", flat=True).get()
    list(Survey.objects.select_for_update().filter(pk=survey_id).values_list("pk"))
    if not ErasureRecord.objects.filter(survey_id=survey_id).exists():
        return list(matrix.respondent_ids)
    now = dict(Response.objects.filter(survey_id=survey_id).values_list("id", "respondent_id"))
    return [now.get(pk, f"erased-{pk}") for pk in matrix.response_ids.tolist()]


def store_results(run_id: int, token: str, results: RunResults, timer: StageTimer) -> None:
    """Write every result of the run and mark it succeeded, in one transaction."""
    seg = results.segmentation
    outcomes = results.outcomes
    started = time.perf_counter()
    with transaction.atomic():
        held = (
            AnalysisRun.objects.select_for_update()
            .filter(pk=run_id, status=RunStatus.RUNNING, claim_token=token)
            .exists()
        )
        if not held:
            raise Superseded(run_id)
        # A run holds no results until it succeeds; clear anything left by a crashed test
        # harness or a manual edit rather than fail on the unique constraints.
        OutcomeResult.objects.filter(run_id=run_id).delete()
        SegmentResult.objects.filter(run_id=run_id).delete()
        SegmentMembership.objects.filter(run_id=run_id).delete()

        rows = _outcome_rows(run_id, results.whole, outcomes)
        if seg.found and results.profiles is not None:
            stability = next((d.stability for d in seg.diagnostics if d.k == seg.k), None)
            profiles = {p.segment: p for p in results.profiles.segments}
            labels = [int(s) for s in np.unique(seg.labels)]
            segments = []
            for group in results.segments:
                p = profiles.get(group.segment)
                if p is None:  # an empty segment: nothing to show
                    continue
                ranking = p.ranking.tolist()
                segments.append(
                    SegmentResult(
                        run_id=run_id,
                        number=group.segment + 1,
                        name=p.name[:200],
                        size=p.size,
                        share=p.share,
                        small_group=p.small_group,
                        stability=_f(stability) if stability is not None else None,
                        distinct_outcomes=_json(
                            [
                                {
                                    "code": outcomes[j]["code"],
                                    "statement": outcomes[j]["statement"],
                                    "unmet_share": p.unmet_share[j],
                                    "unmet_share_rest": p.unmet_share_rest[j],
                                    "difference": p.unmet_difference[j],
                                    "q_value": p.q_value[j],
                                }
                                for j in p.distinctive.tolist()
                            ]
                        ),
                        top_unmet=[outcomes[j]["code"] for j in ranking[:5]],
                        profile_differences=_segment_answers(
                            results.profiles, labels.index(group.segment)
                        ),
                        nps=_f(results.loyalty_by_segment[group.segment]["nps"]["value"])
                        if "nps" in results.loyalty_by_segment[group.segment]
                        else None,
                        ces=_f(results.loyalty_by_segment[group.segment]["ces"]["value"])
                        if "ces" in results.loyalty_by_segment[group.segment]
                        else None,
                    )
                )
            created = {s.number: s for s in SegmentResult.objects.bulk_create(segments)}
            for group in results.segments:
                segment = created.get(group.segment + 1)
                if segment is not None:
                    rows += _outcome_rows(run_id, group, outcomes, segment, profiles[group.segment])
        OutcomeResult.objects.bulk_create(rows, batch_size=1000)
        response_ids, labels_packed = SegmentMembership.pack(
            results.matrix.response_ids, results.labels + 1
        )
        SegmentMembership.objects.create(
            run_id=run_id,
            response_ids=response_ids,
            segments=labels_packed,
            respondent_ids=_respondent_ids_now(run_id, results.matrix),
        )
        now = timezone.now()
        timings = {**timer.seconds, "store": round(time.perf_counter() - started, 4)}
        timings["total"] = round(sum(timings.values()), 4)
        AnalysisRun.objects.filter(pk=run_id).update(
            status=RunStatus.SUCCEEDED,
            progress=100,
            stage="Done",
            finished_at=now,
            heartbeat_at=now,
            n_respondents=int(results.matrix.importance.shape[0]),
            n_outcomes=len(outcomes),
            fingerprint=_json(results.fingerprint),
            segmentation=_segmentation_json(seg, results.params["segments"]),
            profile_differences=_profile_differences(results.profiles),
            drivers=_json(results.drivers),
            loyalty=_json(results.loyalty),
            warnings=list(results.warnings),
            timings=timings,
        )
