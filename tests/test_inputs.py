"""The strict readings of config/inputs.py, on their own (the routes: test_bad_input.py and
tests/security/test_bad_input_sweep.py)."""

from __future__ import annotations

import json

import pytest

from config import inputs
from config.inputs import MAX_JSON_DEPTH, BadInput, check_urlencoded, loads


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def refusal(call, *args, **kwargs) -> BadInput:
    with pytest.raises(BadInput) as caught:
        call(*args, **kwargs)
    return caught.value


def test_json_nested_to_the_limit_is_read_and_one_level_more_is_refused():
    assert loads(nested(MAX_JSON_DEPTH)) is not None
    assert loads(json.dumps({"a": json.loads(nested(MAX_JSON_DEPTH - 1))}))["a"] == json.loads(
        nested(MAX_JSON_DEPTH - 1)
    )
    for depth in (MAX_JSON_DEPTH + 1, 900, 50_000):
        problem = refusal(loads, nested(depth))
        assert problem.what == f"nests arrays and objects more than {MAX_JSON_DEPTH} levels deep"


def test_a_wide_body_with_more_objects_than_the_depth_limit_is_read():
    body = {"ratings": {f"O{i}": {"importance": 4} for i in range(500)}}
    assert loads(json.dumps(body)) == body


def test_the_depth_checks_walk_without_recursion():
    # Built in Python: far deeper than json could parse or Python could recurse.
    deep: list = []
    for _ in range(200_000):
        deep = [deep]
    assert inputs._deeper_than_allowed(deep)
    path, what = inputs._json_problem({"a": deep}, strings=True)
    assert path == "a[0][0][0][0][0][0][0]…" and "more than" in what


@pytest.mark.parametrize(
    ("body", "at", "what"),
    [
        ('{"a": [{"b": "x\\u0000"}]}', "a[0].b", "contains a NUL character (U+0000)"),
        ('{"a": {"b\\u0000c": 1}}', "a.b\\x00c", "has a key that contains a NUL character"),
        ('["ok", "\\ud800"]', "[1]", "contains a lone surrogate (U+D800)"),
        ('{"k": "\\udc00\\ud800"}', "k", "contains a lone surrogate (U+DC00)"),
        ('"\\u0000"', "", "contains a NUL character"),
    ],
)
def test_nul_and_lone_surrogates_are_refused_where_they_are(body, at, what):
    problem = refusal(loads, body.encode())
    assert problem.at == at
    assert problem.what.startswith(what)


def test_surrogate_pairs_escaped_backslashes_and_other_text_are_read():
    text = '{"smile": "\\ud83d\\ude00", "literal": "\\\\u0000", "é": "\\u00e9"}'
    assert loads(text.encode()) == {"smile": "😀", "literal": "\\u0000", "é": "é"}


def test_bytes_that_are_not_utf8_nan_and_syntax_errors_are_refused_with_where():
    assert refusal(loads, b'{"a": "\xff"}').what == "is not valid UTF-8 (byte 0xFF at 7)"
    assert "NaN is not a JSON number" in refusal(loads, b'{"a": NaN}').what
    broken = refusal(loads, b'{"a": [1,\n 2')
    assert broken.at == "line 2 column 3" and broken.what.startswith("is not valid JSON")
    assert loads(b'\xef\xbb\xbf{"a": 1}', encoding="utf-8-sig") == {"a": 1}


def test_a_refusal_reads_as_a_sentence():
    problem = refusal(loads, b'{"a": "\\u0000"}', where="the file")
    assert problem.message == (
        "The file at a contains a NUL character (U+0000), which text may not contain."
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"status=a%00b", "The query parameter “status” contains a NUL character"),
        (b"ok=1&status=%FF", "The query parameter “status” is not valid UTF-8 (byte 0xFF at 0)"),
        (b"a%00b=1", "The name of the query parameter “a\\x00b” contains a NUL"),
        (b"%ED%A0%80=1", "The name of a query parameter is not valid UTF-8 (byte 0xED at 0)"),
        (b"q=a\x00b", "The query parameter “q” contains a NUL character"),
    ],
)
def test_url_encoded_text_with_nul_or_bytes_that_are_not_utf8_is_refused(raw, message):
    assert refusal(check_urlencoded, raw, "utf-8", "query parameter").message.startswith(message)


@pytest.mark.parametrize(
    "raw", [b"", b"a=1&b=two+words", b"name=%C3%A9t%C3%A9&x=%26%3D", b"q=%F0%9F%98%80"]
)
def test_url_encoded_text_that_is_fine_passes(raw):
    check_urlencoded(raw, "utf-8", "query parameter")


def test_url_encoded_text_in_a_declared_single_byte_charset_is_read_in_it():
    check_urlencoded(b"name=%E9t%E9", "iso-8859-1", "form field")
    with pytest.raises(BadInput):
        check_urlencoded(b"name=%E9t%E9", "utf-8", "form field")
