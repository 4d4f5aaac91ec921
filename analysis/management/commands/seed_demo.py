"""Load the demo workspace, users, study, survey and responses.

Running it again changes nothing that exists: everything is looked up by a fixed name first.
"""

from __future__ import annotations

import random
import secrets
from datetime import timedelta

import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from analysis import demo, runs
from analysis.models import AnalysisRun
from jtbd import services
from jtbd.demo_data import DEMO_JOB, DEMO_STEPS
from jtbd.models import DesiredOutcome, Job, JobStep, OutcomeStatus
from surveys import flow, ratings
from surveys import services as survey_services
from surveys.models import Invitation, Question, Response, ResponseStatus, Survey
from workspaces.models import Membership, Role, Workspace

DEMO_PASSWORD = "demo-password"
DEMO_USERS = [("demo", Role.OWNER), ("researcher", Role.RESEARCHER), ("strategist", Role.VIEWER)]


class Command(BaseCommand):
    help = (
        "Create the demo workspace, its users and the demo study (idempotent). The users get the "
        f"password {DEMO_PASSWORD!r} when DEBUG is on (or with --known-passwords); otherwise each "
        "gets a random password, printed once."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--known-passwords",
            action="store_true",
            help=f"Give new demo users the password {DEMO_PASSWORD!r} even with DEBUG off.",
        )

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        workspace, _ = Workspace.objects.get_or_create(
            slug="demo", defaults={"name": "Demo: Acme Customer Success"}
        )
        if not workspace.solution_words:
            workspace.solution_words = "Acme Hub\nAcme Academy"
            workspace.save(update_fields=["solution_words"])
        # A known password is for a local demo only: on a server (DEBUG off) it would hand the
        # owner's account, a superuser, to anyone who has read the README.
        known = settings.DEBUG or options["known_passwords"]
        User = get_user_model()
        for username, role in DEMO_USERS:
            user, created = User.objects.get_or_create(username=username)
            if created:
                password = DEMO_PASSWORD if known else secrets.token_urlsafe(12)
                user.set_password(password)
                # The demo owner also signs in to Django admin, which needs staff rights.
                user.is_staff = user.is_superuser = role == Role.OWNER
                user.save(update_fields=["password", "is_staff", "is_superuser"])
                if not known:
                    self.stdout.write(f"Created {username} ({role}) with password {password}")
            Membership.objects.get_or_create(
                workspace=workspace, user=user, defaults={"role": role}
            )
        job = self._seed_job(workspace)
        self.stdout.write(
            f"Demo workspace “{workspace.name}”: job #{job.pk} with {job.steps.count()} steps and "
            f"{job.outcomes.count()} outcomes."
        )
        survey = seed_survey(workspace, job)
        counts = survey.responses.counts()
        self.stdout.write(
            f"Demo survey #{survey.pk} “{survey.title}”: {counts['completed']} completed, "
            f"{counts['in_progress']} in progress, {counts['screened_out']} screened out."
        )
        run = AnalysisRun.objects.latest_succeeded(survey)
        if run is None:
            run = runs.analyze_now(survey=survey, parameters={"seed": 2026})
        segments = run.segmentation or {}
        self.stdout.write(
            f"Demo analysis #{run.pk}: {run.status}, {run.n_respondents} respondents, "
            f"segments: {segments.get('k', 1) if segments.get('found') else 'none found'}."
        )

    def _seed_job(self, workspace: Workspace) -> Job:
        job: Job | None = Job.objects.filter(
            workspace=workspace, statement=DEMO_JOB["statement"]
        ).first()
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


DEMO_SURVEY_TITLE = "Team tool adoption study 2026"
N_COMPLETED = 320


def seed_survey(workspace: Workspace, job: Job) -> Survey:
    """A published survey over the demo job with a few hundred plausible responses."""
    survey = Survey.objects.filter(workspace=workspace, title=DEMO_SURVEY_TITLE).first()
    if survey is None:
        survey = survey_services.create_survey(
            workspace=workspace, job=job, title=DEMO_SURVEY_TITLE
        )
        survey.consent_text = (
            "Your answers are confidential and reported only in aggregate. "
            "You can stop at any time."
        )
        survey.ask_current_solution = True
        survey.current_solution_options = list(demo.CURRENT_SOLUTIONS)
        survey.ask_nps = True
        survey.nps_subject = "the way your team adopts new tools today"
        survey.target_completes = 400
        survey.save()
        questions = [
            (
                "recent_rollout",
                "single",
                "Has your team started using a newly purchased "
                "software tool in the last 12 months?",
                ["Yes", "No"],
                True,
                False,
                ["No"],
            ),
            ("role", "single", "What is your role?", demo.ROLES, False, False, []),
            (
                "company_size",
                "single",
                "How many people work in your company?",
                demo.COMPANY_SIZES,
                False,
                True,
                [],
            ),
            ("team_size", "number", "How many people are in your team?", [], False, True, []),
        ]
        for order, (key, kind, text, options, screener, factor, out) in enumerate(questions, 1):
            Question.objects.create(
                survey=survey,
                key=key,
                kind=kind,
                text=text,
                options=list(options),
                screener=screener,
                complexity_factor=factor,
                disqualifying=out,
                order=order,
                minimum=1 if kind == "number" else None,
                maximum=5000 if kind == "number" else None,
            )
        survey_services.publish_survey(survey=survey)
    if not survey.responses.exists():
        _seed_responses(survey)
    return survey


def _seed_responses(survey: Survey) -> None:
    version = survey.current_version
    assert version is not None  # called on the published demo survey
    codes = version.outcome_codes
    pages = flow.build_pages(version.content)
    people = demo.generate(codes, n=N_COMPLETED, seed=2026)
    rng = np.random.default_rng(7)
    now = timezone.now()
    # A few careless respondents, as in any real fieldwork: straight-liners and speeders.
    people.importance[:6] = 4
    people.satisfaction[:6] = 4
    people.minutes[6:10] = 2.0
    invitations = Invitation.objects.bulk_create(
        Invitation(survey=survey, external_id=f"cust-{i:04d}") for i in range(1, 81)
    )
    rows = []
    for i in range(N_COMPLETED):
        started = now - timedelta(days=float(rng.uniform(1, 21)))
        minutes = float(people.minutes[i])
        invitation = invitations[i] if i < len(invitations) else None
        response = Response(
            survey=survey,
            version=version,
            invitation=invitation,
            respondent_id=invitation.external_id if invitation else f"web-{i:04d}",
            status=ResponseStatus.COMPLETED,
            page=len(pages),
            ratings=ratings.encode(list(people.importance[i]), list(people.satisfaction[i])),
            shown_order=flow.shuffled_orders(pages, random.Random(i)),
            profile={
                "recent_rollout": "Yes",
                "role": people.role[i],
                "company_size": people.company_size[i],
                "team_size": people.team_size[i],
            },
            current_solution=people.current_solution[i],
            nps=int(people.nps[i]),
            started_at=started,
            page_started_at=started + timedelta(minutes=minutes),
            completed_at=started + timedelta(minutes=minutes),
            duration_seconds=minutes * 60,
        )
        response.flags = survey_services.own_flags(response)
        rows.append(response)
    for i in range(24):  # people who stopped part-way, at different pages
        started = now - timedelta(days=float(rng.uniform(0, 21)))
        rows.append(
            Response(
                survey=survey,
                version=version,
                respondent_id=f"web-partial-{i:03d}",
                status=ResponseStatus.IN_PROGRESS,
                page=int(rng.integers(1, len(pages))),
                ratings=ratings.encode([None] * len(codes), [None] * len(codes)),
                shown_order=flow.shuffled_orders(pages, random.Random(1000 + i)),
                started_at=started,
                page_started_at=started,
            )
        )
    for i in range(15):
        started = now - timedelta(days=float(rng.uniform(0, 21)))
        rows.append(
            Response(
                survey=survey,
                version=version,
                respondent_id=f"web-screened-{i:03d}",
                status=ResponseStatus.SCREENED_OUT,
                page=1,
                profile={"recent_rollout": "No"},
                ratings=ratings.encode([None] * len(codes), [None] * len(codes)),
                started_at=started,
                page_started_at=started,
                completed_at=started,
            )
        )
    Response.objects.bulk_create(rows, batch_size=500)
    survey_services.refresh_speeders(survey_id=survey.pk)
