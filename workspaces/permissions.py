"""The write permission every app's API uses: members read, owners and researchers write.

Objects outside the user's workspaces never reach these checks: every viewset's queryset is
scoped to the user's workspaces, so those are 404s. A viewer's write is a 403 with one message.
"""

from __future__ import annotations

from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import SAFE_METHODS, BasePermission

from workspaces.models import Workspace

# How each kind of object reaches its workspace: directly (jobs, surveys), through its job
# (steps, outcomes), its survey (questions, invitations, responses, analysis runs) or its run
# (segments). The first path an object has wins.
WORKSPACE_PATHS = ("workspace", "job.workspace", "survey.workspace", "run.survey.workspace")


def workspace_of(obj: object) -> Workspace:
    """The workspace that owns `obj` (catalogue, survey or analysis object)."""
    for path in WORKSPACE_PATHS:
        target = obj
        try:
            for attr in path.split("."):
                target = getattr(target, attr)
        except AttributeError:
            continue
        if isinstance(target, Workspace):
            return target
    raise TypeError(f"{type(obj).__name__} has no workspace")


class CanWriteWorkspace(BasePermission):
    """Members read; only owners and researchers write (viewers get 403)."""

    message = "Viewers can read but cannot change anything in this workspace."

    def has_object_permission(self, request, view, obj) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return workspace_of(obj).can_write(request.user)


def require_write(request, workspace: Workspace) -> None:
    """For creates, whose workspace comes from the request body rather than an object."""
    if not workspace.can_write(request.user):
        raise PermissionDenied(CanWriteWorkspace.message)
