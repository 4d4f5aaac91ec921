"""How alike two outcome statements read: the near-duplicate rule of the statement check.

`similarity` is :class:`difflib.SequenceMatcher`'s ratio of the two *normalised* texts:
lower-cased, every run of characters other than letters and digits replaced by one space,
trimmed. The pair is put in a fixed order first so the measure is symmetric. A
character-level ratio catches reworded near-copies (``has not started`` vs ``has not yet
started``) that a token-set measure would also catch, but it additionally weighs word order
and partial words. Because statements share boilerplate (``minimize the time it takes to``),
the threshold is deliberately high (0.85): distinct outcomes with the same metric stay below
it, re-wordings of one outcome land above it. Short statements that differ in a single noun
(``set up accounts`` vs ``set up permissions``) can reach it too; that is intended, since
they are usually one need split too finely, and the finding is only a warning. Texts with no
letters or digits are never near-duplicates.

Pure standard-library module, like jtbd/statements.py.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

NEAR_DUPLICATE_THRESHOLD: float = 0.85


_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def normalise(text: str) -> str:
    return _NON_ALNUM.sub(" ", text.lower()).strip()


def similarity(a: str, b: str) -> float:
    """How alike two statements read, from 0.0 (nothing shared) to 1.0 (same words).

    difflib ratio of the normalised texts; see the module docstring.
    """
    first, second = sorted((normalise(a), normalise(b)))
    if not first and not second:
        return 1.0
    return difflib.SequenceMatcher(None, first, second, autojunk=False).ratio()


def near_score(first: str, second: str) -> float | None:
    """`similarity` of two normalised texts when it can reach the threshold, else None.

    difflib's real_quick_ratio and quick_ratio are upper bounds of ratio and cost far less, so
    most pairs are ruled out without the full comparison (a job map with 150 outcomes compares
    11,000 pairs on every view)."""
    if not first or not second:
        return None
    first, second = sorted((first, second))
    matcher = difflib.SequenceMatcher(None, first, second, autojunk=False)
    if matcher.real_quick_ratio() < NEAR_DUPLICATE_THRESHOLD:
        return None
    if matcher.quick_ratio() < NEAR_DUPLICATE_THRESHOLD:
        return None
    score = matcher.ratio()
    return score if score >= NEAR_DUPLICATE_THRESHOLD else None


def near_duplicates(items: Iterable[tuple[str, str]]) -> dict[str, list[tuple[str, float]]]:
    """Every near-duplicate pair among (code, statement) items, each pair compared once."""
    normalised = [(code, normalise(text)) for code, text in items]
    found: dict[str, list[tuple[str, float]]] = {code: [] for code, _ in normalised}
    for i, (code_a, text_a) in enumerate(normalised):
        for code_b, text_b in normalised[i + 1 :]:
            score = near_score(text_a, text_b)
            if score is not None:
                found[code_a].append((code_b, score))
                found[code_b].append((code_a, score))
    return found
