"""How a request finds its workspace and what it may do there.

Objects of workspaces the user does not belong to are looked up through querysets already
filtered to the user's workspaces, so they are simply not found (404): a 403 would confirm that
they exist.
"""

from __future__ import annotations

from django.http import HttpRequest

from workspaces.models import Membership

SESSION_KEY = "workspace_id"


def current_membership(request: HttpRequest) -> Membership | None:
    """The membership for the workspace the user has selected, else their first one."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    if hasattr(request, "_membership_cache"):
        return request._membership_cache
    memberships = Membership.objects.filter(user=user).select_related("workspace")
    chosen = request.session.get(SESSION_KEY)
    membership = (memberships.filter(workspace_id=chosen).first() if chosen else None) or (
        memberships.order_by("workspace__name").first()
    )
    # A per-request cache of our own, which HttpRequest does not declare.
    request._membership_cache = membership  # type: ignore[attr-defined]
    return membership
