"""Profiles of segments: size, own ranking, distinctive unmet outcomes, answers, a name.

For each segment s (labels from :mod:`analysis.core.segments`):

* ``size`` and ``share`` of respondents;
* ``scores``: the usual top-two-box scores on the segment's rows, and ``ranking`` by opportunity;
* distinctive outcomes: per outcome the **unmet share** = share of respondents who answered both
  questions and rated importance 4–5 and satisfaction 1–3. Segment vs everyone else is tested
  with the pooled two-proportion z-test, z = (p₁ − p₂) / √(p̂(1 − p̂)(1/n₁ + 1/n₂)), two-sided
  p from the normal distribution, then Benjamini–Hochberg q-values over the outcomes.
  ``distinctive`` lists outcomes with q < alpha and p₁ > p₂, largest difference first;
* ``name``: "Unmet: …" from the statements of its top distinctive outcomes
  (:func:`segment_name`), falling back to its top opportunities.

Categorical questions (profile answers such as role or company size) are compared across
segments with Pearson's chi-square test on the segment × answer table and Cramér's
V = √(χ² / (N · (min(rows, columns) − 1))), with BH q-values over the questions, sorted by V.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from analysis.core._util import rating_pair
from analysis.core.bootstrap import small_group_warning
from analysis.core.compare import benjamini_hochberg
from analysis.core.scoring import Scores, score
from jtbd.statement_words import DIRECTIONS, METRICS

__all__ = [
    "CategoricalDifference",
    "SegmentProfile",
    "SegmentProfiles",
    "categorical_differences",
    "profile_segments",
    "segment_name",
    "shorten_statement",
    "two_proportion_test",
    "unmet_counts",
]

# The catalogue's own direction words and metric phrases (a standard-library module, no
# Django); longest metric first so the longest match wins.
_DIRECTIONS = sorted(DIRECTIONS)
_METRICS = sorted(METRICS, key=len, reverse=True)
_LEAD = re.compile(
    r"^\s*(?:(?:"
    + "|".join(_DIRECTIONS)
    + r")\s+)?(?:(?:"
    + "|".join(re.escape(m) for m in _METRICS)
    + r")\s+)?",
    re.IGNORECASE,
)
_CLARIFIER = re.compile(
    r",|\s\((?:e\.g\.|eg|i\.e\.)|\s(?:e\.g\.|for example|for instance|such as)\s", re.IGNORECASE
)


@dataclass(frozen=True)
class SegmentProfile:
    """One segment. Per-outcome arrays have shape ``(n_outcomes,)``."""

    segment: int
    size: int
    share: float
    small_group: bool
    scores: Scores
    ranking: NDArray[np.int64]
    unmet_share: NDArray[np.float64]
    unmet_share_rest: NDArray[np.float64]
    unmet_difference: NDArray[np.float64]
    p_value: NDArray[np.float64]
    q_value: NDArray[np.float64]
    distinctive: NDArray[np.int64]
    name: str


@dataclass(frozen=True)
class CategoricalDifference:
    """Chi-square test of one categorical question across segments.

    ``table``: ``(k, len(codes))`` counts of answers per segment (missing answers excluded).
    """

    question: str
    codes: tuple[object, ...]
    table: NDArray[np.int64]
    chi2: float
    dof: int
    p_value: float
    q_value: float
    cramers_v: float


@dataclass(frozen=True)
class SegmentProfiles:
    segments: tuple[SegmentProfile, ...]
    categorical: tuple[CategoricalDifference, ...]


def unmet_counts(
    importance: ArrayLike, satisfaction: ArrayLike
) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """``(unmet, answered_both)``, both ``(n, m)`` bool: unmet = importance ≥ 4 and
    satisfaction in 1–3; answered_both = both answered."""
    imp, sat = rating_pair(importance, satisfaction)
    both = (imp > 0) & (sat > 0)
    return both & (imp >= 4) & (sat <= 3), both


def two_proportion_test(
    x1: ArrayLike, n1: ArrayLike, x2: ArrayLike, n2: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Pooled two-proportion z-test, elementwise: returns (p₁ − p₂, two-sided p-value).

    NaN where either group has no observations; p = 1 when the pooled share is 0 or 1.
    """
    x1, n1, x2, n2 = (np.asarray(a, dtype=np.float64) for a in (x1, n1, x2, n2))
    with np.errstate(invalid="ignore", divide="ignore"):
        p1 = x1 / n1
        p2 = x2 / n2
        pooled = (x1 + x2) / (n1 + n2)
        se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        z = (p1 - p2) / se
        p = np.where(se > 0, 2 * stats.norm.sf(np.abs(z)), 1.0)
    bad = (n1 <= 0) | (n2 <= 0)
    return np.where(bad, np.nan, p1 - p2), np.where(bad, np.nan, p)


def shorten_statement(statement: str) -> str:
    """Drop the direction and metric (and any clarifier after a comma or "e.g.").

    "Minimize the time it takes to find who on the team has not started using the tool"
    → "find who on the team has not started using the tool".
    """
    text = _LEAD.sub("", statement.strip(), count=1)
    text = _CLARIFIER.split(text, maxsplit=1)[0]
    return text.strip().rstrip(".;:") or statement.strip()


def _clip_words(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 1)].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]
    return cut.rstrip(" ,;:") + "…"


def segment_name(top_statements: Sequence[str], max_length: int = 100) -> str:
    """A short name "Unmet: a; b" from a segment's top unmet outcome statements.

    Statements are shortened with :func:`shorten_statement`; as many as fit are kept (at least
    one, clipped at a word boundary with "…"), so the result is at most ``max_length``
    characters. An empty list gives "No distinctive unmet outcomes".
    """
    parts = [shorten_statement(s) for s in top_statements if s and s.strip()]
    if not parts:
        return "No distinctive unmet outcomes"
    prefix = "Unmet: "
    room = max_length - len(prefix)
    # Two outcomes, each with room to stay readable, say more than three clipped to a few words.
    chosen: list[str] = []
    per = max(room // min(len(parts), 2) - 2, 12)
    for part in parts[:2]:
        piece = _clip_words(part, per)
        candidate = "; ".join([*chosen, piece])
        if len(candidate) > room:
            break
        chosen.append(piece)
    if not chosen:
        chosen = [_clip_words(parts[0], room)]
    return prefix + "; ".join(chosen)


def _codes(values: ArrayLike) -> tuple[NDArray[np.intp], tuple[object, ...], NDArray[np.bool_]]:
    arr = np.asarray(values, dtype=object)
    missing = np.array(
        [v is None or v == "" or (isinstance(v, float) and np.isnan(v)) for v in arr], dtype=bool
    )
    present = arr[~missing]
    codes, inverse = np.unique(present.astype(str), return_inverse=True)
    # Keep the original objects as the code labels (first occurrence of each string form).
    labels: dict[str, object] = {}
    for v in present:
        labels.setdefault(str(v), v)
    full = np.full(arr.shape, -1, dtype=np.intp)
    full[~missing] = inverse
    return full, tuple(labels[c] for c in codes), missing


def categorical_differences(
    labels: ArrayLike, questions: Sequence[tuple[str, ArrayLike]]
) -> tuple[CategoricalDifference, ...]:
    """Chi-square test and Cramér's V of each question's answers across segments.

    ``labels``: ``(n,)`` segment per respondent. ``questions``: (key, answers) pairs, answers of
    shape ``(n,)`` (any hashable codes; None, "" and NaN = missing). Sorted by V, largest first.
    Questions with fewer than 2 segments or 2 answer codes present get NaN statistics.
    """
    lab = np.asarray(labels)
    segs = np.unique(lab)
    results: list[tuple[str, tuple[object, ...], NDArray[np.int64], float, int, float, float]] = []
    for key, answers in questions:
        codes, names, missing = _codes(answers)
        if codes.shape != lab.shape:
            raise ValueError(f"answers to {key!r} have shape {codes.shape}, expected {lab.shape}")
        table = np.zeros((segs.size, len(names)), dtype=np.int64)
        for r, s in enumerate(segs):
            sel = (lab == s) & ~missing
            table[r] = np.bincount(codes[sel], minlength=len(names))
        sub = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
        if sub.shape[0] < 2 or sub.shape[1] < 2:
            results.append((key, names, table, np.nan, 0, np.nan, np.nan))
            continue
        chi2, p, dof, _ = stats.chi2_contingency(sub, correction=False)
        v = float(np.sqrt(chi2 / (sub.sum() * (min(sub.shape) - 1))))
        results.append((key, names, table, float(chi2), int(dof), float(p), v))
    q = benjamini_hochberg(np.array([r[5] for r in results], dtype=np.float64))
    out = [
        CategoricalDifference(
            question=k, codes=c, table=t, chi2=x, dof=d, p_value=p, q_value=float(qq), cramers_v=v
        )
        for (k, c, t, x, d, p, v), qq in zip(results, q, strict=True)
    ]
    out.sort(key=lambda r: -np.nan_to_num(r.cramers_v, nan=-1.0))
    return tuple(out)


def profile_segments(
    importance: ArrayLike,
    satisfaction: ArrayLike,
    labels: ArrayLike,
    *,
    statements: Sequence[str] | None = None,
    questions: Sequence[tuple[str, ArrayLike]] = (),
    top_n: int = 3,
    alpha: float = 0.05,
    small_group_threshold: int = 100,
) -> SegmentProfiles:
    """Profile every segment in ``labels`` (``(n,)`` ints) against the rest of the sample.

    ``statements``: one outcome statement (or code) per column, used for names; defaults to
    ``"outcome {j}"``. ``questions``: categorical answers, see :func:`categorical_differences`.
    """
    imp, sat = rating_pair(importance, satisfaction)
    lab = np.asarray(labels)
    n, m = imp.shape
    if lab.shape != (n,):
        raise ValueError(f"labels have shape {lab.shape}, expected ({n},)")
    texts = list(statements) if statements is not None else [f"outcome {j}" for j in range(m)]
    if len(texts) != m:
        raise ValueError(f"{len(texts)} statements for {m} outcomes")
    unmet, both = unmet_counts(imp, sat)
    unmet_all = unmet.sum(axis=0)
    both_all = both.sum(axis=0)
    profiles = []
    for s in np.unique(lab):
        mask = lab == s
        sc = score(imp, sat, mask)
        x1, n1 = unmet[mask].sum(axis=0), both[mask].sum(axis=0)
        x2, n2 = unmet_all - x1, both_all - n1
        diff, p = two_proportion_test(x1, n1, x2, n2)
        q = benjamini_hochberg(p)
        with np.errstate(invalid="ignore", divide="ignore"):
            share1 = np.where(n1 > 0, x1 / np.maximum(n1, 1), np.nan)
            share2 = np.where(n2 > 0, x2 / np.maximum(n2, 1), np.nan)
        hit = np.flatnonzero((np.nan_to_num(q, nan=1.0) < alpha) & (np.nan_to_num(diff) > 0))
        distinctive = hit[np.argsort(-diff[hit], kind="stable")].astype(np.int64)
        ranking = sc.ranking()
        top = distinctive[:top_n] if distinctive.size else ranking[:top_n]
        size = int(mask.sum())
        profiles.append(
            SegmentProfile(
                segment=int(s),
                size=size,
                share=size / n if n else float("nan"),
                small_group=bool(small_group_warning(size, small_group_threshold)),
                scores=sc,
                ranking=ranking,
                unmet_share=share1,
                unmet_share_rest=share2,
                unmet_difference=diff,
                p_value=p,
                q_value=q,
                distinctive=distinctive,
                name=segment_name([texts[j] for j in top]),
            )
        )
    return SegmentProfiles(
        segments=tuple(profiles),
        categorical=categorical_differences(lab, questions) if questions else (),
    )
