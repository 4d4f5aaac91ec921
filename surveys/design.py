"""Planned subsets in the field: each respondent rates K of a survey's N outcomes.

The researcher sets K (`Survey.subset_size`) or a target length in minutes (`subset_minutes`,
from which K follows through the length estimate in surveys/length.py), and optionally a core
set of outcomes everyone rates. Publishing freezes the design into the version's content as
``{"k", "core", "seed", "minutes"}``; a version without that key asks every outcome.

Each new respondent is assigned by the counter-driven allocation of analysis/core/designs.py
over the non-core outcomes, from counts kept in one row per version (`DesignCounter`). The row
is locked for the assignment, so respondents arriving together are assigned one after another
and the counts stay within one of each other; the lock lasts until the respondent's row is
stored (the request's transaction), which on PostgreSQL is a few milliseconds. The subset is
stored with the response: the outcomes left out are marked "not shown by design" in its ratings
(surveys/ratings.py) and its pages list only the rest, so a resumed respondent sees the same
subset, in the same order.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from django.db import IntegrityError, transaction

from analysis.core.designs import next_subset
from surveys.length import outcomes_for_minutes
from surveys.models import DesignCounter, Survey, SurveyVersion


def planned_k(survey: Survey, content: Mapping) -> int | None:
    """The K a survey's settings ask for (None: the design is off)."""
    if survey.subset_size:
        return survey.subset_size
    if survey.subset_minutes:
        return outcomes_for_minutes(content, survey.subset_minutes)
    return None


def frozen_design(survey: Survey, content: Mapping) -> dict | None:
    """The design published with `content`, or None when everyone rates every outcome (off,
    or K not below the number of outcomes). K is at least one more than the core set."""
    k = planned_k(survey, content)
    codes = list(content["outcome_codes"])
    if k is None:
        return None
    wanted = set(survey.core_outcomes or [])
    core = [code for code in codes if code in wanted]
    k = max(k, len(core) + 1)
    if k >= len(codes):
        return None
    return {"k": k, "core": core, "seed": survey.design_seed, "minutes": survey.subset_minutes}


def rotating_codes(content: Mapping) -> list[str]:
    """The outcomes the design shares out: all but the core, in the version's order."""
    core = set(content["design"]["core"])
    return [code for code in content["outcome_codes"] if code not in core]


def assign_subset(version: SurveyVersion) -> frozenset[str] | None:
    """The outcomes the next respondent of `version` rates (None: all of them). Call it in the
    transaction that stores their response, so a response not stored returns its draw."""
    design = version.content.get("design")
    if not design:
        return None
    rotating = rotating_codes(version.content)
    with transaction.atomic():
        counter = _locked_counter(version, len(rotating))
        counts = np.asarray(counter.counts, dtype=np.int64)
        chosen = next_subset(
            counts, design["k"] - len(design["core"]), design["seed"], counter.assigned
        )
        counts[chosen] += 1
        counter.counts = counts.tolist()
        counter.assigned += 1
        counter.save(update_fields=["counts", "assigned"])
    return frozenset(design["core"]) | {rotating[i] for i in chosen}


def typical_subset(content: Mapping) -> frozenset[str] | None:
    """K outcomes spread over the steps in proportion to their non-core outcomes (largest
    remainders), core ones included: the welcome page counts its pages with these before the
    respondent is assigned (None: no design, every outcome)."""
    design = content.get("design")
    if not design:
        return None
    core = set(design["core"])
    steps = [[o["code"] for o in s["outcomes"] if o["code"] not in core] for s in content["steps"]]
    total = sum(len(codes) for codes in steps)
    quota = design["k"] - len(core)
    exact = [quota * len(codes) / total for codes in steps]
    shares = [int(x) for x in exact]
    by_remainder = sorted(range(len(steps)), key=lambda i: exact[i] - shares[i], reverse=True)
    for i in by_remainder[: quota - sum(shares)]:
        shares[i] += 1
    return frozenset(core).union(*(codes[:n] for codes, n in zip(steps, shares, strict=True)))


def _locked_counter(version: SurveyVersion, width: int) -> DesignCounter:
    try:
        return DesignCounter.objects.select_for_update().get(version=version)
    except DesignCounter.DoesNotExist:
        try:
            with transaction.atomic():
                DesignCounter.objects.create(version=version, counts=[0] * width)
        except IntegrityError:
            pass  # the version's first respondents arrived together: another one created it
        return DesignCounter.objects.select_for_update().get(version=version)


def shown_counts(version: SurveyVersion) -> dict[str, int]:
    """How often each rotating outcome of `version` has been shown so far (empty: no design)."""
    counter = DesignCounter.objects.filter(version=version).first()
    if counter is None or not version.content.get("design"):
        return {}
    return dict(zip(rotating_codes(version.content), counter.counts, strict=True))
