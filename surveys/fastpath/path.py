"""The fast path's reading and storing of a submission (`FAST`); see the package's docstring."""

from __future__ import annotations

from datetime import datetime

from surveys import services, submission, versions
from surveys.models import Response, ResponseStatus, Survey
from surveys.submission import ReadAnswers


def complete_ratings(answers: object, codes: frozenset[str]) -> dict[str, tuple[int, int]] | None:
    """The ratings, when the answers rate every outcome in `codes` and nothing else, each with
    whole numbers 1–5 (JSON numbers, not strings): nearly every submission. Then they are valid
    by the web survey's rules without turning them into its form fields and reading them back,
    which took half the CPU time of a 100-outcome submission. Otherwise None: the web rules read
    the ratings and name each problem."""
    if type(answers) is not dict:
        return None
    given = answers.get("ratings")
    if type(given) is not dict or given.keys() != codes:
        return None
    rated = {}
    for code, rating in given.items():
        if type(rating) is not dict:
            return None
        imp, sat = rating.get("importance"), rating.get("satisfaction")
        # type(), not isinstance(): a bool is an int, and the web rules refuse true and false.
        if type(imp) is not int or type(sat) is not int or not (1 <= imp <= 5 and 1 <= sat <= 5):
            return None
        rated[code] = (imp, sat)
    return rated


def read_submission(published: versions.PublishedVersion, answers: object) -> ReadAnswers:
    """JSON answers read by the web survey's rules; `problems` lists every problem, including
    answers to outcomes or questions the version does not have."""
    content = published.content
    codes, pages, problems = submission.shown(published, answers)
    rated = complete_ratings(answers, codes)
    if rated is None or not isinstance(answers, dict):  # (ratings are read only from a dict)
        data, more = submission.form_data(content, answers, published.codes)
        read = submission.read_answers(content, data, pages)
    else:
        data, more = submission.form_data(content, {**answers, "ratings": {}}, published.codes)
        read = submission.read_answers(content, data, pages, ratings=rated)
    # A respondent a screener ends was asked no outcomes: the subset's problems do not apply.
    read.problems[:0] = ([] if read.screened_out else problems) + more
    return read


class _FastPath:
    def published(self, survey: Survey) -> versions.PublishedVersion:
        return versions.current(survey)

    def read(self, published: versions.PublishedVersion, answers: object) -> ReadAnswers:
        return read_submission(published, answers)

    def store(self, response: Response, *, accepting_at: datetime) -> bool:
        if response.status == ResponseStatus.COMPLETED:
            return services.insert_completed(response=response, accepting_at=accepting_at)
        return Response.objects.insert(response, accepting_at=accepting_at)


FAST = _FastPath()
