"""A JSON parser that answers 400 for every malformed body, not only for syntax errors."""

from __future__ import annotations

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


class SafeJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except (RecursionError, ValueError) as exc:
            # Deep nesting and integers too long to convert escape DRF's own handling.
            raise ParseError(f"JSON parse error - {type(exc).__name__}") from None
        try:
            nul = _has_nul(data)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply") from None
        if nul:
            # PostgreSQL cannot store NUL in text; refuse it here with a clear message.
            raise ParseError("Text may not contain NUL (\\u0000) characters.")
        return data
