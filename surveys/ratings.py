"""How a response's ratings are stored: one packed byte string per response.

Layout of `Response.ratings` for a version with k outcomes (in the version's outcome order):
bytes 0..k-1 are the importance ratings, bytes k..2k-1 the satisfaction ratings, each 1–5; 0 for
shown but unanswered, 6 for "not applicable / can't say" and 7 for an outcome the respondent's
planned subset left out (not shown by design). The analysis matrix holds 0 for all three.

One row per response loads a 100,000 × 100 matrix about 20× faster than one row per rating
(measured on PostgreSQL: 0.5 s against 12 s), so nothing else may depend on this layout:
callers use `encode`, `decode` and `load_matrix`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from surveys.models import Response, Survey

MISSING = 0
NOT_APPLICABLE = 6
NOT_SHOWN = 7

# How files other tools read write the two missing codes (blank is "shown, not answered"): the
# wide response CSV, its import and the SPSS export, where they are user-missing values.
FILE_CODES = {NOT_APPLICABLE: 98, NOT_SHOWN: 99}
FILE_CODE_LABELS = {98: "Not applicable / can't say", 99: "Not shown by design"}
_UNANSWERED = (None, None)


def encode(importance: Sequence[int | None], satisfaction: Sequence[int | None]) -> bytes:
    """Pack two equally long rating sequences (1–5, None for unanswered) into bytes."""
    if len(importance) != len(satisfaction):
        raise ValueError("importance and satisfaction must have the same length")
    values = [MISSING if v is None else int(v) for v in (*importance, *satisfaction)]
    if values and (min(values) < MISSING or max(values) > NOT_SHOWN):
        raise ValueError("ratings must be 1–5, a missing code (6, 7) or None")
    return bytes(values)


def encode_answers(
    codes: Sequence[str], answers: Mapping[str, tuple[int | None, int | None]]
) -> bytes:
    """Pack answers keyed by outcome code into the order of `codes` (missing codes: unanswered)."""
    pairs = [answers.get(code, _UNANSWERED) for code in codes]
    return encode([imp for imp, _ in pairs], [sat for _, sat in pairs])


def encode_arrays(importance: np.ndarray, satisfaction: np.ndarray) -> list[bytes]:
    """Pack many responses at once: uint8 arrays of shape (n, k), 0 = unanswered."""
    packed = np.ascontiguousarray(np.hstack([importance, satisfaction]).astype(np.uint8))
    return [row.tobytes() for row in packed]


def decode(blob: bytes, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Unpack one response into (importance, satisfaction) uint8 arrays of length k."""
    data = np.frombuffer(bytes(blob), dtype=np.uint8)
    if data.size != 2 * k:
        raise ValueError(f"expected {2 * k} bytes for {k} outcomes, got {data.size}")
    return data[:k], data[k:]


def unpack(blob: bytes, k: int) -> tuple[bytes, bytes]:
    """Like `decode`, as two byte strings whose items are ints: cheaper than arrays for one
    response read value by value."""
    data = bytes(blob)
    if len(data) != 2 * k:
        raise ValueError(f"expected {2 * k} bytes for {k} outcomes, got {len(data)}")
    return data[:k], data[k:]


def decode_answers(blob: bytes, codes: Sequence[str]) -> dict[str, tuple[int | None, int | None]]:
    imp, sat = decode(blob, len(codes))
    return {
        code: (int(i) or None, int(s) or None) for code, i, s in zip(codes, imp, sat, strict=True)
    }


@dataclass(frozen=True)
class RatingMatrix:
    """A survey's respondent × outcome matrix, joined across versions by outcome code.

    `importance` and `satisfaction` are uint8 arrays of shape (n_respondents, n_outcomes),
    values 1–5 and 0 for no rating (unanswered, not applicable, not shown by design, or not
    asked by a respondent's version); assembled with `codes_kept`, 6 and 7 stay as stored.
    """

    response_ids: np.ndarray
    respondent_ids: list[str]
    codes: list[str]
    importance: np.ndarray
    satisfaction: np.ndarray


@dataclass(frozen=True)
class VersionBlock:
    """One version's responses as read: `ratings` is uint8 of shape (n, 2k), each row one
    response's packed ratings (importance then satisfaction, in the order of `codes`)."""

    codes: Sequence[str]
    response_ids: np.ndarray  # int64, (n,)
    respondent_ids: list[str]
    ratings: np.ndarray

    @classmethod
    def of_blobs(
        cls,
        codes: Sequence[str],
        response_ids: Sequence[int],
        respondent_ids: Sequence[str],
        blobs: Sequence[bytes],
    ) -> VersionBlock:
        data = np.frombuffer(b"".join(bytes(b) for b in blobs), dtype=np.uint8)
        return cls(
            codes=codes,
            response_ids=np.asarray(response_ids, dtype=np.int64),
            respondent_ids=list(respondent_ids),
            ratings=data.reshape(len(blobs), 2 * len(codes)),
        )


def assemble(
    codes: Sequence[str],
    groups: Iterable[tuple[Sequence[str], Sequence[int], Sequence[str], Sequence[bytes]]],
    *,
    codes_kept: bool = False,
) -> RatingMatrix:
    """Build the matrix from per-version groups of (version codes, response ids, respondent ids,
    packed blobs). Columns follow `codes`; a version's codes missing from `codes` are dropped.
    The missing codes 6 and 7 become 0 unless `codes_kept` (exports tell them apart)."""
    blocks = [VersionBlock.of_blobs(*group) for group in groups if group[3]]
    return join_blocks(codes, blocks, codes_kept=codes_kept)


def join_blocks(
    codes: Sequence[str], blocks: Sequence[VersionBlock], *, codes_kept: bool = False
) -> RatingMatrix:
    """`assemble`, from versions already read into blocks: rows in the order of `blocks`."""
    index = {code: j for j, code in enumerate(codes)}
    n = sum(len(block.response_ids) for block in blocks)
    # Filled in place, block by block: stacking per-version matrices held every rating twice.
    imp = np.zeros((n, len(codes)), dtype=np.uint8)
    sat = np.zeros_like(imp)
    start = 0
    for block in blocks:
        k = len(block.codes)
        src = [i for i, code in enumerate(block.codes) if code in index]
        dst = _columns([index[block.codes[i]] for i in src])
        rows = slice(start, start + len(block.response_ids))
        imp[rows, dst] = block.ratings[:, :k][:, _columns(src)]
        sat[rows, dst] = block.ratings[:, k:][:, _columns(src)]
        start = rows.stop
    if not codes_kept:
        for part in (imp, sat):
            # 6 and 7 to 0 by multiplying with the mask, in place: branch-free, it takes under a
            # tenth of `np.where`'s time on a planned subset's ratings, two-thirds of them 7
            # (K = 50 of 150), and no second copy.
            np.multiply(part, part <= 5, out=part)
    return RatingMatrix(
        response_ids=(
            np.concatenate([block.response_ids for block in blocks])
            if blocks
            else np.zeros(0, dtype=np.int64)
        ),
        respondent_ids=[rid for block in blocks for rid in block.respondent_ids],
        codes=list(codes),
        importance=imp,
        satisfaction=sat,
    )


def _columns(positions: list[int]) -> slice | list[int]:
    """Consecutive ascending positions as a slice: copying whole rows of a slice is about 20×
    faster than picking columns by a list, and a version's columns usually are in order."""
    if positions and positions == list(range(positions[0], positions[0] + len(positions))):
        return slice(positions[0], positions[0] + len(positions))
    return positions


def load_matrix(
    survey: Survey,
    *,
    codes: Sequence[str] | None = None,
    responses: QuerySet[Response] | None = None,
    path: Literal["fast", "reference"] = "fast",
) -> RatingMatrix:
    """Load a survey's completed responses as one matrix, versions joined by outcome code.

    `responses` narrows the rows (default: the responses analysis uses, see
    `ResponseQuerySet.analysable`); `codes` fixes the columns (default: the current version's
    codes followed by any older version's codes no longer asked).

    Rows come version by version (in version order), by response id within a version. On
    PostgreSQL the fast path reads them (surveys/matrix_sql.py: one statement, binary
    results); elsewhere, and with `path="reference"`, the plain path below does, one ORM query
    per version. tests/surveys/test_load_matrix_paths.py holds the two equal."""
    from surveys.matrix_sql import available, read_blocks
    from surveys.models import Response

    qs = responses if responses is not None else Response.objects.filter(survey=survey).analysable()
    versions = {v.pk: v.outcome_codes for v in survey.versions.all()}
    if codes is None:
        ordered: list[str] = (
            list(survey.current_version.outcome_codes) if survey.current_version else []
        )
        for version_codes in versions.values():
            ordered += [c for c in version_codes if c not in ordered]
        codes = ordered
    if path == "fast" and available(qs.db):
        return join_blocks(codes, read_blocks(qs, versions))
    groups = []
    for version_id, version_codes in versions.items():
        rows = list(
            qs.filter(version_id=version_id)
            .order_by("id")
            .values_list("id", "respondent_id", "ratings")
        )
        if rows:
            ids, rids, blobs = zip(*rows, strict=True)
            groups.append((version_codes, ids, rids, blobs))
    return assemble(codes, groups)
