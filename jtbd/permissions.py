from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import SAFE_METHODS, BasePermission

from workspaces.models import Workspace


def workspace_of(obj) -> Workspace:
    """The workspace that owns a catalogue object (job, step or outcome)."""
    for path in ("workspace", "job.workspace"):
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
    """Members read; only owners and researchers write (viewers get 403).

    Objects outside the user's workspaces never reach this check: the viewsets' querysets are
    scoped, so those are 404s.
    """

    message = "Viewers can read but cannot change anything in this workspace."

    def has_object_permission(self, request, view, obj) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return workspace_of(obj).can_write(request.user)


def require_write(request, workspace: Workspace) -> None:
    """For creates, whose workspace comes from the request body rather than an object."""
    if not workspace.can_write(request.user):
        raise PermissionDenied(CanWriteWorkspace.message)
