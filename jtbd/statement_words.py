"""The words the statement check knows: directions, metric phrases, solution words, vague words,
idioms that are not compounds, and the verbs that decide where the direction and the clarifier
are (see jtbd/statements.py for how each is used).

Pure standard-library module, like jtbd/statements.py.
"""

from __future__ import annotations

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
DIRECTION_LIKE_VERBS: frozenset[str] = frozenset(
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
QUESTION_VERBS: frozenset[str] = frozenset(
    {
        "anticipate", "ask", "assess", "check", "clarify", "confirm", "decide", "detect",
        "determine", "discover", "establish", "estimate", "explain", "find", "forecast",
        "identify", "judge", "know", "learn", "notice", "out", "plan", "predict", "recognise",
        "recognize", "remember", "schedule", "see", "show", "tell", "track", "understand",
        "verify",
    }
)  # fmt: skip
