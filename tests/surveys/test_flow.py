"""The respondent's path through a version: pages, order and page validation (pure functions)."""

from __future__ import annotations

import random

from surveys import flow


def content(n_outcomes: int = 12, **extra) -> dict:
    outcomes = [
        {"code": f"O{i:03d}", "statement": f"Outcome {i}"} for i in range(1, n_outcomes + 1)
    ]
    return {
        "steps": [{"title": "Use", "stage": "execute", "outcomes": outcomes}],
        "questions": [],
        "current_solution": None,
        "nps": None,
        "ces": None,
        "attention_check": False,
        "consent_text": "",
        **extra,
    }


def test_a_long_step_is_split_into_pages_of_at_most_eight():
    pages = flow.build_pages(content(12))
    outcome_pages = [p for p in pages if p.kind == "outcomes"]
    assert [len(p.outcome_codes) for p in outcome_pages] == [6, 6]
    assert [p.title for p in outcome_pages] == ["Use (1 of 2)", "Use (2 of 2)"]


def test_order_is_randomised_within_the_whole_step_not_just_within_a_page():
    pages = flow.build_pages(content(12))
    on_first_page: set[str] = set()
    for seed in range(40):
        orders = flow.shuffled_orders(pages, random.Random(seed))
        assert sorted(orders["step-0-0"] + orders["step-0-1"]) == [
            f"O{i:03d}" for i in range(1, 13)
        ]
        on_first_page.update(orders["step-0-0"])
    # Every outcome of the step turns up on the step's first page for someone.
    assert len(on_first_page) == 12


def test_pages_follow_the_respondents_order_and_problems_are_listed_in_it():
    pages = flow.build_pages(content(12))
    orders = flow.shuffled_orders(pages, random.Random(3))
    mine = flow.build_pages(content(12), orders)
    first = next(p for p in mine if p.kind == "outcomes")
    assert list(first.outcome_codes) == orders["step-0-0"]
    _, problems = flow.read_page(first, content(12), {})
    assert [p.field for p in problems][::2] == [f"imp-{c}" for c in orders["step-0-0"]]


def test_ratings_outside_the_scale_are_problems():
    page = next(p for p in flow.build_pages(content(2)) if p.kind == "outcomes")
    data = {"imp-O001": "6", "sat-O001": "0", "imp-O002": "x", "sat-O002": "3"}
    answers, problems = flow.read_page(page, content(2), data)
    assert {p.field for p in problems} == {"imp-O001", "sat-O001", "imp-O002"}
    assert answers.ratings["O002"] == (None, 3)


def test_the_attention_item_sits_on_the_middle_outcome_page_and_passes_only_on_four():
    c = content(24, attention_check=True)
    pages = [p for p in flow.build_pages(c) if p.kind == "outcomes"]
    assert [p.attention for p in pages] == [False, True, False]
    data = {f"{kind}-{code}": "3" for code in pages[1].outcome_codes for kind in ("imp", "sat")}
    answers, _ = flow.read_page(pages[1], c, {**data, "attention": "4"})
    assert answers.attention_passed is True
    answers, _ = flow.read_page(pages[1], c, {**data, "attention": "5"})
    assert answers.attention_passed is False


def test_a_screener_answer_that_disqualifies_screens_out():
    question = {
        "key": "uses",
        "kind": "single",
        "text": "Use it?",
        "options": ["Yes", "No"],
        "required": True,
        "complexity_factor": False,
        "screener": True,
        "disqualifying": ["No"],
        "minimum": None,
        "maximum": None,
    }
    c = content(2, questions=[question])
    screener = next(p for p in flow.build_pages(c) if p.kind == "screener")
    assert flow.read_page(screener, c, {"q-uses": "No"})[0].screened_out is True
    assert flow.read_page(screener, c, {"q-uses": "Yes"})[0].screened_out is False
    _, problems = flow.read_page(screener, c, {"q-uses": "Maybe"})
    assert [p.field for p in problems] == ["q-uses"]


def test_numbers_must_be_finite_and_within_bounds():
    question = {
        "key": "size",
        "kind": "number",
        "text": "Team size?",
        "options": [],
        "required": True,
        "complexity_factor": True,
        "screener": False,
        "disqualifying": [],
        "minimum": 1,
        "maximum": 500,
    }
    c = content(2, questions=[question])
    profile = next(p for p in flow.build_pages(c) if p.kind == "profile")
    for bad in ("nan", "inf", "0", "501", "ten"):
        assert flow.read_page(profile, c, {"q-size": bad})[1], bad
    assert flow.read_page(profile, c, {"q-size": "12"})[0].profile == {"size": 12}
