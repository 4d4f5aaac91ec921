"""Text no view ever sees: refused at the door with a 400 that names what is wrong and where.

Three kinds of input cannot be stored or read as text, and used to fail deep inside a view as a
500: a NUL character (PostgreSQL keeps none in text, while SQLite does, so the same request
passed in development), a lone surrogate (half of a UTF-16 pair, which JSON can spell as
"\\ud800" and no database encodes) and bytes that are not UTF-8. JSON nested thousands of
levels deep overflowed the parser's stack. Each is refused before it reaches a view:

- `RefuseUnreadableInputMiddleware` reads the URL path, the query string, cookies and other
  headers, and form bodies (URL-encoded and multipart fields);
- `loads` is the one strict JSON reading, shared by DRF's parser (config/parsers.py), the public
  submission's quick path and the catalogue's JSON file import.

Nothing is stored when a request is refused: no view has run.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterable
from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

from config.faults import RESPONDENT_PREFIXES

# No request of the API or the pages nests deeper than 5 levels; the limit leaves room and
# keeps far below Python's recursion limit for anything that walks the value later.
MAX_JSON_DEPTH = 64
_SURROGATE = re.compile("[\ud800-\udfff]")


class BadInput(ValueError):
    """Input that is refused: `where` it is ("the query parameter “q”", "the JSON body"), `at`
    which place inside it, if any ("answers.profile.role", "line 2 column 7"), and `what` is
    wrong ("contains a NUL character …")."""

    def __init__(self, where: str, what: str, *, at: str = "") -> None:
        super().__init__(f"{where} {what}")
        self.where, self.what, self.at = where, what, at

    @property
    def message(self) -> str:
        place = f"{self.where} at {self.at}" if self.at else self.where
        return f"{place[0].upper()}{place[1:]} {self.what}."


def text_problem(text: str) -> str | None:
    """What makes `text` impossible to store, or None."""
    if "\x00" in text:
        return "contains a NUL character (U+0000), which text may not contain"
    surrogate = _SURROGATE.search(text)
    if surrogate is not None:
        return (
            f"contains a lone surrogate (U+{ord(surrogate.group()):04X}), half of a UTF-16 pair "
            "and not a character"
        )
    return None


def _decode(raw: bytes, encoding: str, where: str) -> str:
    """`raw` as text, or BadInput if its bytes are not text in `encoding`."""
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        name = _encoding_name(encoding)
        raise BadInput(
            where, f"is not valid {name} (byte 0x{raw[exc.start]:02X} at {exc.start})"
        ) from None
    except LookupError:
        raise BadInput(where, f"is in an unknown character set, {encoding!r}") from None


def _encoding_name(encoding: str) -> str:
    plain = encoding.lower().replace("-", "").replace("_", "")
    return "UTF-8" if plain in ("utf8", "utf8sig") else encoding


def _shown(name: str) -> str:
    """A name as a message can show it: control characters and surrogates escaped."""
    shown = "".join(
        c if c.isprintable() and not _SURROGATE.match(c) else c.encode("unicode_escape").decode()
        for c in name[:80]
    )
    return shown + ("…" if len(name) > 80 else "")


# --- JSON -------------------------------------------------------------------------------------


def loads(raw: bytes | str, *, encoding: str = "utf-8", where: str = "the JSON body") -> object:
    """Parse JSON strictly: the bytes in `encoding`, no NaN or Infinity, at most MAX_JSON_DEPTH
    levels of arrays and objects, no NUL or lone surrogate in any key or string. Raises
    BadInput naming the place ("the JSON body at answers.profile.role")."""
    text = _decode(raw, encoding, where) if isinstance(raw, bytes) else raw
    try:
        data = json.loads(text, parse_constant=_not_a_number)
    except RecursionError:
        raise BadInput(where, _too_deep()) from None
    except json.JSONDecodeError as exc:
        at = f"line {exc.lineno} column {exc.colno}"
        raise BadInput(where, f"is not valid JSON: {exc.msg}", at=at) from None
    except ValueError as exc:  # NaN or Infinity, an integer of thousands of digits
        raise BadInput(where, f"is not valid JSON: {exc}") from None
    # In UTF-8 only an escape (\u0000, \ud800) puts NUL or a lone surrogate into parsed JSON:
    # a raw NUL is a syntax error and UTF-8 cannot encode a surrogate. Other declared charsets
    # can (UTF-7 writes U+D800 as "+2AA-"), so their text is always walked. Nothing can nest
    # deeper than it has arrays and objects. Most bodies need neither walk.
    utf8 = isinstance(raw, bytes) and _encoding_name(encoding) == "UTF-8"
    strings = "\\u" in text or (not utf8 and not text.isascii())
    if strings or (
        text.count("{") + text.count("[") > MAX_JSON_DEPTH and _deeper_than_allowed(data)
    ):
        problem = _json_problem(data, strings=strings)
        if problem is not None:
            path, what = problem
            raise BadInput(where, what, at=path)
    return data


def _not_a_number(constant: str) -> None:
    raise ValueError(f"{constant} is not a JSON number")


def _too_deep() -> str:
    return f"nests arrays and objects more than {MAX_JSON_DEPTH} levels deep"


def _deeper_than_allowed(data: object) -> bool:
    """Whether parsed JSON nests more than MAX_JSON_DEPTH levels: one level at a time, without
    recursion and faster than `_json_problem` (a 100-outcome submission has 100 objects)."""
    level = [data] if type(data) is dict or type(data) is list else []
    for _ in range(MAX_JSON_DEPTH):
        if not level:
            return False
        level = [
            child
            for container in level
            for child in (container.values() if type(container) is dict else container)
            if type(child) is dict or type(child) is list
        ]
    return bool(level)


def _json_problem(data: object, *, strings: bool) -> tuple[str, str] | None:
    """(path, what) of the first thing in parsed JSON that is refused, or None. Walks with a
    stack of its own, so no nesting can exhaust Python's. Keys and strings are looked at only
    when `strings` (the text has an escape that could make them unstorable)."""
    # Each entry: a value, its depth, and how it was reached (parent entry, key) for the path.
    stack: list[tuple[object, int, tuple | None]] = [(data, 0, None)]
    while stack:
        entry = stack.pop()
        value, depth, _ = entry
        if type(value) is dict:
            items: Iterable = value.items()
        elif type(value) is list:
            items = enumerate(value)
        else:
            if strings and type(value) is str and (what := text_problem(value)):
                return _path(entry), what
            continue
        if depth >= MAX_JSON_DEPTH:
            return _path(entry), _too_deep()
        for key, child in items:
            if strings and type(key) is str and (what := text_problem(key)):
                return _path((None, 0, (entry, key))), f"has a key that {what}"
            if strings or type(child) is dict or type(child) is list:
                stack.append((child, depth + 1, (entry, key)))
    return None


def _path(entry: tuple) -> str:
    """`answers.profile.role`, `steps[2].title`: the keys that lead to a stack entry."""
    parts: list[str] = []
    link = entry[2]
    while link is not None:
        parent, key = link
        parts.append(f"[{key}]" if isinstance(key, int) else f".{_shown(key)}")
        link = parent[2]
    parts.reverse()
    shown = "".join(parts[:8]) + ("…" if len(parts) > 8 else "")  # a deep one: where it starts
    return shown.lstrip(".")


# --- URL, headers and form bodies ---------------------------------------------------------------


def check_urlencoded(raw: bytes, encoding: str, kind: str) -> None:
    """Raise BadInput for the first refused name or value of URL-encoded `raw` (a query string
    or a form body); `kind` names its parts ("query parameter")."""
    # Nearly every request: plain ASCII with nothing percent-encoded that could hide a NUL.
    if raw.isascii() and b"%" not in raw and b"\x00" not in raw:
        return
    try:  # the whole at once: the parts are text if and only if the whole is
        if text_problem(_unquote(raw).decode(encoding)) is None:
            return
    except (UnicodeDecodeError, LookupError):
        pass
    # Something is refused: find the part to name.
    for pair in raw.split(b"&"):
        name, _, value = pair.partition(b"=")
        name_text = _decode(_unquote(name), encoding, f"the name of a {kind}")
        if what := text_problem(name_text):
            raise BadInput(f"the name of the {kind} “{_shown(name_text)}”", what)
        where = f"the {kind} “{_shown(name_text)}”"
        if what := text_problem(_decode(_unquote(value), encoding, where)):
            raise BadInput(where, what)


def _unquote(raw: bytes) -> bytes:
    return unquote_to_bytes(raw.replace(b"+", b" "))


def check_request(request: HttpRequest) -> None:
    """Raise BadInput for the first refused piece of the request's URL path, query string,
    headers, cookies or form body."""
    encoding = request.encoding or settings.DEFAULT_CHARSET
    _check_path(request)
    query = request.META.get("QUERY_STRING", "")
    check_urlencoded(query.encode("latin-1", "replace"), encoding, "query parameter")
    _check_headers(request)
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        _check_body(request, encoding)


def _check_path(request: HttpRequest) -> None:
    # Django keeps bytes of the path that are not UTF-8 percent-encoded ("/s/%FF/" matches no
    # link: a 404), so of all three only NUL gets this far.
    if "\x00" in request.path_info:
        raise BadInput("the URL path", text_problem(request.path_info) or "")


def _check_headers(request: HttpRequest) -> None:
    for key, value in request.META.items():
        if key.startswith("HTTP_") and isinstance(value, str) and "\x00" in value:
            name = key[5:].replace("_", "-").title()
            raise BadInput(f"the header {name}", text_problem(value) or "")
    # Cookie values are unquoted when read: "\000" in a quoted value becomes a NUL.
    for name, value in request.COOKIES.items():
        if what := text_problem(name) or text_problem(value):
            raise BadInput(f"the cookie “{_shown(name)}”", what)


def _check_body(request: HttpRequest, encoding: str) -> None:
    if request.content_type == "application/x-www-form-urlencoded":
        check_urlencoded(request.body, encoding, "form field")
    elif request.content_type == "multipart/form-data":
        # Django reads multipart text with replacement characters for bytes it cannot decode
        # and drops unprintable characters from file names, so only a NUL in a field can
        # remain; the imports check their files' contents themselves.
        # Django parses multipart bodies of POST requests only; DRF parses the others later.
        fields = (
            request.POST
            if request.method == "POST"
            else request.parse_file_upload(request.META, io.BytesIO(request.body))[0]
        )
        for name, values in fields.lists():
            for value in (name, *values):
                if what := text_problem(value):
                    raise BadInput(f"the form field “{_shown(name)}”", what)


class RefuseUnreadableInputMiddleware:
    """A 400 naming the problem for a request whose path, query string, headers, cookies or form
    body hold a NUL, a lone surrogate or bytes that are not UTF-8, before any view runs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            check_request(request)
        except BadInput as problem:
            return refused(request, problem)
        return self.get_response(request)


def refused(request: HttpRequest, problem: BadInput) -> HttpResponse:
    """The 400: JSON under /api/, the survey's layout for respondents, else the app's."""
    message = f"{problem.message} The request was refused; nothing was changed."
    if request.path_info.startswith("/api/"):
        return JsonResponse({"detail": message}, status=400)
    respondent = request.path_info.startswith(RESPONDENT_PREFIXES)
    template = "surveys/respond/400.html" if respondent else "400.html"
    return HttpResponse(render_to_string(template, {"message": message}), status=400)
