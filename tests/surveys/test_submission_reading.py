"""JSON answers are read by the web survey's rules (`surveys.fastpath.path.read_submission`).
Complete, valid ratings, nearly every submission, skip the web form's fields (`complete_ratings`);
the reading
must be the same either way: the same answers, the same problems in the same order, the same
screening out. The straight-lining rule, rewritten without numpy for one response at a time,
must flag exactly what its numpy definition flags."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from surveys import flow, quality, submission, versions
from surveys.fastpath import path
from surveys.models import SurveyVersion

CODES = [f"O{i:03d}" for i in range(1, 21)]


def content() -> dict:
    """Two steps (one split over several pages), a screener, a profile question, the current
    solution, an attention check, NPS and CES: every page kind the rules read."""
    steps = [
        {
            "title": "Plan",
            "stage": "plan",
            "outcomes": [{"code": c, "statement": f"Statement {c}"} for c in CODES[:12]],
        },
        {
            "title": "Use",
            "stage": "execute",
            "outcomes": [{"code": c, "statement": f"Statement {c}"} for c in CODES[12:]],
        },
    ]
    question = {
        "required": True,
        "complexity_factor": False,
        "disqualifying": [],
        "minimum": None,
        "maximum": None,
        "options": [],
    }
    return {
        "steps": steps,
        "outcome_codes": CODES,
        "questions": [
            {
                **question,
                "key": "role",
                "kind": "single",
                "text": "Role?",
                "options": ["Lead", "Member", "Other"],
                "screener": True,
                "disqualifying": ["Other"],
            },
            {**question, "key": "size", "kind": "number", "text": "Size?", "screener": False},
        ],
        "current_solution": {"text": "What do you use?", "options": ["Sheets", "Tool"]},
        "nps": "Recommend?",
        "ces": "Effort?",
        "attention_check": True,
        "consent_text": "",
    }


def published() -> versions.PublishedVersion:
    version = SurveyVersion(content=content())
    return versions.PublishedVersion(
        version=version, codes=frozenset(CODES), pages=tuple(flow.build_pages(version.content))
    )


def web_rules_reading(version: versions.PublishedVersion, answers: object):
    """The reading without the shortcut: every answer through the web form's fields."""
    data, problems = submission.form_data(version.content, answers, version.codes)
    read = submission.read_answers(version.content, data, version.pages)
    return read, problems + read.problems


def summary(read, problems) -> tuple:
    a = read.answers
    return (
        a.ratings,
        list(a.ratings),  # the order too
        a.profile,
        a.current_solution,
        a.nps,
        a.ces,
        a.attention_passed,
        read.screened_out,
        len(read.pages),
        [(p.field, p.message) for p in problems],
    )


rating = st.one_of(
    st.integers(1, 5),
    st.integers(1, 5),
    st.integers(-2, 8),
    st.sampled_from(["3", " 4 ", "", "x", None, True, False, 2.0, [3], {"v": 3}]),
)
ratings_strategy = st.dictionaries(
    st.sampled_from([*CODES, "O999", "nope"]),
    st.one_of(
        st.fixed_dictionaries({"importance": rating, "satisfaction": rating}),
        st.fixed_dictionaries({"importance": rating}),
        st.sampled_from([None, 3, "5", [1, 2]]),
    ),
)
complete_ratings_strategy = st.fixed_dictionaries(
    {
        c: st.fixed_dictionaries(
            {"importance": st.integers(1, 5), "satisfaction": st.integers(1, 5)}
        )
        for c in CODES
    }
)
answers_strategy = st.fixed_dictionaries(
    {"ratings": st.one_of(complete_ratings_strategy, ratings_strategy)},
    optional={
        "profile": st.one_of(
            st.fixed_dictionaries(
                {},
                optional={
                    "role": st.sampled_from(["Lead", "Member", "Other", "Boss", 3, None]),
                    "size": st.sampled_from([12, "7", -1, "many", None, [1]]),
                    "unknown": st.just("x"),
                },
            ),
            st.sampled_from([None, [], "role"]),
        ),
        "current_solution": st.sampled_from(["Sheets", "Tool", "Paper", "", None, 4]),
        "nps": st.sampled_from([0, 10, 11, "9", None, True]),
        "ces": st.sampled_from([1, 7, 8, None]),
        "attention": st.sampled_from([4, 3, 6, None, "4"]),
        "consent": st.sampled_from([True, False, "yes"]),
    },
)


@settings(max_examples=400, deadline=None, derandomize=True)
@given(answers_strategy)
def test_the_shortcut_for_complete_ratings_reads_every_submission_as_the_web_rules_do(answers):
    version = published()
    expected = summary(*web_rules_reading(version, answers))
    read = path.read_submission(version, answers)
    assert summary(read, read.problems) == expected


@settings(max_examples=100, deadline=None, derandomize=True)
@given(complete_ratings_strategy)
def test_complete_whole_number_ratings_take_the_shortcut(ratings):
    assert path.complete_ratings({"ratings": ratings}, frozenset(CODES)) == {
        code: (r["importance"], r["satisfaction"]) for code, r in ratings.items()
    }


def test_anything_short_of_complete_valid_ratings_is_left_to_the_web_rules():
    codes = frozenset(CODES)
    full = {c: {"importance": 3, "satisfaction": 4} for c in CODES}
    assert path.complete_ratings({"ratings": full}, codes) is not None
    for changed in (
        {k: v for k, v in full.items() if k != "O001"},  # one missing
        {**full, "O999": {"importance": 3, "satisfaction": 4}},  # one unknown
        {**full, "O001": {"importance": "3", "satisfaction": 4}},  # a string
        {**full, "O001": {"importance": True, "satisfaction": 4}},  # a bool is not a rating
        {**full, "O001": {"importance": 3.0, "satisfaction": 4}},
        {**full, "O001": {"importance": 0, "satisfaction": 4}},
        {**full, "O001": {"importance": 3, "satisfaction": 6}},
        {**full, "O001": {"importance": 3}},
        {**full, "O001": [3, 4]},
    ):
        assert path.complete_ratings({"ratings": changed}, codes) is None
    assert path.complete_ratings({"ratings": list(full.items())}, codes) is None
    assert path.complete_ratings([full], codes) is None


def numpy_straight_lined(imp, sat, pages) -> bool:
    """The rule as first written, with numpy: the definition the plain version must keep."""
    imp, sat = np.asarray(imp, dtype=np.uint8), np.asarray(sat, dtype=np.uint8)
    for columns in pages:
        values = np.concatenate([imp[list(columns)], sat[list(columns)]])
        values = values[values > 0]
        if values.size >= quality.MIN_RATINGS_ON_PAGE and np.all(values == values[0]):
            return True
    values = np.concatenate([imp, sat])
    values = values[values > 0]
    return values.size >= quality.MIN_RATINGS_ON_PAGE and float(values.std()) < quality.FLAT_STD


@st.composite
def one_response(draw):
    k = draw(st.integers(1, 24))
    # Mostly one or two answers, so that flat pages and barely varying responses turn up.
    pool = draw(st.lists(st.integers(0, 5), min_size=1, max_size=3))
    values = st.one_of(st.sampled_from(pool), st.integers(0, 5))
    imp = draw(st.lists(values, min_size=k, max_size=k))
    sat = draw(st.lists(values, min_size=k, max_size=k))
    cuts = sorted(draw(st.sets(st.integers(1, max(1, k - 1)), max_size=4)))
    bounds = [0, *[c for c in cuts if c < k], k]
    pages = [list(range(a, b)) for a, b in itertools.pairwise(bounds) if a < b]
    return imp, sat, pages


@settings(max_examples=600, deadline=None, derandomize=True)
@given(one_response())
def test_straight_lining_flags_what_its_numpy_definition_flags(response):
    imp, sat, pages = response
    expected = numpy_straight_lined(imp, sat, pages)
    assert quality.straight_lined(imp, sat, pages) is expected
    # The packed bytes, as a stored response hands them over, read the same.
    assert quality.straight_lined(bytes(imp), bytes(sat), pages) is expected


def test_straight_lining_examples():
    flat_page = ([4, 4, 1, 2, 5], [4, 4, 3, 1, 2], [[0, 1], [2, 3, 4]])
    assert quality.straight_lined(*flat_page)  # four 4s on the first page
    too_few = ([4, 0, 1, 2, 5], [4, 0, 3, 1, 2], [[0, 1], [2, 3, 4]])
    assert not quality.straight_lined(*too_few)  # two answers on it: not enough to tell
    barely_varying = ([3] * 30 + [4], [3] * 31, [list(range(i, i + 1)) for i in range(31)])
    assert quality.straight_lined(*barely_varying)  # std 0.13 overall
    unanswered = ([0] * 10, [0] * 10, [list(range(10))])
    assert not quality.straight_lined(*unanswered)
