"""Published survey versions, read and parsed once per process.

A version's `content` never changes after publication (a change publishes a new version), so
its parsed form (the version row, its outcome codes and pages) can be kept for as long as the
process lives. The survey row itself, which says whether the survey accepts answers now, is
still read on every request: only the frozen content is cached.

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


def current(survey: Survey) -> PublishedVersion:
    """The survey's current version (the survey must have one). Reads only the version's id and
    hash from `survey.current_version`: select `current_version__content_hash` with the survey
    and no further query is needed once the version is cached."""
    version = survey.current_version
    return _load(version.pk, version.content_hash)


def clear() -> None:
    """Forget every cached version (tests that rewrite a version's content in place)."""
    _load.cache_clear()
