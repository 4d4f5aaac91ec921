"""A JSON parser that answers 400 for every malformed body, not only for syntax errors."""

from __future__ import annotations

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from config import inputs


class SafeJSONParser(JSONParser):
    """DRF's JSON parser reading through `config.inputs.loads`: invalid text, NaN, nesting deeper
    than inputs.MAX_JSON_DEPTH, NUL characters and lone surrogates are a 400 naming the place,
    where DRF's own parser lets some through to the database or fails with a RecursionError."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return inputs.loads(stream.read(), encoding=encoding)
        except inputs.BadInput as exc:
            # DRF's own wording for a body that is not JSON, so clients see one style.
            prefix = "JSON parse error - " if exc.what.startswith("is not valid") else ""
            raise ParseError(f"{prefix}{exc.message}") from None
