"""Query-string filters for API lists: a malformed value matches nothing instead of failing.

Values reach the database only once they are known to be valid, so an id too large for a
bigint or a NUL character never turns into a server error.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from django.db.models import QuerySet

# The queryset's own class is kept (a custom QuerySet's methods stay available).
_QS = TypeVar("_QS", bound=QuerySet[Any])

MAX_ID_DIGITS = 18  # below 2**63, the largest bigint


def valid_id(value: str | None) -> int | None:
    """The id written in `value`, or None. ASCII digits only: "²" and "٣" pass `isdigit` but
    `int` refuses the first, and neither is an id anyone typed."""
    if value is None or not (value.isascii() and value.isdecimal()) or len(value) > MAX_ID_DIGITS:
        return None
    return int(value)


def filter_by_id(qs: _QS, params, name: str, field: str | None = None) -> _QS:
    raw = params.get(name)
    if raw is None:
        return qs
    value = valid_id(raw)
    return qs.none() if value is None else qs.filter(**{field or f"{name}_id": value})


def filter_by_choice(qs: _QS, params, name: str, choices: Iterable[str]) -> _QS:
    raw = params.get(name)
    if not raw:
        return qs
    return qs.filter(**{name: raw}) if raw in set(choices) else qs.none()
