"""Load the demo workspace, users and study. Running it again changes nothing that exists."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from jtbd import services
from jtbd.demo_data import DEMO_JOB, DEMO_STEPS
from jtbd.models import DesiredOutcome, Job, JobStep, OutcomeStatus
from workspaces.models import Membership, Role, Workspace

DEMO_USERS = [
    # username, password, role: the demo is local-only, so fixed passwords are printed openly.
    ("demo", "demo-password", Role.OWNER),
    ("researcher", "demo-password", Role.RESEARCHER),
    ("strategist", "demo-password", Role.VIEWER),
]


class Command(BaseCommand):
    help = "Create the demo workspace, its users and the demo study (idempotent)."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        workspace, _ = Workspace.objects.get_or_create(
            slug="demo", defaults={"name": "Demo: Acme Customer Success"}
        )
        if not workspace.solution_words:
            workspace.solution_words = "Acme Hub\nAcme Academy"
            workspace.save(update_fields=["solution_words"])
        User = get_user_model()
        for username, password, role in DEMO_USERS:
            user, created = User.objects.get_or_create(username=username)
            if created:
                user.set_password(password)
                # The demo owner also signs in to Django admin, which needs staff rights.
                user.is_staff = user.is_superuser = role == Role.OWNER
                user.save(update_fields=["password", "is_staff", "is_superuser"])
            Membership.objects.get_or_create(
                workspace=workspace, user=user, defaults={"role": role}
            )
        job = self._seed_job(workspace)
        self.stdout.write(
            f"Demo workspace “{workspace.name}”: job #{job.pk} with {job.steps.count()} steps and "
            f"{job.outcomes.count()} outcomes."
        )

    def _seed_job(self, workspace: Workspace) -> Job:
        job = Job.objects.filter(workspace=workspace, statement=DEMO_JOB["statement"]).first()
        if job is None:
            job = services.create_job(workspace=workspace, universal_steps=False, **DEMO_JOB)
        code_number = 0
        for order, step_data in enumerate(DEMO_STEPS, start=1):
            step, _ = JobStep.objects.get_or_create(
                job=job,
                stage=step_data["stage"],
                title=step_data["title"],
                defaults={"description": step_data["description"], "order": order},
            )
            for position, statement in enumerate(step_data["outcomes"], start=1):
                code_number += 1
                code = f"O{code_number:03d}"
                if job.outcomes.filter(code=code).exists():
                    continue
                outcome = DesiredOutcome(
                    job=job, step=step, code=code, status=OutcomeStatus.APPROVED, order=position
                )
                outcome.set_statement(statement)
                outcome.save()
        job.remember_outcome_codes()
        return job
