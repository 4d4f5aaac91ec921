"""Numbers as stored and shown outside the core: finite floats, or None where undefined."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["finite_or_none"]


def finite_or_none(x: Any) -> float | None:
    """``float(x)`` when it is finite; None for None, NaN and ±inf (NULL in the database, null
    in JSON, an empty cell in a CSV). Accepts Python and numpy scalars."""
    if x is None:
        return None
    value = float(x)
    return value if math.isfinite(value) else None
