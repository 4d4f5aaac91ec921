"""REST API for the catalogue: thin viewsets over workspace-scoped querysets."""

from __future__ import annotations

from collections import defaultdict

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from config.api import ERROR_BODY, Conflict, as_drf_error
from config.params import filter_by_choice, filter_by_id, valid_id
from config.parsers import SafeJSONParser
from jtbd import catalogue, services
from jtbd.models import DesiredOutcome, Job, JobStep, OutcomeStatus
from jtbd.serializers import (
    ApprovalSerializer,
    ApproveSerializer,
    DesiredOutcomeSerializer,
    FlaggedErrorSerializer,
    ImportErrorSerializer,
    ImportResultSerializer,
    JobSerializer,
    JobStepSerializer,
    MoveSerializer,
    ReorderSerializer,
    StatementCheckInputSerializer,
    StatementCheckSerializer,
    flagged_list,
)
from jtbd.statements import check_statement
from workspaces.models import Workspace
from workspaces.permissions import CanWriteWorkspace, require_write


def _import_problem_response(exc: catalogue.CatalogueImportError) -> Response:
    return Response(
        {"detail": str(exc), "problems": [p.to_dict() for p in exc.problems]},
        status=status.HTTP_400_BAD_REQUEST,
    )


def _refused_delete(code: int, why: str):
    return extend_schema(responses={204: None, code: OpenApiResponse(ERROR_BODY, description=why)})


@extend_schema_view(
    destroy=_refused_delete(409, "The job still has surveys (with responses and results).")
)
class JobViewSet(viewsets.ModelViewSet):
    serializer_class = JobSerializer
    permission_classes = [IsAuthenticated, CanWriteWorkspace]

    def get_queryset(self):
        qs = (
            Job.objects.for_user(self.request.user)
            .select_related("workspace")
            .annotate(
                n_steps=Count("steps", distinct=True), n_outcomes=Count("outcomes", distinct=True)
            )
        )
        return filter_by_id(qs, self.request.query_params, "workspace")

    def perform_create(self, serializer: BaseSerializer[Job]) -> None:
        data = serializer.validated_data
        require_write(self.request, data["workspace"])
        try:
            serializer.instance = services.create_job(**data)
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from None

    def perform_destroy(self, instance: Job) -> None:
        try:
            services.delete_job(job=instance)
        except DjangoValidationError as exc:
            raise Conflict(" ".join(exc.messages)) from None

    def perform_update(self, serializer: BaseSerializer[Job]) -> None:
        job = serializer.instance
        assert job is not None  # an update's serializer holds the object it changes
        for name, value in serializer.validated_data.items():
            setattr(job, name, value)
        try:
            job.full_clean()
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from None
        job.save(update_fields=[*serializer.validated_data, "updated_at"])

    @extend_schema(
        responses={(200, "application/json"): OpenApiTypes.OBJECT},
        description="The job's whole catalogue as JSON (full fidelity; re-import with "
        "/api/jobs/import/).",
    )
    @action(detail=True, methods=["get"], url_path="export/json")
    def export_json(self, request, pk=None, format=None) -> Response:
        job = self.get_object()
        response = Response(catalogue.export_json(job))
        response["Content-Disposition"] = f'attachment; filename="catalogue-job-{job.pk}.json"'
        return response

    @extend_schema(
        responses={(200, "text/csv"): OpenApiTypes.STR},
        description="One row per outcome: stage, step_title, code, statement, status, "
        "step_description.",
    )
    @action(detail=True, methods=["get"], url_path="export/csv")
    def export_csv(self, request, pk=None, format=None) -> HttpResponse:
        job = self.get_object()
        response = HttpResponse(
            catalogue.export_csv_text(job), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="catalogue-job-{job.pk}.csv"'
        return response

    @extend_schema(
        parameters=[
            OpenApiParameter("workspace", int, required=True, description="Target workspace id")
        ],
        request={"application/json": OpenApiTypes.OBJECT},
        responses={201: ImportResultSerializer, 400: ImportErrorSerializer},
        description="Create a new job from an exported JSON catalogue. Any problem: 400 listing "
        "every problem, nothing stored.",
    )
    @action(detail=False, methods=["post"], url_path="import", parser_classes=[SafeJSONParser])
    def import_json(self, request, format=None) -> Response:
        workspace_id = valid_id(request.query_params.get("workspace"))
        workspace = (
            Workspace.objects.for_user(request.user).filter(pk=workspace_id).first()
            if workspace_id is not None
            else None
        )
        if workspace is None:
            raise ValidationError(
                {"workspace": "Give ?workspace=<id> of a workspace you belong to."}
            )
        require_write(request, workspace)
        try:
            result = catalogue.import_json(workspace, request.data)
        except catalogue.CatalogueImportError as exc:
            return _import_problem_response(exc)
        return Response(
            {
                "job": result.job.pk,
                "steps": result.steps,
                "outcomes": result.outcomes,
                "notes": result.notes,
                "ignored_columns": result.ignored_columns,
            },
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        request={
            "multipart/form-data": inline_serializer(
                "CatalogueCsvUpload", {"file": serializers.FileField()}
            )
        },
        responses={201: ImportResultSerializer, 400: ImportErrorSerializer},
        description="Add outcomes to this job from a catalogue CSV. Any problem: 400 listing every "
        "problem with its row and column, nothing stored.",
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="import-csv",
        parser_classes=[MultiPartParser, FormParser],
    )
    def import_csv(self, request, pk=None, format=None) -> Response:
        job = self.get_object()
        upload = request.FILES.get("file")
        if upload is None:
            raise ValidationError({"file": "Attach the CSV file as 'file'."})
        try:
            result = catalogue.import_csv(job, upload.read())
        except catalogue.CatalogueImportError as exc:
            return _import_problem_response(exc)
        return Response(
            {
                "job": job.pk,
                "steps": result.steps,
                "outcomes": result.outcomes,
                "notes": result.notes,
                "ignored_columns": result.ignored_columns,
            },
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        request=ApproveSerializer,
        responses=ApprovalSerializer,
        description="Approve the job's drafts that the statement check does not flag; flagged "
        "drafts stay drafts and are listed with their findings, unless confirm_flagged is true.",
    )
    @action(detail=True, methods=["post"], url_path="approve-drafts")
    def approve_drafts(self, request, pk=None, format=None) -> Response:
        job = self.get_object()
        data = ApproveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.approve_drafts(
            job=job, confirm_flagged=data.validated_data["confirm_flagged"]
        )
        return Response({"approved": result.approved, "flagged": flagged_list(result.flagged)})

    @extend_schema(request=ReorderSerializer, responses={204: None})
    @action(detail=True, methods=["post"], url_path="reorder-steps")
    def reorder_steps(self, request, pk=None, format=None) -> Response:
        job = self.get_object()
        data = ReorderSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            services.reorder_steps(job=job, step_ids=data.validated_data["step_ids"])
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from None
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(destroy=_refused_delete(400, "The step still has outcomes."))
class JobStepViewSet(viewsets.ModelViewSet):
    serializer_class = JobStepSerializer
    permission_classes = [IsAuthenticated, CanWriteWorkspace]

    def get_queryset(self):
        qs = (
            JobStep.objects.filter(job__in=Job.objects.for_user(self.request.user))
            .select_related("job__workspace")
            .annotate(n_outcomes=Count("outcomes"))
        )
        qs = filter_by_id(qs, self.request.query_params, "job")
        return qs.order_by("job_id", "order", "id")

    def perform_create(self, serializer: BaseSerializer[JobStep]) -> None:
        data = serializer.validated_data
        require_write(self.request, data["job"].workspace)
        try:
            serializer.instance = services.add_step(
                job=data["job"],
                stage=data["stage"],
                title=data["title"],
                description=data.get("description", ""),
            )
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from None

    def perform_update(self, serializer: BaseSerializer[JobStep]) -> None:
        step = serializer.instance
        assert step is not None  # an update's serializer holds the object it changes
        fields = [f for f in serializer.validated_data if f != "job"]
        for name in fields:
            setattr(step, name, serializer.validated_data[name])
        try:
            step.full_clean()
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from None
        step.save(update_fields=fields)

    def perform_destroy(self, instance: JobStep) -> None:
        try:
            services.delete_step(step=instance)
        except DjangoValidationError as exc:
            # An object like every other error body of the API (as_drf_error gave a bare list).
            raise ValidationError({"detail": " ".join(exc.messages)}) from None

    @extend_schema(request=MoveSerializer, responses={204: None})
    @action(detail=True, methods=["post"])
    def move(self, request, pk=None, format=None) -> Response:
        step = self.get_object()
        data = MoveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.move_step(step=step, offset=data.validated_data["offset"])
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    destroy=_refused_delete(409, "The outcome is in a published survey, so analyses refer to it.")
)
class DesiredOutcomeViewSet(viewsets.ModelViewSet):
    serializer_class = DesiredOutcomeSerializer
    permission_classes = [IsAuthenticated, CanWriteWorkspace]

    def get_queryset(self):
        qs = DesiredOutcome.objects.filter(
            job__in=Job.objects.for_user(self.request.user)
        ).select_related("job__workspace", "step")
        for param in ("job", "step"):
            qs = filter_by_id(qs, self.request.query_params, param)
        qs = filter_by_choice(qs, self.request.query_params, "status", OutcomeStatus.values)
        return qs.order_by("job_id", "step__order", "order", "id")

    def get_serializer_context(self) -> dict:
        context = super().get_serializer_context()
        if self.action == "list":
            # One query for every job's statements, so near-duplicate checks cost no N+1.
            siblings: dict[int, list[tuple[str, str]]] = defaultdict(list)
            job_ids = self.filter_queryset(self.get_queryset()).values_list("job_id", flat=True)
            for job_id, code, statement in DesiredOutcome.objects.filter(
                job_id__in=set(job_ids)
            ).values_list("job_id", "code", "statement"):
                siblings[job_id].append((code, statement))
            context["siblings"] = siblings
        return context

    def perform_create(self, serializer: BaseSerializer[DesiredOutcome]) -> None:
        data = serializer.validated_data
        require_write(self.request, data["step"].job.workspace)
        try:
            serializer.instance = services.add_outcome(
                step=data["step"],
                statement=data["statement"],
                code=data.get("code", ""),
                status=data.get("status", "draft"),
                confirm_flagged=data.get("confirm_flagged", False),
            )
        except services.FlaggedOutcome as exc:
            raise flagged_error(exc) from None
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from None

    def perform_update(self, serializer: BaseSerializer[DesiredOutcome]) -> None:
        data = serializer.validated_data
        code = data.get("code")
        outcome = serializer.instance
        assert outcome is not None  # an update's serializer holds the object it changes
        try:
            serializer.instance = services.update_outcome(
                outcome=outcome,
                statement=data.get("statement"),
                code=code if code else None,
                step=data.get("step"),
                status=data.get("status"),
                confirm_flagged=data.get("confirm_flagged", False),
            )
        except services.FlaggedOutcome as exc:
            raise flagged_error(exc) from None
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from None

    def perform_destroy(self, instance: DesiredOutcome) -> None:
        try:
            services.delete_outcome(outcome=instance)
        except DjangoValidationError as exc:
            raise Conflict(" ".join(exc.messages)) from None

    @extend_schema(request=MoveSerializer, responses={204: None})
    @action(detail=True, methods=["post"])
    def move(self, request, pk=None, format=None) -> Response:
        outcome = self.get_object()
        data = MoveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.move_outcome(outcome=outcome, offset=data.validated_data["offset"])
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=ApproveSerializer,
        responses={200: DesiredOutcomeSerializer, 400: FlaggedErrorSerializer},
        description="Approve the outcome. One the statement check flags needs "
        "confirm_flagged: true, else 400 naming it and its findings, and nothing changes.",
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None, format=None) -> Response:
        outcome = self.get_object()
        data = ApproveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            services.approve_outcome(
                outcome=outcome, confirm_flagged=data.validated_data["confirm_flagged"]
            )
        except services.FlaggedOutcome as exc:
            raise flagged_error(exc) from None
        return Response(self.get_serializer(outcome).data)


def flagged_error(exc: services.FlaggedOutcome) -> ValidationError:
    """The 400 of setting a flagged statement to approved unconfirmed, shaped as the approve
    actions answer it (detail and the findings per code)."""
    return ValidationError({"detail": exc.message, "flagged": flagged_list(exc.flagged)})


class StatementCheckView(APIView):
    """Parse an outcome statement and return its parts and findings, as the researcher writes."""

    @extend_schema(request=StatementCheckInputSerializer, responses=StatementCheckSerializer)
    def post(self, request) -> Response:
        data = StatementCheckInputSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        job = data.validated_data.get("job")
        solution_words: list[str] = []
        others: list[tuple[str, str]] = []
        if job is not None:
            solution_words = job.workspace.solution_word_list()
            exclude = data.validated_data.get("exclude_code", "")
            others = [
                (c, s) for c, s in job.outcomes.values_list("code", "statement") if c != exclude
            ]
        result = check_statement(
            data.validated_data["statement"], solution_words=solution_words, others=others
        )
        return Response(result.to_dict())
