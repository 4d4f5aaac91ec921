"""The public submission API reads its body with `read_public_submission`, a plain-Python copy of
PublicSubmissionSerializer's rules (the serializer stays, for the schema). Both must answer every
body the same: the same validated data, or the same problems with the same field names and
messages in the same order."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from surveys.fastpath.quick import read_public_submission
from surveys.fastpath.reference import problems_of
from surveys.public_api import PublicSubmissionSerializer


def drf_reading(data: object) -> tuple[dict, list[dict]]:
    serializer = PublicSubmissionSerializer(data=data)
    if serializer.is_valid():
        return dict(serializer.validated_data), []
    return {}, problems_of(serializer.errors)


ANSWERS = {"ratings": {"O001": {"importance": 5, "satisfaction": 2}}, "profile": {"role": "x"}}

BAD_AND_GOOD_BODIES = [
    None,
    [],
    [ANSWERS],
    "answers",
    "",
    0,
    1.5,
    True,
    {},
    {"answers": None},
    {"answers": ANSWERS},
    {"idempotency_key": "k"},
    {"idempotency_key": "k", "answers": ANSWERS},
    {"idempotency_key": "  padded key  ", "answers": ANSWERS},
    {"invitation": "tok", "answers": ANSWERS},
    {"invitation": " tok ", "idempotency_key": "k", "answers": []},
    {"idempotency_key": "", "answers": ANSWERS},
    {"idempotency_key": "   ", "answers": ANSWERS},
    {"idempotency_key": "\t\n", "invitation": "", "answers": ANSWERS},
    {"idempotency_key": None, "answers": ANSWERS},
    {"idempotency_key": None, "invitation": None},
    {"idempotency_key": True, "answers": ANSWERS},
    {"idempotency_key": False, "invitation": 0, "answers": ANSWERS},
    {"idempotency_key": 12, "answers": ANSWERS},
    {"idempotency_key": 12.5, "answers": "not an object"},
    {"idempotency_key": -0.0, "answers": 7},
    {"idempotency_key": [], "answers": ANSWERS},
    {"idempotency_key": ["k"], "invitation": {"t": 1}, "answers": ANSWERS},
    {"idempotency_key": {}, "answers": None},
    {"idempotency_key": "k" * 196, "answers": ANSWERS},
    {"idempotency_key": "k" * 197, "answers": ANSWERS},
    {"idempotency_key": " " + "k" * 196 + " ", "answers": ANSWERS},
    {"invitation": "t" * 65, "answers": ANSWERS},
    {"idempotency_key": "a\x00b", "answers": ANSWERS},
    {"idempotency_key": "a\ud800b\udfff", "answers": ANSWERS},
    {"idempotency_key": "k" * 200 + "\x00\ud801", "invitation": "t" * 70, "answers": None},
    {"idempotency_key": "k", "answers": {}, "extra": "ignored"},
    {"answers": ANSWERS, "unexpected": [1, 2, 3]},
]


@pytest.mark.parametrize("body", BAD_AND_GOOD_BODIES)
def test_the_plain_reading_answers_every_body_as_the_serializer_does(body):
    assert read_public_submission(body) == drf_reading(body)


# What DRF's strict JSON parser can produce: no NaN or Infinity (it refuses those bodies).
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3)
    ),
    max_leaves=8,
)
keys = st.one_of(
    json_values,
    st.text(alphabet=" \t\x00\ud800ak", max_size=8),
    st.text(min_size=190, max_size=200),
    st.text(min_size=60, max_size=70),
)
bodies = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {},
        optional={"idempotency_key": keys, "invitation": keys, "answers": json_values},
    ),
)


@settings(max_examples=400, deadline=None)
@given(body=bodies)
def test_the_plain_reading_agrees_with_the_serializer_on_generated_bodies(body):
    assert read_public_submission(body) == drf_reading(body)
