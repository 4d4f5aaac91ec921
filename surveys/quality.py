"""Quality flags of completed responses: speeders, straight-liners, failed attention checks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

SPEEDER_FRACTION = 1 / 3
# Below this standard deviation over all of a response's ratings it is (near) constant.
FLAT_STD = 0.25
# A page is straight-lined only when it had enough ratings for that to mean something.
MIN_RATINGS_ON_PAGE = 4
RATINGS = frozenset(range(1, 6))
MIN_COMPLETES_FOR_SPEED = 5


def straight_lined(
    importance: Sequence[int], satisfaction: Sequence[int], pages: Sequence[Sequence[int]]
) -> bool:
    """True when every rating on some page is the same answer, or all ratings barely vary
    (population standard deviation under FLAT_STD).

    `importance`/`satisfaction`: one response's ratings, 1–5 and other values for no rating
    (any sequence of ints: lists, or the packed bytes); `pages`: the column indices of each
    outcome page. Plain Python, not numpy: it runs for one response at a time, on every
    completion, where a hundred values cost numpy more in calls than in arithmetic."""
    for columns in pages:
        answers = {importance[c] for c in columns} | {satisfaction[c] for c in columns}
        answers &= RATINGS  # unanswered and "not applicable" are no answer here
        if len(answers) == 1:  # one answer throughout, or unanswered: count the answered
            answered = sum(
                1 for c in columns for v in (importance[c], satisfaction[c]) if v in RATINGS
            )
            if answered >= MIN_RATINGS_ON_PAGE:
                return True
    # Each value is 1–5: five counts give the mean and variance of all answered ratings.
    counts = [importance.count(v) + satisfaction.count(v) for v in range(1, 6)]
    n = sum(counts)
    if n < MIN_RATINGS_ON_PAGE:
        return False
    mean = sum(v * c for v, c in enumerate(counts, 1)) / n
    variance = sum(v * v * c for v, c in enumerate(counts, 1)) / n - mean * mean
    return variance < FLAT_STD**2


def speeders(durations: Mapping[int, float]) -> set[int]:
    """Ids whose duration is under a third of the median of all given durations."""
    if len(durations) < MIN_COMPLETES_FOR_SPEED:
        return set()
    median = float(np.median(list(durations.values())))
    return {rid for rid, seconds in durations.items() if seconds < median * SPEEDER_FRACTION}
