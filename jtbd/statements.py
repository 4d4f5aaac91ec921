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

Near-duplicate rule
===================

`similarity` is :class:`difflib.SequenceMatcher`'s ratio of the two *normalised* texts:
lower-cased, every run of characters other than letters and digits replaced by one space,
trimmed. The pair is put in a fixed order first so the measure is symmetric. A
character-level ratio catches reworded near-copies (``has not started`` vs ``has not yet
started``) that a token-set measure would also catch, but it additionally weighs word order
and partial words. Because statements share boilerplate (``minimize the time it takes to``),
the threshold is deliberately high (0.85): distinct outcomes with the same metric stay below
it, re-wordings of one outcome land above it. Short statements that differ in a single noun
(``set up accounts`` vs ``set up permissions``) can reach it too; that is intended, since
they are usually one need split too finely, and the finding is only a warning. Texts with no
letters or digits are never near-duplicates.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "BUILTIN_SOLUTION_WORDS",
    "COMPOUND_IDIOMS",
    "DIRECTIONS",
    "HARD_MAX_LENGTH",
    "METRICS",
    "NEAR_DUPLICATE_THRESHOLD",
    "SOFT_MAX_WORDS",
    "VAGUE_WORDS",
    "Finding",
    "Severity",
    "StatementCheck",
    "StatementParts",
    "check_statement",
    "near_duplicate_finding",
    "near_duplicates",
    "parse_statement",
    "similarity",
]

Severity = Literal["error", "warning"]

HARD_MAX_LENGTH: int = 300
SOFT_MAX_WORDS: int = 25
NEAR_DUPLICATE_THRESHOLD: float = 0.85

DIRECTIONS: frozenset[str] = frozenset(
    {"minimize", "minimise", "increase", "maximize", "maximise", "reduce", "decrease"}
)

METRICS: tuple[str, ...] = (
    "the time it takes to",
    "the time it takes for",
    "the amount of time it takes to",
    "the time required to",
    "the time needed to",
    "the time spent on",
    "the time spent",
    "the amount of time spent",
    "the likelihood that",
    "the likelihood of",
    "the probability that",
    "the probability of",
    "the chance that",
    "the chances that",
    "the risk that",
    "the risk of",
    "the number of",
    "the amount of",
    "the frequency with which",
    "the frequency of",
    "the effort it takes to",
    "the effort required to",
    "the cost of",
    "the accuracy with which",
    "the accuracy of",
    "the percentage of",
    "the proportion of",
    "the degree to which",
    "the extent to which",
)

BUILTIN_SOLUTION_WORDS: frozenset[str] = frozenset(
    {
        "add-on",
        "ai",
        "api",
        "app",
        "button",
        "chatbot",
        "chatgpt",
        "checkbox",
        "click",
        "crm",
        "dashboard",
        "database",
        "drop-down",
        "dropdown",
        "e-mail",
        "email",
        "excel",
        "feature",
        "integration",
        "jira",
        "login",
        "machine learning",
        "menu",
        "mobile",
        "notification",
        "phone",
        "plug-in",
        "plugin",
        "pop-up",
        "popup",
        "portal",
        "salesforce",
        "screen",
        "sharepoint",
        "slack",
        "sms",
        "smartphone",
        "software",
        "spreadsheet",
        "text message",
        "tooltip",
        "trello",
        "webhook",
        "website",
        "widget",
    }
)

VAGUE_WORDS: frozenset[str] = frozenset(
    {
        "better",
        "convenient",
        "conveniently",
        "easier",
        "easiest",
        "easily",
        "easy",
        "effective",
        "effectively",
        "efficient",
        "efficiently",
        "fast",
        "faster",
        "good",
        "great",
        "hassle-free",
        "intuitive",
        "intuitively",
        "optimal",
        "optimally",
        "painless",
        "quick",
        "quicker",
        "quickly",
        "seamless",
        "seamlessly",
        "simple",
        "simpler",
        "simply",
        "smooth",
        "smoothly",
        "user-friendly",
    }
)

COMPOUND_IDIOMS: tuple[str, ...] = (
    "up and running",
    "back and forth",
    "trial and error",
    "pros and cons",
    "ins and outs",
    "more or less",
    "whether or not",
    "sooner or later",
    "one or more",
    "two or more",
)

# Imperative verbs people write where the direction belongs. Without a part-of-speech tagger
# this list is what separates "Improve the ..." (a wrong direction) from "Team members ..."
# (no direction at all).
_DIRECTION_LIKE_VERBS: frozenset[str] = frozenset(
    {
        "accelerate", "achieve", "allow", "avoid", "be", "boost", "build", "create", "cut",
        "eliminate", "enable", "enhance", "ensure", "find", "get", "give", "have", "help",
        "improve", "keep", "know", "lessen", "let", "limit", "lower", "make", "optimise",
        "optimize", "prevent", "provide", "raise", "remove", "see", "shorten", "show",
        "simplify", "speed", "stop", "streamline", "support", "track", "understand", "use",
    }
)  # fmt: skip

# Verbs that take an indirect question ("determine when ...", "know if ..."): a situation
# marker straight after one of them is the object, not a clarifier.
_QUESTION_VERBS: frozenset[str] = frozenset(
    {
        "anticipate", "ask", "assess", "check", "clarify", "confirm", "decide", "detect",
        "determine", "discover", "establish", "estimate", "explain", "find", "forecast",
        "identify", "judge", "know", "learn", "notice", "out", "plan", "predict", "recognise",
        "recognize", "remember", "schedule", "see", "show", "tell", "track", "understand",
        "verify",
    }
)  # fmt: skip

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
_NON_ALNUM = re.compile(r"[^0-9a-z]+")

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
        if situation.group("comma") or previous_word not in _QUESTION_VERBS:
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
        and (lowered in _DIRECTION_LIKE_VERBS or _match_metric(after_first) is not None)
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


def _normalise_for_similarity(text: str) -> str:
    return _NON_ALNUM.sub(" ", text.lower()).strip()


def similarity(a: str, b: str) -> float:
    """How alike two statements read, from 0.0 (nothing shared) to 1.0 (same words).

    difflib ratio of the normalised texts; see "Near-duplicate rule" in the module docstring.
    """
    first, second = sorted((_normalise_for_similarity(a), _normalise_for_similarity(b)))
    if not first and not second:
        return 1.0
    return difflib.SequenceMatcher(None, first, second, autojunk=False).ratio()


def _near_score(first: str, second: str) -> float | None:
    """`similarity` of two normalised texts when it can reach the threshold, else None.

    difflib's real_quick_ratio and quick_ratio are upper bounds of ratio and cost far less, so
    most pairs are ruled out without the full comparison (a job map with 150 outcomes compares
    11,000 pairs on every view)."""
    if not first or not second:
        return None
    first, second = sorted((first, second))
    matcher = difflib.SequenceMatcher(None, first, second, autojunk=False)
    if matcher.real_quick_ratio() < NEAR_DUPLICATE_THRESHOLD:
        return None
    if matcher.quick_ratio() < NEAR_DUPLICATE_THRESHOLD:
        return None
    score = matcher.ratio()
    return score if score >= NEAR_DUPLICATE_THRESHOLD else None


def near_duplicate_finding(code: str, score: float) -> Finding:
    return _warning(
        "near_duplicate",
        f"Nearly the same as outcome {code} ({score:.0%} alike): "
        "merge them or make the difference explicit.",
        code,
    )


def near_duplicates(items: Iterable[tuple[str, str]]) -> dict[str, list[tuple[str, float]]]:
    """Every near-duplicate pair among (code, statement) items, each pair compared once."""
    normalised = [(code, _normalise_for_similarity(text)) for code, text in items]
    found: dict[str, list[tuple[str, float]]] = {code: [] for code, _ in normalised}
    for i, (code_a, text_a) in enumerate(normalised):
        for code_b, text_b in normalised[i + 1 :]:
            score = _near_score(text_a, text_b)
            if score is not None:
                found[code_a].append((code_b, score))
                found[code_b].append((code_a, score))
    return found


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

    own_text = _normalise_for_similarity(statement)
    for code, other in others:
        # Two texts with no letters or digits would score 1.0 while saying nothing alike.
        score = _near_score(own_text, _normalise_for_similarity(other))
        if score is not None:
            findings.append(near_duplicate_finding(code, score))

    return StatementCheck(statement=statement, parts=parts, findings=tuple(findings))
