"""The respondent's path through a survey version: its pages and how a page's answers are read.

Pure functions over a version's frozen `content` (see `Survey.snapshot`) and a submitted form's
data, so the web survey and the JSON submission API validate answers the same way.
"""

from __future__ import annotations

import math
import random
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from surveys import ratings

# More outcomes than this on one step are split over several pages so a page stays short.
MAX_OUTCOMES_PER_PAGE = 8
ATTENTION_TARGET = 4  # "Very important" on the 1–5 scale


@dataclass(frozen=True)
class Page:
    kind: str  # welcome | screener | profile | outcomes | loyalty
    key: str
    title: str
    outcome_codes: tuple[str, ...] = ()
    questions: tuple[dict, ...] = ()
    attention: bool = False


@dataclass
class PageAnswers:
    ratings: dict[str, tuple[int | None, int | None]] = field(default_factory=dict)
    profile: dict[str, object] = field(default_factory=dict)
    current_solution: str | None = None
    nps: int | None = None
    ces: int | None = None
    attention_passed: bool | None = None
    consent: bool = False
    screened_out: bool = False
    cleared: list[str] = field(default_factory=list)  # optional questions left blank


@dataclass(frozen=True)
class Problem:
    field: str  # the form field's name, used as the anchor of the error summary link
    message: str


def build_pages(
    content: Mapping,
    shown_order: Mapping[str, list[str]] | None = None,
    subset: Collection[str] | None = None,
) -> list[Page]:
    """The version's pages; with a respondent's `shown_order`, outcome pages list their outcomes
    in the order that respondent sees them. Under a planned subset only the outcomes of
    `subset` are asked (for a stored respondent, the outcomes of their `shown_order`); a step
    with none of them has no page."""
    if subset is None and shown_order:
        subset = {code for codes in shown_order.values() for code in codes}
    pages = [Page("welcome", "welcome", "Welcome")]
    questions = content.get("questions", [])
    screener = tuple(q for q in questions if q["screener"])
    profile = tuple(q for q in questions if not q["screener"])
    if screener:
        pages.append(Page("screener", "screener", "A few questions first", questions=screener))
    if profile or content.get("current_solution"):
        pages.append(Page("profile", "profile", "About you", questions=profile))
    outcome_pages: list[Page] = []
    for i, step in enumerate(content["steps"]):
        codes = [o["code"] for o in step["outcomes"] if subset is None or o["code"] in subset]
        if not codes:
            continue
        chunks = max(1, math.ceil(len(codes) / MAX_OUTCOMES_PER_PAGE))
        size = math.ceil(len(codes) / chunks)
        for c in range(chunks):
            key = f"step-{i}-{c}"
            part = tuple(codes[c * size : (c + 1) * size])
            if shown_order and key in shown_order:
                part = tuple(shown_order[key])
            title = step["title"] if chunks == 1 else f"{step['title']} ({c + 1} of {chunks})"
            outcome_pages.append(Page("outcomes", key, title, outcome_codes=part))
    if content.get("attention_check") and outcome_pages:
        middle = len(outcome_pages) // 2
        p = outcome_pages[middle]
        outcome_pages[middle] = Page(p.kind, p.key, p.title, p.outcome_codes, attention=True)
    pages.extend(outcome_pages)
    if content.get("nps") or content.get("ces"):
        pages.append(Page("loyalty", "loyalty", "Overall"))
    return pages


def shuffled_orders(pages: list[Page], rng: random.Random) -> dict[str, list[str]]:
    """Each outcome page's outcomes for one respondent: a step's outcomes are shuffled as a whole
    and then dealt to that step's pages, so order is randomised within the step."""
    by_step: dict[str, list[Page]] = {}
    for page in pages:
        if page.kind == "outcomes":
            by_step.setdefault(page.key.rsplit("-", 1)[0], []).append(page)
    orders = {}
    for step_pages in by_step.values():
        codes = [code for page in step_pages for code in page.outcome_codes]
        rng.shuffle(codes)
        start = 0
        for page in step_pages:
            orders[page.key] = codes[start : start + len(page.outcome_codes)]
            start += len(page.outcome_codes)
    return orders


NOT_APPLICABLE_VALUE = "na"  # the form's value for "not applicable / can't say"


def _rating(
    data: Mapping[str, str], name: str, low: int, high: int, *, not_applicable: bool = False
) -> int | None:
    raw = (data.get(name) or "").strip()
    if raw.isascii() and raw.isdecimal() and low <= int(raw) <= high:
        return int(raw)
    if not_applicable and raw == NOT_APPLICABLE_VALUE:
        return ratings.NOT_APPLICABLE
    return None


def read_page(page: Page, content: Mapping, data: Mapping) -> tuple[PageAnswers, list[Problem]]:
    """Read and validate one submitted page. `data` maps field names to strings (or lists for
    multiple choice, via a `getlist`-capable mapping)."""
    answers, problems = PageAnswers(), []
    if page.kind == "welcome":
        answers.consent = data.get("consent") in ("yes", "on", "true", "1")
        if content.get("consent_text") and not answers.consent:
            problems.append(Problem("consent", "Please confirm that you agree to take part."))
    elif page.kind in ("screener", "profile"):
        for q in page.questions:
            value, problem = _read_question(q, data)
            if problem:
                problems.append(problem)
            elif value is None:
                answers.cleared.append(q["key"])  # a page shown again may clear its answer
            else:
                answers.profile[q["key"]] = value
                if q["screener"] and _disqualifies(q, value):
                    answers.screened_out = True
        if page.kind == "profile" and content.get("current_solution"):
            options = content["current_solution"]["options"]
            choice = (data.get("current_solution") or "").strip()
            other = (data.get("current_solution_other") or "").strip()[:200]
            if options and choice not in options and choice != "__other__":
                problems.append(Problem("current_solution", "Please choose what you use today."))
            elif choice == "__other__" or not options:
                if not other:
                    problems.append(
                        Problem("current_solution_other", "Please say what you use today.")
                    )
                answers.current_solution = other
            else:
                answers.current_solution = choice
    elif page.kind == "outcomes":
        statements = None  # looked up only for a problem: most pages have none
        allowed = bool(content.get("not_applicable"))
        for code in page.outcome_codes:
            imp = _rating(data, f"imp-{code}", 1, 5, not_applicable=allowed)
            sat = _rating(data, f"sat-{code}", 1, 5, not_applicable=allowed)
            if imp is None or sat is None:
                if statements is None:
                    statements = {
                        o["code"]: o["statement"] for s in content["steps"] for o in s["outcomes"]
                    }
                short = statements[code]
                if imp is None:
                    problems.append(
                        Problem(f"imp-{code}", f"Rate how important this is: “{short}”")
                    )
                if sat is None:
                    problems.append(
                        Problem(f"sat-{code}", f"Rate how satisfied you are: “{short}”")
                    )
            answers.ratings[code] = (imp, sat)
        if page.attention:
            value = _rating(data, "attention", 1, 5)
            if value is None:
                problems.append(Problem("attention", "Please answer the check question."))
            answers.attention_passed = value == ATTENTION_TARGET
    elif page.kind == "loyalty":
        if content.get("nps"):
            answers.nps = _rating(data, "nps", 0, 10)
            if answers.nps is None:
                problems.append(Problem("nps", "Choose a number from 0 to 10."))
        if content.get("ces"):
            answers.ces = _rating(data, "ces", 1, 7)
            if answers.ces is None:
                problems.append(Problem("ces", "Choose a number from 1 to 7."))
    return answers, problems


def _getlist(data: Mapping, name: str) -> list[str]:
    if hasattr(data, "getlist"):
        return [v for v in data.getlist(name) if isinstance(v, str)]
    value = data.get(name)
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return [value] if isinstance(value, str) and value else []


def _read_question(q: Mapping, data: Mapping) -> tuple[object, Problem | None]:
    name = f"q-{q['key']}"
    kind = q["kind"]
    if kind == "multiple":
        chosen = [v for v in _getlist(data, name) if v in q["options"]]
        if q["required"] and not chosen:
            return None, Problem(name, f"Choose at least one answer: “{q['text']}”")
        return chosen, None
    raw = data.get(name)
    raw = raw.strip() if isinstance(raw, str) else ""
    if not raw:
        if q["required"]:
            return None, Problem(name, f"Please answer: “{q['text']}”")
        return None, None
    if kind == "single":
        if raw not in q["options"]:
            return None, Problem(name, f"Choose one of the answers: “{q['text']}”")
        return raw, None
    if kind == "number":
        try:
            number = float(raw.replace(",", "."))
        except ValueError:
            return None, Problem(name, f"Enter a number: “{q['text']}”")
        if not math.isfinite(number):
            return None, Problem(name, f"Enter a number: “{q['text']}”")
        if q.get("minimum") is not None and number < q["minimum"]:
            return None, Problem(name, f"Enter {q['minimum']:g} or more: “{q['text']}”")
        if q.get("maximum") is not None and number > q["maximum"]:
            return None, Problem(name, f"Enter {q['maximum']:g} or less: “{q['text']}”")
        return (int(number) if number.is_integer() else number), None
    return raw[:500], None


def _disqualifies(q: Mapping, value: object) -> bool:
    chosen = value if isinstance(value, list) else [value]
    return any(v in q.get("disqualifying", []) for v in chosen)
