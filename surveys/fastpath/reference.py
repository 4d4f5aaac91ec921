"""The reference path: the public submission done plainly, with DRF's parsing, serializer and
rendering, the ORM, and no cache. It is what the fast path must answer and store, submission for
submission (tests/surveys/test_fastpath.py), and the baseline its benchmark is measured against.
Chosen with PUBLIC_SUBMISSION_PATH=reference (see the package's docstring)."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse

from surveys import flow, services, submission, versions
from surveys.models import Response, ResponseStatus, Survey
from surveys.submission import ReadAnswers


class _ReferencePath:
    def published(self, survey: Survey) -> versions.PublishedVersion:
        version = survey.current_version
        assert version is not None  # the caller answers 404 for a survey never published
        return versions.PublishedVersion(
            version=version,
            codes=frozenset(version.content["outcome_codes"]),
            pages=tuple(flow.build_pages(version.content)),
        )

    def read(self, published: versions.PublishedVersion, answers: object) -> ReadAnswers:
        # Every answer turned into the web form's fields and read by its rules, page by page.
        _, pages, problems = submission.shown(published, answers)
        data, more = submission.form_data(published.content, answers)
        read = submission.read_answers(published.content, data, pages)
        read.problems[:0] = ([] if read.screened_out else problems) + more
        return read

    def store(self, response: Response, *, accepting_at: datetime) -> bool:
        # Checked, then saved: a survey closed between the two can take this one response
        # more (the fast path checks inside its INSERT). Tests send one request at a time.
        with transaction.atomic():
            survey = Survey.objects.filter(
                pk=response.survey_id, current_version_id=response.version_id
            ).first()
            if survey is None or not survey.is_accepting(accepting_at):
                return False
            response.save(force_insert=True)
            if response.status == ResponseStatus.COMPLETED:
                services.request_background(survey_id=response.survey_id, kind="response_completed")
        return True


REFERENCE = _ReferencePath()


def submit(request: Request, public_token: str) -> ApiResponse:
    """The answer to one submission, the plain way."""
    # Imported here: the endpoint's module imports this one.
    from surveys.public_api import PublicSubmissionSerializer

    survey = (
        Survey.objects.select_related("current_version").filter(public_token=public_token).first()
    )
    serializer = PublicSubmissionSerializer(data=request.data)
    if serializer.is_valid():
        values, malformed = dict(serializer.validated_data), []
    else:
        values, malformed = {}, problems_of(serializer.errors)
    _, status, body = submission.answer(survey, values, malformed, REFERENCE)
    return ApiResponse(body, status=status)


def problems_of(errors: object, prefix: str = "") -> list[dict[str, str]]:
    """DRF's nested serializer errors as the API lists them: `{"field", "message"}`, the
    body's own problems under "body"."""
    if isinstance(errors, dict):
        out = []
        for name, value in errors.items():
            field = name if name != "non_field_errors" else prefix.rstrip(".")
            out += problems_of(value, f"{prefix}{field}.")
        return out
    if isinstance(errors, list) and errors and isinstance(errors[0], dict | list):
        return [p for item in errors for p in problems_of(item, prefix)]
    messages = errors if isinstance(errors, list) else [errors]
    return [{"field": prefix.rstrip(".") or "body", "message": str(m)} for m in messages]
