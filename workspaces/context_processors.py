from django.http import HttpRequest

from workspaces.access import current_membership


def current_workspace(request: HttpRequest) -> dict:
    membership = current_membership(request)
    return {
        "current_membership": membership,
        "current_workspace": membership.workspace if membership else None,
        "can_write": bool(membership and membership.can_write),
    }
