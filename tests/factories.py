from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from jtbd import services
from jtbd.models import DesiredOutcome, Job, JobKind, JobStep, OutcomeStatus
from workspaces.models import Membership, Role, Workspace


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")

    @factory.post_generation
    def password(self, create: bool, extracted: str | None, **kwargs) -> None:
        self.set_password(extracted or "pw-for-tests")
        if create:
            self.save(update_fields=["password"])


class WorkspaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Workspace

    name = factory.Sequence(lambda n: f"Workspace {n}")
    slug = factory.Sequence(lambda n: f"workspace-{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    workspace = factory.SubFactory(WorkspaceFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.RESEARCHER


class JobFactory(factory.django.DjangoModelFactory):
    """A job with the eight universal steps, as a researcher would create it."""

    class Meta:
        model = Job

    workspace = factory.SubFactory(WorkspaceFactory)
    statement = factory.Sequence(lambda n: f"Get new tool number {n} adopted across my team")
    executor = "Team lead"
    kind = JobKind.CORE_FUNCTIONAL

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return services.create_job(**kwargs)


def add_outcomes(
    job: Job, statements: list[str], *, step: JobStep | None = None
) -> list[DesiredOutcome]:
    step = step or job.steps.order_by("order").first()
    return [
        services.add_outcome(
            step=step, statement=s, status=OutcomeStatus.APPROVED, confirm_flagged=True
        )
        for s in statements
    ]
