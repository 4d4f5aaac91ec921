"""Workspaces (organisations) own every job, survey and result; members hold a role in each."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.text import slugify


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    RESEARCHER = "researcher", "Researcher"
    VIEWER = "viewer", "Viewer"


# Roles that may change the catalogue, surveys and runs; viewers (strategists) only read.
WRITE_ROLES = frozenset({Role.OWNER, Role.RESEARCHER})


class WorkspaceQuerySet(models.QuerySet):
    def for_user(self, user) -> WorkspaceQuerySet:
        if not user.is_authenticated:
            return self.none()
        return self.filter(memberships__user=user).distinct()


class Workspace(models.Model):
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=120, unique=True)
    solution_words = models.TextField(
        blank=True,
        help_text="Product names, features and devices flagged in outcome statements, "
        "one per line.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = WorkspaceQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def unique_slug(cls, name: str) -> str:
        base = slugify(name)[:100] or "workspace"
        slug, n = base, 2
        while cls.objects.filter(slug=slug).exists():
            slug, n = f"{base}-{n}", n + 1
        return slug

    def solution_word_list(self) -> list[str]:
        return [w.strip() for w in self.solution_words.splitlines() if w.strip()]

    def role_of(self, user) -> str | None:
        if not user.is_authenticated:
            return None
        membership = self.memberships.filter(user=user).only("role").first()
        return membership.role if membership else None

    def can_write(self, user) -> bool:
        return self.role_of(user) in WRITE_ROLES


class Membership(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="one_membership_per_user")
        ]
        ordering = ["workspace__name", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} ({self.role})"

    @property
    def can_write(self) -> bool:
        return self.role in WRITE_ROLES
