"""REST API for workspaces: the user's workspaces and their role in each (read only)."""

from __future__ import annotations

from rest_framework import serializers, viewsets

from workspaces.models import Workspace


class WorkspaceSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField()

    class Meta:
        model = Workspace
        fields = ["id", "name", "slug", "role"]

    def get_role(self, obj: Workspace) -> str | None:
        return obj.role_of(self.context["request"].user)


class WorkspaceViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = WorkspaceSerializer

    def get_queryset(self):
        return Workspace.objects.for_user(self.request.user)
