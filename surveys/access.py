"""How a request finds a survey: only among the surveys of the user's workspaces.

Every survey page of every app (survey authoring, fieldwork, analysis, results, charts,
comparisons, exports) looks its survey up here, so a survey of another workspace is a 404
everywhere (a 403 would confirm that it exists) and a viewer's write is a 403 everywhere.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.shortcuts import get_object_or_404

from surveys.models import Survey


def survey_for(request: HttpRequest, pk: int, *, write: bool = False) -> Survey:
    """Survey `pk` of the user's workspaces, with its workspace, job and current version (its
    content loaded only when read); 404 when it is not theirs, 403 for a viewer when `write`."""
    survey = get_object_or_404(
        Survey.objects.for_user(request.user)
        .select_related("workspace", "job", "current_version")
        .defer("current_version__content"),
        pk=pk,
    )
    if write and not survey.workspace.can_write(request.user):
        raise PermissionDenied("Viewers can read but cannot change surveys.")
    return survey
