"""Storing a run's results: every row of a computed run, written in one transaction.

`store_results` locks the run row, checks that this attempt still holds it (status running and
its claim token; see `analysis.runs`), replaces anything stored before, writes the outcome rows
of the whole sample and of each segment, the segments, the membership and the run's own
summaries, and marks it succeeded, all in one transaction: pages see a run's results complete or
not at all. NaN and infinite numbers are stored as NULL.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from django.db import transaction
from django.utils import timezone

from analysis.core.numbers import finite_or_none
from analysis.core.profile import SegmentProfiles
from analysis.core.segments import Segmentation
from analysis.models import (
    AnalysisRun,
    OutcomeResult,
    RunStatus,
    SegmentMembership,
    SegmentResult,
)
from analysis.pipeline import GroupScores, RunResults, StageTimer
from surveys.models import ErasureRecord, Response, Survey
from surveys.ratings import RatingMatrix


class Superseded(Exception):
    """The run was taken over by another delivery (or cancelled); stop without writing."""


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
        return finite_or_none(obj)
    return obj


def _of(profile: Any, name: str, j: int) -> float | None:
    """The segment profile's `name` of outcome j; None for the whole sample (no profile)."""
    return None if profile is None else finite_or_none(getattr(profile, name)[j])


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
                importance=finite_or_none(sc.importance[j]),
                satisfaction=finite_or_none(sc.satisfaction[j]),
                opportunity=finite_or_none(sc.opportunity[j]),
                band=str(sc.band[j]),
                overserved=bool(sc.overserved[j]),
                importance_lower=finite_or_none(iv.importance_lower[j]),
                importance_upper=finite_or_none(iv.importance_upper[j]),
                satisfaction_lower=finite_or_none(iv.satisfaction_lower[j]),
                satisfaction_upper=finite_or_none(iv.satisfaction_upper[j]),
                opportunity_lower=finite_or_none(iv.opportunity_lower[j]),
                opportunity_upper=finite_or_none(iv.opportunity_upper[j]),
                rank=int(rank[j]),
                rank_lower=finite_or_none(b.rank_lower[j]),
                rank_upper=finite_or_none(b.rank_upper[j]),
                p_top10=finite_or_none(b.p_top_k[j]),
                small_group=bool(b.small_group[j]),
                mean_importance=finite_or_none(alt.mean_importance[j]),
                mean_satisfaction=finite_or_none(alt.mean_satisfaction[j]),
                mean_gap=finite_or_none(alt.mean_gap[j]),
                opportunity_to_add_value=finite_or_none(alt.opportunity_to_add_value[j]),
                unmet_share=_of(profile, "unmet_share", j),
                unmet_share_rest=_of(profile, "unmet_share_rest", j),
                unmet_q_value=_of(profile, "q_value", j),
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
                    "valley": d.valley,
                    "separated": d.separated,
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
                assert group.segment is not None  # a segment's scores carry its label
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
                        stability=finite_or_none(stability) if stability is not None else None,
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
                        nps=finite_or_none(
                            results.loyalty_by_segment[group.segment]["nps"]["value"]
                        )
                        if "nps" in results.loyalty_by_segment[group.segment]
                        else None,
                        ces=finite_or_none(
                            results.loyalty_by_segment[group.segment]["ces"]["value"]
                        )
                        if "ces" in results.loyalty_by_segment[group.segment]
                        else None,
                    )
                )
            created = {s.number: s for s in SegmentResult.objects.bulk_create(segments)}
            for group in results.segments:
                assert group.segment is not None
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
