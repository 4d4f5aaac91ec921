"""Shared pieces of the security tests."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pytest

from analysis import export_jobs, runs
from analysis.core import synthetic
from analysis.models import AnalysisRun, ExportJob, SegmentResult
from jtbd import services as jtbd_services
from jtbd.models import DesiredOutcome, Job, JobKind, JobStep, OutcomeStatus
from surveys import services
from surveys.importing import import_responses
from surveys.models import Invitation, Question, QuestionKind, Response, Survey
from surveys.wide_csv import ImportOptions
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory
from workspaces.models import Role, Workspace


@pytest.fixture
def survey(job) -> Survey:
    """A published survey over the job's three outcomes."""
    survey = services.create_survey(workspace=job.workspace, job=job, title="Adoption")
    services.publish_survey(survey=survey)
    return survey


@pytest.fixture
def invitation(survey) -> Invitation:
    return Invitation.objects.create(survey=survey, external_id="person-1")


def public_api_url(survey: Survey) -> str:
    return f"/api/public/surveys/{survey.public_token}/responses/"


def answers(survey: Survey) -> dict:
    codes = survey.current_version.outcome_codes
    return {"answers": {"ratings": {c: {"importance": 4, "satisfaction": 2} for c in codes}}}


# --- one fixture world for the isolation, schema and escaping tests ---------------------------
#
# `build_world` writes each researcher-written text through `text()`, so the isolation tests get
# plain, recognisable texts and the escaping tests get attack payloads in every one of them.

WORLD_OUTCOMES = [
    "Minimize the time it takes to find who on the team has not started using the tool",
    "Minimize the likelihood that team members revert to the old way of working",
    "Minimize the number of questions the team asks about where to find information",
    "Minimize the time it takes to see which tasks are blocked",
    "Minimize the likelihood of missing a deadline because of a handover",
    "Minimize the effort it takes to agree on the next priority",
]
N_RESPONDENTS = 240


def plain(prefix: str) -> Callable[[str], str]:
    """Texts that say whose they are, so a leak is easy to spot."""
    return lambda text: f"{prefix} {text}"


@dataclass
class World:
    """Every object of one workspace, by the part it plays in the URL configuration."""

    workspace: Workspace
    owner: object
    job: Job
    steps: list[JobStep]
    step: JobStep  # empty, so a leaked delete would succeed and show
    outcome: DesiredOutcome
    survey: Survey  # published, with questions, invitations, responses and results
    question: Question
    invitation: Invitation
    response: Response
    run: AnalysisRun  # queued, so a leaked cancel would show
    succeeded_run: AnalysisRun
    segment: SegmentResult
    export: ExportJob
    other_survey: Survey  # a draft: nobody outside the workspace may see its texts
    texts: list[str] = field(default_factory=list)

    def object_for(self, model: type) -> object:
        """The world's object of this model, for a URL parameter naming one."""
        by_model = {
            Workspace: self.workspace,
            Job: self.job,
            JobStep: self.step,
            DesiredOutcome: self.outcome,
            Survey: self.survey,
            Question: self.question,
            Invitation: self.invitation,
            Response: self.response,
            AnalysisRun: self.run,
            SegmentResult: self.segment,
            ExportJob: self.export,
        }
        return by_model[model]


def _ratings_csv(codes: list[str], imp, sat, profile: dict[str, list[str]]) -> str:
    header = ["respondent_id", *profile, *(f"{p}_{c}" for c in codes for p in ("imp", "sat"))]
    lines = [",".join(header)]
    for i in range(imp.shape[0]):
        pairs = np.ravel(np.column_stack([imp[i], sat[i]]))
        cells = [str(v) if v else "" for v in pairs]
        lines.append(",".join([f"resp-{i:04d}", *(v[i] for v in profile.values()), *cells]))
    return "\n".join(lines) + "\n"


def _quote(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def build_world(name: str, text: Callable[[str], str], *, slug: str) -> World:
    """Workspace `name` with an owner, a catalogue, a published and analysed survey with
    invitations, responses, segments and an export, and a second (draft) survey."""
    texts: list[str] = []

    def t(value: str) -> str:
        texts.append(text(value))
        return texts[-1]

    workspace = WorkspaceFactory(name=t(name), slug=slug)
    owner = UserFactory(username=f"{slug}-owner")
    MembershipFactory(workspace=workspace, user=owner, role=Role.OWNER)

    job = jtbd_services.create_job(
        workspace=workspace,
        statement=t("Get a newly purchased tool adopted across my team"),
        executor=t("Team lead"),
        kind=JobKind.CORE_FUNCTIONAL,
        notes=t("Interview notes"),
    )
    steps = list(job.steps.order_by("order"))
    for step in steps[:2]:
        JobStep.objects.filter(pk=step.pk).update(title=t(step.title))
    outcomes = [
        jtbd_services.add_outcome(
            step=steps[0], statement=s, status=OutcomeStatus.APPROVED, confirm_flagged=True
        )
        for s in WORLD_OUTCOMES
    ]
    # Stored as a researcher's edit stores it; the statement checker is not under test here.
    for outcome in outcomes[:3]:
        DesiredOutcome.objects.filter(pk=outcome.pk).update(statement=t(outcome.statement))
    steps = list(job.steps.order_by("order"))

    survey = services.create_survey(workspace=workspace, job=job, title=t("Adoption survey"))
    # Imports trim cells, so options do not start with blanks (a leading tab or CR).
    role_options = [t("Lead").strip(), t("Engineer").strip()]
    solutions = [t("Spreadsheets"), t("Whiteboard")]
    Survey.objects.filter(pk=survey.pk).update(
        welcome_text=t("Welcome to our study"),
        thank_you_text=t("Thanks for your time"),
        consent_text=t("I agree to take part"),
        ask_current_solution=True,
        current_solution_options=solutions,
    )
    survey.refresh_from_db()
    question = Question.objects.create(
        survey=survey,
        key="role",
        kind=QuestionKind.SINGLE,
        text=t("What is your role?"),
        options=role_options,
        required=False,
        order=1,
    )
    services.publish_survey(survey=survey, by=owner)
    survey.refresh_from_db()
    invitation = Invitation.objects.create(
        survey=survey, external_id="panel-0001", email=f"invitee@{slug}.example"
    )
    Invitation.objects.create(survey=survey, email=f"second@{slug}.example")

    codes = survey.current_version.outcome_codes
    imp, sat, labels = synthetic.generate(N_RESPONDENTS, len(codes), 2, seed=3)
    profile = {"role": [_quote(role_options[int(s) % 2]) for s in labels]}
    import_responses(
        survey=survey,
        data=_ratings_csv(codes, imp, sat, profile),
        options=ImportOptions(profile_columns=("role",)),
    )
    # Current solutions as respondents chose them (the import has no column for them).
    for response, solution in zip(
        survey.responses.order_by("pk"), itertools.cycle(solutions), strict=False
    ):
        Response.objects.filter(pk=response.pk).update(current_solution=solution)
    response = survey.responses.order_by("pk").first()

    succeeded = runs.analyze_now(
        survey=survey, parameters={"segments": 2, "n_resamples": 1000}, by=owner
    )
    assert succeeded.status == "succeeded", succeeded.error
    segment = succeeded.segments.order_by("number").first()
    assert segment is not None, succeeded.segmentation
    segment.rename(t("Strugglers"))
    export = export_jobs.request_export(run=succeeded, fmt="csv", by=owner)
    export_jobs.build(export.pk)  # the worker's part: the test's transaction never commits
    export.refresh_from_db()
    queued = AnalysisRun.objects.create(survey=survey, requested_by=owner)

    other = services.create_survey(
        workspace=workspace, job=job, title=t("Unreleased pricing survey")
    )
    Survey.objects.filter(pk=other.pk).update(welcome_text=t("Confidential pricing welcome"))
    Question.objects.create(
        survey=other, key="budget", kind=QuestionKind.TEXT, text=t("Secret budget question")
    )

    return World(
        workspace=workspace,
        owner=owner,
        job=job,
        steps=steps,
        step=steps[1],
        outcome=outcomes[0],
        survey=survey,
        question=question,
        invitation=invitation,
        response=response,
        run=queued,
        succeeded_run=succeeded,
        segment=segment,
        export=export,
        other_survey=other,
        texts=texts,
    )


@pytest.fixture
def world_b(db) -> World:
    """Workspace B, the one under attack."""
    return build_world("Bravo Labs", plain("Bravo"), slug="bravo")


@pytest.fixture
def attacker(db) -> object:
    """The owner (the strongest role) of workspace A, which has a catalogue and a survey of its
    own so that list endpoints have something to return."""
    workspace = WorkspaceFactory(name="Alpha Inc", slug="alpha")
    user = UserFactory(username="alpha-owner")
    MembershipFactory(workspace=workspace, user=user, role=Role.OWNER)
    job = jtbd_services.create_job(
        workspace=workspace,
        statement="Keep my own team's work on track",
        executor="Manager",
        kind=JobKind.CORE_FUNCTIONAL,
    )
    jtbd_services.add_outcome(
        step=job.steps.order_by("order").first(),
        statement="Minimize the time it takes to see who is blocked on the team",
        status=OutcomeStatus.APPROVED,
    )
    own = services.create_survey(workspace=workspace, job=job, title="Alpha survey")
    Question.objects.create(survey=own, key="team", kind=QuestionKind.TEXT, text="Team?")
    services.publish_survey(survey=own, by=user)
    Invitation.objects.create(survey=own, external_id="alpha-1")
    return user
