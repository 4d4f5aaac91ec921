"""Published survey versions, read and parsed once per process, and the surveys public
submissions name.

A version's `content` never changes after publication (a change publishes a new version), so
its parsed form (the version row, its outcome codes and pages) can be kept for as long as the
process lives.

Whether a survey accepts answers does change (closing, republishing), so the survey a public
token names is kept only as a guess (`kept_target`): the statement that stores a response checks
that the survey still accepts answers with that version (`Survey.objects.accepting_sql`), and
any other outcome (refused by that check, refused answers, a closed survey, an unknown
invitation) is confirmed against the survey as it is now (`read_target`) before it is answered.
That saves a query per stored submission, and no answer differs from one given on a fresh read.

The cache key includes the content hash beside the primary key: a test database that rolls
back (SQLite reuses primary keys then) or a restored backup can give an id to other content, and
the hash, read with the survey, tells them apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from surveys import flow
from surveys.models import Survey, SurveyVersion

# A few hundred KB each at most (a 100-outcome version's content, parsed); enough for every
# survey open for answers at once on one process.
CACHE_SIZE = 256


@dataclass(frozen=True)
class PublishedVersion:
    """A version as respondents answer it. Shared between requests and threads: read only."""

    version: SurveyVersion
    codes: frozenset[str]
    pages: tuple[flow.Page, ...]  # in the version's own outcome order (no respondent's shuffle)

    @property
    def content(self) -> dict:
        return self.version.content


@lru_cache(maxsize=CACHE_SIZE)
def _load(version_id: int, content_hash: str) -> PublishedVersion:
    version = SurveyVersion.objects.get(pk=version_id, content_hash=content_hash)
    return PublishedVersion(
        version=version,
        codes=frozenset(version.content["outcome_codes"]),
        pages=tuple(flow.build_pages(version.content)),
    )


def kept_target(public_token: str) -> Survey | None:
    """The survey with this public token as this process last read it (`read_target`), if it
    accepted answers then and, by that reading, still does now; else None. Shared between
    threads: it holds only the fields `Survey.objects.for_submission` reads, and reading any
    other would fetch it into the shared instance, so read those fields only, never write."""
    survey = _targets.get(public_token)
    return survey if survey is not None and survey.is_accepting() else None


def read_target(public_token: str) -> Survey | None:
    """The survey with this public token as it is now (`Survey.objects.for_submission`), kept
    for `kept_target` while it accepts answers; None if no survey has the token."""
    survey = Survey.objects.for_submission(public_token)
    if survey is not None and survey.is_accepting():
        if len(_targets) >= CACHE_SIZE:
            _targets.clear()  # rare: more open surveys than that answered by one process
        _targets[public_token] = survey
    else:
        _targets.pop(public_token, None)
    return survey


def same_target(a: Survey | None, b: Survey | None) -> bool:
    """Whether two readings agree on everything a submission depends on."""
    if a is None or b is None:
        return a is b
    return _target_state(a) == _target_state(b)


def _target_state(survey: Survey) -> tuple:
    version = survey.current_version if survey.current_version_id is not None else None
    return (
        survey.pk,
        survey.status,
        survey.closes_at,
        survey.current_version_id,
        version.content_hash if version is not None else None,
    )


# Public token → survey, for `kept_target`. Plain dict operations, atomic between threads.
_targets: dict[str, Survey] = {}


def current(survey: Survey) -> PublishedVersion:
    """The survey's current version (the survey must have one). Reads only the version's id and
    hash from `survey.current_version`: select `current_version__content_hash` with the survey
    and no further query is needed once the version is cached."""
    version = survey.current_version
    assert version is not None, f"survey {survey.pk} has no published version"
    return _load(version.pk, version.content_hash)


def clear() -> None:
    """Forget every cached version and survey (tests that rewrite a version in place)."""
    _load.cache_clear()
    _targets.clear()
