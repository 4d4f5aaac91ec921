"""Unit tests for jtbd.statements (pure Python: no database, no Django settings needed)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable

import pytest

from jtbd.demo_data import DEMO_JOB, DEMO_STEPS
from jtbd.similarity import NEAR_DUPLICATE_THRESHOLD, similarity
from jtbd.statement_words import BUILTIN_SOLUTION_WORDS, VAGUE_WORDS
from jtbd.statements import (
    HARD_MAX_LENGTH,
    SOFT_MAX_WORDS,
    Finding,
    StatementParts,
    check_statement,
    parse_statement,
)

TOO_LONG = (
    "Minimize the time it takes to see which customer accounts need attention from the team, "
    "when preparing for the weekly review with the customer success leadership across regions"
)
FAR_TOO_LONG = (
    "Minimize the time it takes to find the account notes that a departing customer success "
    "manager left behind for the colleague who takes over the account, including the renewal "
    "history, the open escalations, the contacts who championed the tool at the customer, the "
    "training sessions already delivered to the customer's staff, the agreed success plan "
    "milestones, the usage trends from the last two quarters, the unresolved support requests"
)

STATEMENT_CASES: list[tuple[str, set[str]]] = [
    # Well-formed statements: no findings at all.
    ("Minimize the time it takes to find who on the team has not started using the tool", set()),
    (
        "Minimize the likelihood that a team member loses work, e.g., when switching from the "
        "old tool",
        set(),
    ),
    ("Minimize the time it takes to get a new hire productive in the tool", set()),
    ("Minimize the number of support tickets raised in the first month after launch", set()),
    ("Minimize the likelihood of renewing a contract the team barely uses", set()),
    ("Minimize the frequency with which team members ask how to do routine tasks", set()),
    ("Minimize the effort it takes to move historical records into the tool", set()),
    ("Minimize the cost of training a team member who joins mid-project", set()),
    ("Increase the number of team members who complete onboarding in the first week", set()),
    ("Maximize the likelihood that the renewal decision is based on actual usage", set()),
    ("Reduce the time it takes to answer a customer question using shared notes", set()),
    ("Decrease the amount of duplicate data entry during the transition", set()),
    ("minimize the time it takes to determine when a team member last used the tool.", set()),
    ("Minimize the time it takes to switch between the old tool and the new tool", set()),
    ("Minimise the risk that customer history is lost while migrating accounts", set()),
    ("Minimize the time it takes to get a project up and running in the tool", set()),
    ("Minimize the time it takes to approve access requests from new team members", set()),
    ("Minimize the likelihood that nothing will happen after the kickoff meeting", set()),
    ("Minimize the time it takes to onboard a team member, e.g., in sales and support", set()),
    ("Minimize the time it takes to find out who owns each customer account", set()),
    ("Minimize the likelihood of data loss", set()),
    ("Minimize the time it takes to learn the tool, for example through short walkthroughs", set()),
    ("Minimize the time it takes to spot accounts whose usage is declining", set()),
    # Empty text: only the "empty" error.
    ("", {"empty"}),
    ("   \n\t ", {"empty"}),
    # Direction problems.
    (
        "Make it easier for the team to use the tool",
        {"unknown_direction", "missing_metric", "vague_word"},
    ),
    ("Improve the time it takes to onboard a new team member", {"unknown_direction"}),
    ("Ensure everyone on the team logs in every day", {"unknown_direction", "missing_metric"}),
    ("Get the whole team using the tool", {"unknown_direction", "missing_metric"}),
    ("Lower the number of team members who skip training", {"unknown_direction"}),
    ("Eliminate duplicate data entry", {"unknown_direction", "missing_metric"}),
    ("The time it takes to onboard a new team member", {"missing_direction"}),
    (
        "Team members forget to update the status of their accounts",
        {"missing_direction", "missing_metric"},
    ),
    ("Quickly onboard new users", {"missing_direction", "missing_metric", "vague_word"}),
    # Metric problems.
    ("Minimize onboarding time for new team members", {"missing_metric"}),
    ("Increase adoption of the tool across the team", {"missing_metric"}),
    # Solution words.
    ("Minimize the time it takes to build a dashboard of account health", {"solution_word"}),
    ("Minimize the number of clicks needed to log a customer call", {"solution_word"}),
    ("Minimize the likelihood that a reminder email goes unread", {"solution_word"}),
    ("Minimize the time it takes to answer questions in Slack", {"solution_word"}),
    ("Minimize the time it takes to find the right button in the settings menu", {"solution_word"}),
    ("Minimize the time it takes to export usage figures to Excel", {"solution_word"}),
    ("Minimize the time it takes to set up the mobile app for field staff", {"solution_word"}),
    (
        "Use the AI assistant to summarise account notes",
        {"unknown_direction", "missing_metric", "solution_word"},
    ),
    # Compound objects of control.
    ("Minimize the time it takes to install and configure the tool", {"compound"}),
    (
        "Minimize the likelihood that a team member skips training or ignores the guidance",
        {"compound"},
    ),
    ("Minimize the time it takes to assign and/or reassign accounts", {"compound"}),
    # Vague words.
    ("Minimize the time it takes to quickly set up the tool", {"vague_word"}),
    ("Minimize the likelihood that the rollout is not effective", {"vague_word"}),
    (
        "Minimize the time it takes to give team members a user-friendly overview of their tasks",
        {"vague_word"},
    ),
    # Length.
    (TOO_LONG, {"too_long"}),
    (FAR_TOO_LONG, {"far_too_long"}),
    # Everything at once.
    (
        "Make it easy to build a dashboard and share it",
        {"unknown_direction", "missing_metric", "solution_word", "compound", "vague_word"},
    ),
]


def _codes(
    text: str,
    *,
    solution_words: Iterable[str] = (),
    others: Iterable[tuple[str, str]] = (),
) -> set[str]:
    check = check_statement(text, solution_words=solution_words, others=others)
    return {f.code for f in check.findings}


@pytest.mark.parametrize(("text", "expected"), STATEMENT_CASES)
def test_it_reports_exactly_the_expected_finding_codes(text: str, expected: set[str]) -> None:
    assert _codes(text) == expected


def test_the_length_fixtures_sit_on_the_intended_side_of_the_limits() -> None:
    assert len(TOO_LONG.split()) > SOFT_MAX_WORDS
    assert len(TOO_LONG) <= HARD_MAX_LENGTH < len(FAR_TOO_LONG)


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        (
            "Minimize the time it takes to find who on the team has not started using the tool",
            StatementParts(
                "Minimize",
                "the time it takes to",
                "find who on the team has not started using the tool",
                "",
            ),
        ),
        (
            "Minimize the likelihood that a team member loses work, e.g., when switching from the "
            "old tool",
            StatementParts(
                "Minimize",
                "the likelihood that",
                "a team member loses work",
                "e.g., when switching from the old tool",
            ),
        ),
        (
            "Decrease the amount of duplicate data entry during the transition",
            StatementParts(
                "Decrease", "the amount of", "duplicate data entry", "during the transition"
            ),
        ),
        (
            # "when" after "determine" is what is being found out, not a clarifier.
            "minimize  THE TIME it takes to determine when a team member last used the tool.",
            StatementParts(
                "minimize",
                "THE TIME it takes to",
                "determine when a team member last used the tool",
                "",
            ),
        ),
        (
            "Minimize the time it takes to onboard a team member (e.g., in sales and support)",
            StatementParts(
                "Minimize",
                "the time it takes to",
                "onboard a team member",
                "(e.g., in sales and support)",
            ),
        ),
        (
            "Minimize the amount of time it takes to train a new hire",
            StatementParts("Minimize", "the amount of time it takes to", "train a new hire", ""),
        ),
        (
            "Improve the time it takes to onboard a new team member",
            StatementParts("Improve", "the time it takes to", "onboard a new team member", ""),
        ),
        (
            "The time it takes to onboard a new team member",
            StatementParts("", "The time it takes to", "onboard a new team member", ""),
        ),
        (
            "Team members forget to update their accounts",
            StatementParts("", "", "Team members forget to update their accounts", ""),
        ),
        ("", StatementParts("", "", "", "")),
    ],
)
def test_it_splits_a_statement_into_its_four_parts(text: str, parts: StatementParts) -> None:
    assert parse_statement(text) == parts


def test_the_check_carries_the_parsed_parts_and_the_normalised_statement() -> None:
    check = check_statement("  Minimize the likelihood of   data loss ")
    assert check.statement == "Minimize the likelihood of data loss"
    assert check.parts == StatementParts("Minimize", "the likelihood of", "data loss", "")


def test_it_names_the_offending_word_in_the_message_and_detail() -> None:
    (finding,) = check_statement(
        "Minimize the time it takes to build a dashboard of account health"
    ).findings
    assert finding.detail == "dashboard"
    assert '"dashboard"' in finding.message
    assert finding.message == (
        'Solution word "dashboard": describe the need, not a product or feature.'
    )


def test_it_reports_each_distinct_solution_word_once() -> None:
    findings = check_statement(
        "Minimize the number of clicks in the settings menu, e.g., in the app or the apps"
    ).findings
    assert [f.detail for f in findings if f.code == "solution_word"] == ["clicks", "menu", "app"]


def test_it_names_the_unknown_direction() -> None:
    (finding,) = check_statement("Improve the time it takes to onboard a new team member").findings
    assert (finding.code, finding.detail) == ("unknown_direction", "Improve")
    assert '"Improve"' in finding.message


def test_it_flags_solution_words_from_the_workspace_list() -> None:
    text = "Minimize the time it takes to find customer notes in Acme Hub"
    assert _codes(text) == set()
    findings = check_statement(text, solution_words=["Acme Hub"]).findings
    assert [(f.code, f.detail) for f in findings] == [("solution_word", "Acme Hub")]


def test_it_matches_workspace_phrases_regardless_of_case_and_spacing() -> None:
    check = check_statement(
        "Minimize the time it takes to find customer notes in ACME   hub",
        solution_words=["  acme hub "],
    )
    assert [f.detail for f in check.findings] == ["ACME hub"]


def test_it_prefers_the_longest_overlapping_workspace_phrase() -> None:
    check = check_statement(
        "Minimize the time it takes to find customer notes in Acme Hub",
        solution_words=["Hub", "Acme Hub"],
    )
    assert [f.detail for f in check.findings] == ["Acme Hub"]


def test_it_does_not_match_workspace_words_inside_other_words() -> None:
    words = ["Track", "Pulse"]
    assert (
        _codes("Minimize the time it takes to find gaps in tracking", solution_words=words) == set()
    )
    assert _codes("Minimize the number of impulse purchases", solution_words=words) == set()
    assert _codes("Minimize the time it takes to find work in Track", solution_words=words) == {
        "solution_word"
    }


@pytest.mark.parametrize(
    "text",
    [
        "Minimize the time it takes to approve access requests",
        "Minimize the likelihood that nothing will happen after the kickoff meeting",
        "Minimize the time it takes to apply the agreed naming rules",
        "Minimize the likelihood that screening calls are skipped",
        "Minimize the time it takes to complete the handover",
    ],
)
def test_it_does_not_match_builtin_solution_words_inside_other_words(text: str) -> None:
    assert _codes(text) == set()


def test_it_ignores_blank_workspace_words() -> None:
    assert _codes("Minimize the likelihood of data loss", solution_words=["", "  "]) == set()


def test_the_tool_itself_is_not_a_solution_word() -> None:
    assert "tool" not in BUILTIN_SOLUTION_WORDS
    assert _codes("Minimize the time it takes to set up the tool for a new hire") == set()


def test_the_word_lists_are_lower_case() -> None:
    for word in BUILTIN_SOLUTION_WORDS | VAGUE_WORDS:
        assert word == word.lower()


def test_it_ignores_and_inside_the_clarifier_only() -> None:
    base = "Minimize the time it takes to onboard a team member"
    assert _codes(f"{base}, e.g., in sales and support") == set()
    assert _codes(f"{base} and a contractor, e.g., in sales") == {"compound"}


def test_it_reports_the_joining_word_of_a_compound() -> None:
    check = check_statement("Minimize the time it takes to assign and/or reassign accounts")
    assert [(f.code, f.detail) for f in check.findings] == [("compound", "and/or")]


def test_it_flags_near_duplicates_with_the_other_outcomes_code() -> None:
    others = [
        (
            "O3",
            "Minimize the time it takes to find out who on the team has not yet started using "
            "the tool",
        ),
        ("O4", "Minimize the likelihood that a team member loses work"),
        (
            "O5",
            "minimize the time it takes to find who on the team has not started using the tool!",
        ),
    ]
    check = check_statement(
        "Minimize the time it takes to find who on the team has not started using the tool",
        others=others,
    )
    duplicates = [f for f in check.findings if f.code == "near_duplicate"]
    assert [f.detail for f in duplicates] == ["O3", "O5"]
    assert all(f.severity == "warning" for f in duplicates)
    assert "O3" in duplicates[0].message


def test_it_does_not_call_texts_without_words_near_duplicates() -> None:
    assert _codes("Minimize the likelihood of data loss", others=[("O1", "  ")]) == set()
    assert "near_duplicate" not in _codes("...", others=[("O1", "?!")])


def test_similarity_is_one_for_texts_that_differ_only_in_case_and_punctuation() -> None:
    assert (
        similarity("Minimize the likelihood of data loss.", "minimize the LIKELIHOOD of data-loss")
        == 1.0
    )


def test_similarity_is_symmetric_and_low_for_unrelated_statements() -> None:
    a = "Minimize the time it takes to install the tool for a new hire"
    b = "Minimize the likelihood that a renewal is missed"
    assert similarity(a, b) == similarity(b, a)
    assert similarity(a, b) < NEAR_DUPLICATE_THRESHOLD


def test_distinct_outcomes_with_the_same_metric_are_not_near_duplicates() -> None:
    a = "Minimize the time it takes to decide which work will move to the tool first"
    b = "Minimize the time it takes to find a team member willing to champion the tool"
    assert _codes(a, others=[("O1", b)]) == set()


def test_empty_text_reports_only_the_empty_error_even_with_other_outcomes() -> None:
    check = check_statement("  ", others=[("O1", "  ")], solution_words=["app"])
    assert [f.to_dict() for f in check.findings] == [
        {"code": "empty", "severity": "error", "message": "The statement is empty.", "detail": ""}
    ]
    assert check.blocking


def test_far_too_long_text_still_gets_the_other_checks() -> None:
    text = FAR_TOO_LONG + ", the dashboard"
    assert _codes(text) == {"far_too_long", "solution_word"}


def test_a_statement_of_exactly_the_hard_limit_is_not_blocked() -> None:
    text = "Minimize the likelihood of data loss " + "x" * 300
    at_limit = text[:HARD_MAX_LENGTH]
    assert not check_statement(at_limit).blocking
    assert check_statement(at_limit + "x").blocking


@pytest.mark.parametrize(("text", "expected"), STATEMENT_CASES)
def test_only_empty_and_far_too_long_are_errors(text: str, expected: set[str]) -> None:
    for finding in check_statement(text).findings:
        expected_severity = "error" if finding.code in {"empty", "far_too_long"} else "warning"
        assert finding.severity == expected_severity


def test_only_hard_errors_block_saving() -> None:
    warnings_only = check_statement("Make it easy to build a dashboard and share it")
    assert warnings_only.findings
    assert not warnings_only.blocking
    assert not warnings_only.ok
    assert check_statement(FAR_TOO_LONG).blocking
    assert check_statement("").blocking


def test_a_clean_statement_is_ok_and_not_blocking() -> None:
    check = check_statement("Minimize the likelihood of data loss")
    assert check.ok
    assert not check.blocking


def test_to_dict_has_the_documented_shape() -> None:
    check = check_statement("Minimize the time it takes to quickly set up the tool")
    assert check.to_dict() == {
        "statement": "Minimize the time it takes to quickly set up the tool",
        "parts": {
            "direction": "Minimize",
            "metric": "the time it takes to",
            "object_of_control": "quickly set up the tool",
            "clarifier": "",
        },
        "findings": [
            {
                "code": "vague_word",
                "severity": "warning",
                "message": 'Vague word "quickly": say what would be measured instead.',
                "detail": "quickly",
            }
        ],
        "blocking": False,
        "ok": False,
    }


def test_finding_detail_defaults_to_empty() -> None:
    assert Finding("compound", "warning", "m").to_dict()["detail"] == ""


DEMO_STATEMENTS: list[str] = [o for step in DEMO_STEPS for o in step["outcomes"]]


def test_the_demo_study_covers_the_universal_job_map_in_order() -> None:
    assert [step["stage"] for step in DEMO_STEPS] == [
        "define", "locate", "prepare", "confirm", "execute", "monitor", "modify", "conclude",
    ]  # fmt: skip
    for step in DEMO_STEPS:
        assert set(step) == {"stage", "title", "description", "outcomes"}
        assert step["title"]
        assert step["description"]
        assert len(step["outcomes"]) == 6
    assert set(DEMO_JOB) == {"statement", "executor", "kind", "notes"}
    assert DEMO_JOB["kind"] == "core_functional"


@pytest.mark.parametrize("statement", DEMO_STATEMENTS)
def test_every_demo_statement_passes_every_check(statement: str) -> None:
    others = [(f"O{i}", o) for i, o in enumerate(DEMO_STATEMENTS) if o != statement]
    check = check_statement(statement, others=others)
    assert check.findings == ()


def test_no_two_demo_statements_are_near_duplicates() -> None:
    assert len(set(DEMO_STATEMENTS)) == len(DEMO_STATEMENTS) == 48
    for a, b in itertools.combinations(DEMO_STATEMENTS, 2):
        assert similarity(a, b) < NEAR_DUPLICATE_THRESHOLD, (a, b)
