"""Quality flags of completed responses: speeders, straight-liners, failed attention checks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

SPEEDER_FRACTION = 1 / 3
# Below this standard deviation over all of a response's ratings it is (near) constant.
FLAT_STD = 0.25
# A page is straight-lined only when it had enough ratings for that to mean something.
MIN_RATINGS_ON_PAGE = 4
MIN_COMPLETES_FOR_SPEED = 5


def straight_lined(
    importance: np.ndarray, satisfaction: np.ndarray, pages: Sequence[Sequence[int]]
) -> bool:
    """True when every rating on some page is the same answer, or all ratings barely vary.

    `importance`/`satisfaction`: uint8 arrays of one response (0 = unanswered); `pages`: the
    column indices of each outcome page."""
    for columns in pages:
        values = np.concatenate([importance[list(columns)], satisfaction[list(columns)]])
        values = values[values > 0]
        if values.size >= MIN_RATINGS_ON_PAGE and np.all(values == values[0]):
            return True
    values = np.concatenate([importance, satisfaction])
    values = values[values > 0]
    return values.size >= MIN_RATINGS_ON_PAGE and float(values.std()) < FLAT_STD


def speeders(durations: Mapping[int, float]) -> set[int]:
    """Ids whose duration is under a third of the median of all given durations."""
    if len(durations) < MIN_COMPLETES_FOR_SPEED:
        return set()
    median = float(np.median(list(durations.values())))
    return {rid for rid, seconds in durations.items() if seconds < median * SPEEDER_FRACTION}
