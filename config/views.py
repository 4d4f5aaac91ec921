"""Project-wide error pages."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form sent without a valid token (usually a page left open too long): say what to do,
    in the survey's layout for respondents and the app's layout for everyone else."""
    respondent = request.path.startswith(("/s/", "/i/"))
    template = "surveys/respond/csrf_failure.html" if respondent else "403_csrf.html"
    return render(request, template, {"retry_url": request.path}, status=403)
