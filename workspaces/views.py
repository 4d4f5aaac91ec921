"""Workspace pages: the workspace's members and settings, and switching workspace."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from workspaces.access import SESSION_KEY, current_membership
from workspaces.forms import SolutionWordsForm
from workspaces.models import Workspace


@login_required
def workspace_settings(request: HttpRequest) -> HttpResponse:
    membership = current_membership(request)
    if membership is None:
        raise PermissionDenied("You are not a member of any workspace.")
    workspace = membership.workspace
    form = SolutionWordsForm(
        request.POST or None, initial={"solution_words": workspace.solution_words}
    )
    if request.method == "POST":
        if not membership.can_write:
            raise PermissionDenied("Viewers cannot change workspace settings.")
        if form.is_valid():
            workspace.solution_words = form.cleaned_data["solution_words"]
            workspace.save(update_fields=["solution_words"])
            messages.success(request, "Solution words saved.")
            return redirect("workspaces:workspace-settings")
    return render(
        request, "workspaces/workspace_settings.html", {"form": form, "workspace": workspace}
    )


@login_required
@require_POST
def workspace_switch(request: HttpRequest) -> HttpResponse:
    raw = request.POST.get("workspace", "")
    workspace = get_object_or_404(
        Workspace.objects.for_user(request.user), pk=int(raw) if raw.isdigit() else 0
    )
    request.session[SESSION_KEY] = workspace.pk
    return redirect("jtbd:job-list")
