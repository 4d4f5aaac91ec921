"""Small helpers shared by the core modules: input checks, row selection, random generators."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

_Item = TypeVar("_Item", bound=np.generic)
Rows = NDArray[np.bool_] | NDArray[np.integer] | None
Seed = int | np.random.Generator

__all__ = ["Rows", "Seed", "as_ratings", "as_rng", "quantiles", "rating_pair", "select_rows"]


def as_rng(seed: Seed) -> np.random.Generator:
    """Return ``seed`` if it is a Generator, else ``np.random.default_rng(seed)``."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def as_ratings(matrix: ArrayLike, name: str = "ratings") -> NDArray[np.uint8]:
    """Check a ``(n_respondents, n_outcomes)`` rating matrix (0 = unanswered, 1–5) → uint8.

    uint8 input is returned without a copy. Anything outside 0–5 raises ``ValueError``.
    """
    arr = np.asarray(matrix)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_respondents, n_outcomes), got shape {arr.shape}")
    if arr.dtype == np.uint8:
        if arr.size and arr.max() > 5:
            raise ValueError(f"{name} has values above 5")
        return arr
    if arr.size:
        if np.issubdtype(arr.dtype, np.floating) and not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} has non-finite values; use 0 for unanswered")
        if arr.min() < 0 or arr.max() > 5 or np.any(arr != np.round(arr)):
            raise ValueError(f"{name} must hold whole numbers 0–5 (0 = unanswered)")
    return arr.astype(np.uint8)


def rating_pair(
    importance: ArrayLike, satisfaction: ArrayLike
) -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
    """Check both matrices and that their shapes match."""
    imp = as_ratings(importance, "importance")
    sat = as_ratings(satisfaction, "satisfaction")
    if imp.shape != sat.shape:
        raise ValueError(f"importance {imp.shape} and satisfaction {sat.shape} differ in shape")
    return imp, sat


def select_rows(matrix: NDArray[_Item], rows: Rows) -> NDArray[_Item]:
    """``matrix[rows]`` for a boolean mask ``(n,)``, an integer index array, or ``None`` (all)."""
    if rows is None:
        return matrix
    idx = np.asarray(rows)
    if idx.dtype == np.bool_:
        if idx.shape != (matrix.shape[0],):
            raise ValueError(f"row mask has shape {idx.shape}, expected ({matrix.shape[0]},)")
    elif not np.issubdtype(idx.dtype, np.integer):
        raise ValueError("rows must be a boolean mask or an integer index array")
    selected: NDArray[_Item] = matrix[idx]
    return selected


def quantiles(reps: NDArray[np.floating], q: Sequence[float]) -> NDArray[np.float64]:
    """``nanquantile`` over axis 0 without the all-NaN warning (all-NaN columns give NaN)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanquantile(np.asarray(reps, dtype=np.float64), q, axis=0)
