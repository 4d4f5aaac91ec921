"""Planned subsets in the field: each respondent rates K of a survey's N outcomes.

The researcher sets K (`Survey.subset_size`) or a target length in minutes (`subset_minutes`,
from which K follows through the length estimate in surveys/length.py), and optionally a core
set of outcomes everyone rates. Publishing freezes the design into the version's content as
``{"k", "core", "seed", "minutes"}``; a version without that key asks every outcome.

Each new respondent is assigned by the counter-driven allocation of analysis/core/designs.py
over the non-core outcomes, from counts by outcome code kept in one row per survey
(`DesignCounter`), across its versions: a republished survey (a reworded welcome text, an
outcome added) goes on from the counts so far, so an outcome short of shows catches up and a
new one is shown first until it has caught up. The row is locked for the assignment, so
respondents arriving together are assigned one after another and the counts stay within one of
each other; the lock lasts until the respondent's row is stored (the request's transaction),
which on PostgreSQL is a few milliseconds. What is counted is respondents assigned: one who is
screened out or stops keeps the subset drawn, so completes per outcome are balanced up to those.

The subset is stored with the response: the outcomes left out are marked "not shown by design"
in its ratings (surveys/ratings.py) and its pages list only the rest, so a resumed respondent
sees the same subset, in the same order.
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


def problems(
    *,
    codes: list[str],
    content: Mapping,
    size: int | None,
    minutes: int | None,
    core: list[str],
) -> dict[str, str]:
    """What is wrong with a design for a survey asking `codes`, by settings field (empty: fine).
    The settings page and publishing both ask, so a survey whose outcomes changed after its
    design was set is not published with a design quietly dropped or cut."""
    found: dict[str, str] = {}
    unknown = [c for c in core if c not in set(codes)]
    if unknown:
        shown = ", ".join(c[:40] for c in unknown[:10]) + (" …" if len(unknown) > 10 else "")
        found["core_outcomes"] = f"Not among this survey's outcomes: {shown}."
    if size and minutes:
        found["subset_minutes"] = "Give a number of outcomes or a length in minutes, not both."
    elif size and size >= len(codes):
        found["subset_size"] = (
            f"The survey asks {len(codes)} outcomes: a subset must be smaller. Leave it empty for "
            "everyone to rate every outcome."
        )
    elif size and size <= len(core):
        found["subset_size"] = f"Give more than the {len(core)} core outcomes everyone rates."
    elif minutes and (fits := outcomes_for_minutes({**content, "design": None}, minutes)) <= len(
        core
    ):
        found["subset_minutes"] = (
            f"{minutes} minutes leave room for {fits} outcomes, no more than the {len(core)} "
            "core outcomes: allow more time or fewer core outcomes."
        )
    return found


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
        counter = _locked_counter(version.survey_id)
        counts = np.array([counter.counts.get(code, 0) for code in rotating], dtype=np.int64)
        chosen = next_subset(
            counts, design["k"] - len(design["core"]), design["seed"], counter.assigned
        )
        subset = frozenset(design["core"]) | {rotating[i] for i in chosen}
        for code in subset:
            counter.counts[code] = counter.counts.get(code, 0) + 1
        counter.assigned += 1
        counter.save(update_fields=["counts", "assigned"])
    return subset


TYPICAL_DRAWS = 15


def typical_subset(content: Mapping) -> frozenset[str] | None:
    """A subset with the median number of pages among a few random ones (the same every time,
    from the design's seed): the welcome page counts its pages with it before the respondent is
    assigned (None: no design, every outcome). A random subset often leaves a step out, so
    spreading K evenly over the steps would promise more pages than most respondents see."""
    design = content.get("design")
    if not design:
        return None
    from surveys.flow import build_pages  # flow imports nothing of this module's

    rotating = rotating_codes(content)
    rng = np.random.default_rng([design["seed"], 2**31])  # not a respondent's tie-break
    draws = []
    for _ in range(TYPICAL_DRAWS):
        chosen = rng.choice(len(rotating), size=design["k"] - len(design["core"]), replace=False)
        subset = frozenset(design["core"]) | {rotating[i] for i in chosen}
        draws.append((len(build_pages(content, subset=subset)), sorted(subset), subset))
    draws.sort(key=lambda draw: draw[:2])
    return draws[len(draws) // 2][2]


def _locked_counter(survey_id: int) -> DesignCounter:
    try:
        return DesignCounter.objects.select_for_update().get(survey_id=survey_id)
    except DesignCounter.DoesNotExist:
        try:
            with transaction.atomic():
                DesignCounter.objects.create(survey_id=survey_id)
        except IntegrityError:
            pass  # the survey's first respondents arrived together: another one created it
        return DesignCounter.objects.select_for_update().get(survey_id=survey_id)


def shown_counts(version: SurveyVersion) -> dict[str, int]:
    """How often each rotating outcome of `version` has been shown so far, over every version
    of its survey (empty: no design)."""
    if not version.content.get("design"):
        return {}
    counter = DesignCounter.objects.filter(survey_id=version.survey_id).first()
    counts = counter.counts if counter is not None else {}
    return {code: counts.get(code, 0) for code in rotating_codes(version.content)}
