"""Parse and check desired outcome statements.

Pure standard-library module: no Django imports, so it can be used from models, forms,
serializers, management commands and plain unit tests alike.

Grammar
=======

A desired outcome statement has four slots, in this order::

    direction + metric + object of control [+ contextual clarifier]

    "Minimize | the time it takes to | find who on the team has not started using the tool"
    "Minimize | the likelihood that | a team member loses work | e.g., when switching ..."

Before parsing, surrounding whitespace is removed, inner runs of whitespace are collapsed to
one space and a single sentence-ending ``.``, ``!`` or ``;`` is dropped (an abbreviation
such as ``etc.`` or ``e.g.`` keeps its dot). Every part is returned exactly as written.

Direction
    The first word. ``Minimize`` is canonical; ``Increase``, ``Maximize``, ``Reduce`` and
    ``Decrease`` are also accepted, as are the British spellings ``Minimise``/``Maximise``, in
    any letter case. The first word also fills the direction slot when it is a common verb
    that is not an accepted direction (``Make``, ``Improve``, ``Ensure``, ``Get``, ``Lower``,
    ...) or when a metric directly follows it (``Shrink the time it takes to ...``); the
    check then reports it as an unknown direction. Anything else (``The time it takes ...``,
    ``Team members forget ...``) leaves the direction empty.

Metric
    One of `METRICS` (``the time it takes to``, ``the likelihood that``, ``the number of``,
    ...), matched case-insensitively on whole words right after the direction slot, or at the
    very start when there is no direction. The longest matching phrase wins, so
    ``the amount of time it takes to`` beats ``the amount of``.

Object of control
    Whatever follows the metric up to the clarifier. With no metric it is everything after
    the direction slot.

Contextual clarifier
    Starts at the earliest of these markers inside the text after the metric:

    * an example marker: ``e.g.``, ``eg``, ``for example``, ``for instance``, ``such as``,
      ``i.e.`` (an opening parenthesis right before it belongs to the clarifier);
    * a situation marker: ``when``, ``whenever``, ``while``, ``during``, ``before``,
      ``after``, ``once``, ``until``, ``throughout``, ``if``. Without a comma before it, a
      situation marker right after a verb that takes an indirect question (``determine when``,
      ``find out if``, ``know before``...) is part of the object instead, because there it
      names what is being found out rather than the circumstances.

    A comma between object and clarifier belongs to neither. Clarifiers introduced only by
    other prepositions (``in the first week``) are not recognised and stay in the object;
    that is harmless for every check except ``compound``, which then looks at more text.

Findings
========

Each finding has a code, a severity, a human-readable message and a detail (the offending
word, the duplicate's code, or a count). Only ``empty`` and ``far_too_long`` are errors
(saving must be blocked); everything else is a warning the author may knowingly accept.

``empty`` (error)
    Blank or whitespace-only text. It is the only finding reported for such text.
``far_too_long`` (error)
    More than `HARD_MAX_LENGTH` characters (counted after stripping surrounding whitespace).
    Other checks still run, except ``too_long``, which would only repeat the point.
``missing_direction``
    Nothing in the direction slot.
``unknown_direction``
    The direction slot holds a word that is not an accepted direction.
``missing_metric``
    No known metric phrase where the metric belongs.
``solution_word``
    A word or phrase from `BUILTIN_SOLUTION_WORDS` or the workspace's own list appears
    anywhere in the statement. Matching is case-insensitive, on whole words (``app`` matches
    ``app``, ``apps`` and ``app-based`` but not ``approve`` or ``happen``), and multi-word
    phrases match across any whitespace. One finding per distinct word found; when matches
    overlap the longest one is reported.
``compound``
    The object of control joins two things with ``and``, ``or``, ``and/or`` or ``&`` --
    usually two outcomes in one statement, which respondents cannot rate separately. The
    clarifier is not examined (``e.g., in sales and support`` is fine). Not flagged: fixed
    idioms in `COMPOUND_IDIOMS` (``up and running``, ``whether or not``...) and ``and`` after
    ``between`` (``switch between the old tool and the new tool`` names one transition).
``vague_word``
    A word from `VAGUE_WORDS` (``easy``, ``quickly``, ``better``...): such words hide the
    measurable metric. One finding per distinct word, whole words only.
``too_long``
    More than `SOFT_MAX_WORDS` whitespace-separated words.
``near_duplicate``
    Another outcome of the same job reads almost the same: `similarity` >=
    `NEAR_DUPLICATE_THRESHOLD`. One finding per such outcome; detail is its code.

The near-duplicate rule, the word lists and the metric phrases are in `jtbd.similarity` and
`jtbd.statement_words`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from jtbd.similarity import near_score, normalise
from jtbd.statement_words import (
    BUILTIN_SOLUTION_WORDS,
    COMPOUND_IDIOMS,
    DIRECTION_LIKE_VERBS,
    DIRECTIONS,
    METRICS,
    QUESTION_VERBS,
    VAGUE_WORDS,
)

__all__ = [
    "HARD_MAX_LENGTH",
    "SOFT_MAX_WORDS",
    "Finding",
    "Severity",
    "StatementCheck",
    "StatementParts",
    "check_statement",
    "near_duplicate_finding",
    "parse_statement",
]

Severity = Literal["error", "warning"]

HARD_MAX_LENGTH: int = 300
SOFT_MAX_WORDS: int = 25


_EXAMPLE_MARKER = re.compile(
    r"(?:,\s*|\s+)(?P<start>\(?(?:e\.g\.|e\.g\b|eg\b|i\.e\.|for example\b"
    r"|for instance\b|such as\b))",
    re.IGNORECASE,
)
_SITUATION_MARKER = re.compile(
    r"(?P<comma>,)?\s+(?P<start>(?:when|whenever|while|during|before|after|once|until"
    r"|throughout|if)\s+\S)",
    re.IGNORECASE,
)
_CONJUNCTION = re.compile(r"(?<!\w)(?:and/or|and|or|&)(?!\w)", re.IGNORECASE)
_BETWEEN = re.compile(r"(?<!\w)between(?!\w)", re.IGNORECASE)
_ABBREVIATION_END = re.compile(r"(?:\betc|\be\.g|\bi\.e)\.$", re.IGNORECASE)

_METRIC_PATTERNS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(r"\s+".join(map(re.escape, m.split())) + r"(?!\w)", re.IGNORECASE)
    for m in sorted(METRICS, key=len, reverse=True)
)

_ERROR_CODES: frozenset[str] = frozenset({"empty", "far_too_long"})


@dataclass(frozen=True)
class StatementParts:
    """The four grammar slots of a statement, each as written ("" when absent)."""

    direction: str
    metric: str
    object_of_control: str
    clarifier: str

    def to_dict(self) -> dict[str, str]:
        return {
            "direction": self.direction,
            "metric": self.metric,
            "object_of_control": self.object_of_control,
            "clarifier": self.clarifier,
        }


@dataclass(frozen=True)
class Finding:
    """One problem found in a statement; see the module docstring for the codes."""

    code: str
    severity: Severity
    message: str
    detail: str = ""

    def to_dict(self) -> dict[str, str]:
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class StatementCheck:
    """The parsed statement (whitespace-normalised) and everything found wrong with it."""

    statement: str
    parts: StatementParts
    findings: tuple[Finding, ...]

    @property
    def blocking(self) -> bool:
        return any(f.severity == "error" for f in self.findings)

    @property
    def ok(self) -> bool:
        return not self.findings

    def to_dict(self) -> dict[str, object]:
        return {
            "statement": self.statement,
            "parts": self.parts.to_dict(),
            "findings": [f.to_dict() for f in self.findings],
            "blocking": self.blocking,
            "ok": self.ok,
        }


def _normalise_whitespace(text: str) -> str:
    return " ".join(text.split())


def _strip_terminal_punctuation(text: str) -> str:
    if text.endswith((".", "!", ";")) and not _ABBREVIATION_END.search(text):
        return text[:-1].rstrip()
    return text


def _match_metric(text: str) -> re.Match[str] | None:
    for pattern in _METRIC_PATTERNS:
        match = pattern.match(text)
        if match:
            return match
    return None


def _split_clarifier(rest: str) -> tuple[str, str]:
    """Split the text after the metric into (object of control, clarifier)."""
    # Markers must follow a space or comma, so a marker word opening the object stays in it.
    candidates: list[int] = []

    example = _EXAMPLE_MARKER.search(rest)
    if example:
        candidates.append(example.start("start"))

    for situation in _SITUATION_MARKER.finditer(rest):
        before = rest[: situation.start()].split()
        previous_word = before[-1].lower() if before else ""
        if situation.group("comma") or previous_word not in QUESTION_VERBS:
            candidates.append(situation.start("start"))
            break

    if not candidates:
        return rest, ""
    start = min(candidates)
    return rest[:start].rstrip(" ,"), rest[start:]


def parse_statement(text: str) -> StatementParts:
    """Split a statement into direction, metric, object of control and clarifier.

    Never raises: text that does not follow the grammar yields empty slots, and whatever
    cannot be placed ends up in the object of control.
    """
    body = _strip_terminal_punctuation(_normalise_whitespace(text))
    if not body:
        return StatementParts("", "", "", "")

    direction = ""
    rest = body
    first, _, after_first = body.partition(" ")
    first_word = first.strip(",:;")
    lowered = first_word.lower()
    if lowered in DIRECTIONS or (
        lowered.isalpha()
        and (lowered in DIRECTION_LIKE_VERBS or _match_metric(after_first) is not None)
    ):
        direction = first_word
        rest = after_first

    metric = ""
    metric_match = _match_metric(rest)
    if metric_match:
        metric = metric_match.group(0)
        rest = rest[metric_match.end() :].lstrip()

    object_of_control, clarifier = _split_clarifier(rest) if rest else ("", "")
    return StatementParts(direction, metric, object_of_control, clarifier)


def _phrase_pattern(phrase: str, *, plural: bool) -> re.Pattern[str]:
    body = r"\s+".join(map(re.escape, phrase.split()))
    # An optional plural "s" so "apps" and "clicks" are caught alongside "app" and "click".
    suffix = "s?" if plural else ""
    return re.compile(rf"(?<!\w){body}{suffix}(?!\w)", re.IGNORECASE)


def _find_phrases(text: str, phrases: Iterable[str], *, plural: bool) -> list[str]:
    """Distinct phrases found in text, as first written there, in order of appearance."""
    # (start, end, phrase) so one phrase written twice ("app", "Apps") is reported once.
    spans: list[tuple[int, int, str]] = []
    for phrase in {" ".join(p.lower().split()) for p in phrases} - {""}:
        pattern = _phrase_pattern(phrase, plural=plural)
        spans.extend((m.start(), m.end(), phrase) for m in pattern.finditer(text))

    # Longest first at each position, so "Acme Hub" wins over a separate "hub" entry.
    spans.sort(key=lambda span: (span[0], span[0] - span[1]))
    found: list[str] = []
    seen: set[str] = set()
    last_end = -1
    for start, end, phrase in spans:
        if start < last_end:
            continue
        last_end = end
        if phrase not in seen:
            seen.add(phrase)
            found.append(text[start:end])
    return found


def _compound_conjunction(object_of_control: str) -> str:
    """The first conjunction joining two things in the object, or ""."""
    text = object_of_control.lower()
    for idiom in COMPOUND_IDIOMS:
        text = re.sub(rf"(?<!\w){re.escape(idiom)}(?!\w)", " ", text)
    for match in _CONJUNCTION.finditer(text):
        if match.group(0) == "and" and _BETWEEN.search(text, 0, match.start()):
            continue
        return match.group(0)
    return ""


def near_duplicate_finding(code: str, score: float) -> Finding:
    return _warning(
        "near_duplicate",
        f"Nearly the same as outcome {code} ({score:.0%} alike): "
        "merge them or make the difference explicit.",
        code,
    )


def _warning(code: str, message: str, detail: str = "") -> Finding:
    return Finding(code=code, severity="warning", message=message, detail=detail)


def check_statement(
    text: str,
    *,
    solution_words: Iterable[str] = (),
    others: Iterable[tuple[str, str]] = (),
) -> StatementCheck:
    """Parse a statement and report every finding, errors first.

    solution_words: the workspace's own product names and jargon, added to the built-in list.
    others: (code, statement) pairs for the job's other outcomes, for near-duplicate checks.
    """
    statement = _normalise_whitespace(text)
    if not statement:
        return StatementCheck(
            statement="",
            parts=StatementParts("", "", "", ""),
            findings=(Finding("empty", "error", "The statement is empty."),),
        )

    parts = parse_statement(statement)
    findings: list[Finding] = []

    length = len(text.strip())
    far_too_long = length > HARD_MAX_LENGTH
    if far_too_long:
        findings.append(
            Finding(
                "far_too_long",
                "error",
                f"The statement is {length} characters long; the limit is {HARD_MAX_LENGTH}.",
                str(length),
            )
        )

    if not parts.direction:
        findings.append(
            _warning(
                "missing_direction",
                'No direction: start with "Minimize" (or Increase, Maximize, Reduce, Decrease).',
            )
        )
    elif parts.direction.lower() not in DIRECTIONS:
        findings.append(
            _warning(
                "unknown_direction",
                f'Unknown direction "{parts.direction}": use "Minimize" '
                "(or Increase, Maximize, Reduce, Decrease).",
                parts.direction,
            )
        )

    if not parts.metric:
        findings.append(
            _warning(
                "missing_metric",
                'No metric: follow the direction with e.g. "the time it takes to", '
                '"the likelihood that" or "the number of".',
            )
        )

    for word in _find_phrases(statement, [*BUILTIN_SOLUTION_WORDS, *solution_words], plural=True):
        findings.append(
            _warning(
                "solution_word",
                f'Solution word "{word}": describe the need, not a product or feature.',
                word,
            )
        )

    conjunction = _compound_conjunction(parts.object_of_control)
    if conjunction:
        findings.append(
            _warning(
                "compound",
                f'The object of control joins two things with "{conjunction}": '
                "split it into one statement per outcome.",
                conjunction,
            )
        )

    for word in _find_phrases(statement, VAGUE_WORDS, plural=False):
        findings.append(
            _warning(
                "vague_word",
                f'Vague word "{word}": say what would be measured instead.',
                word,
            )
        )

    word_count = len(statement.split())
    if word_count > SOFT_MAX_WORDS and not far_too_long:
        findings.append(
            _warning(
                "too_long",
                f"The statement has {word_count} words; aim for at most {SOFT_MAX_WORDS}.",
                str(word_count),
            )
        )

    own_text = normalise(statement)
    for code, other in others:
        # Two texts with no letters or digits would score 1.0 while saying nothing alike.
        score = near_score(own_text, normalise(other))
        if score is not None:
            findings.append(near_duplicate_finding(code, score))

    return StatementCheck(statement=statement, parts=parts, findings=tuple(findings))
