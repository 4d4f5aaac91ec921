"""REST API for surveys: authoring, publication, questions and fieldwork.

The actions about respondents (invitations, response imports, erasure) and the invitation and
response lists are in surveys/respondent_api.py; the public submission endpoint, for surveys
embedded in other tools, is in surveys/public_api.py.

Querysets are scoped to the user's workspaces, so another workspace's object is a 404; viewers
read, and writes need an owner or researcher (403 otherwise).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Prefetch, ProtectedError, Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from config.api import Conflict, as_drf_error
from config.params import filter_by_choice, filter_by_id
from jtbd.models import DesiredOutcome, Job
from surveys import services
from surveys.fieldwork import fieldwork_stats
from surveys.models import (
    Question,
    ResponseStatus,
    Survey,
    SurveyOutcome,
    SurveyStatus,
)
from surveys.respondent_api import SURVEY_FILTER, RespondentActions
from surveys.serializers import (
    FieldworkSerializer,
    PublishResultSerializer,
    QuestionSerializer,
    SurveySerializer,
    SurveyVersionSerializer,
)
from workspaces.permissions import CanWriteWorkspace, require_write


def _outcomes_by_code(job: Job, codes: list[str]) -> list[DesiredOutcome]:
    """The job's outcomes in the given order; unknown codes are a 400 listing them."""
    codes = list(dict.fromkeys(codes))
    if not codes:
        raise ValidationError({"outcomes": "Choose at least one outcome."})
    found = {o.code: o for o in job.outcomes.filter(code__in=codes)}
    unknown = [c for c in codes if c not in found]
    if unknown:
        raise ValidationError(
            {"outcomes": f"Not outcomes of the survey's job: {', '.join(unknown)}."}
        )
    return [found[c] for c in codes]


SURVEY_FILTERS = [
    OpenApiParameter("workspace", int, description="Only this workspace's surveys."),
    OpenApiParameter("job", int, description="Only surveys of this job."),
    OpenApiParameter("status", str, enum=["draft", "open", "closed"]),
]


@extend_schema(parameters=SURVEY_FILTERS)
class SurveyViewSet(RespondentActions, viewsets.ModelViewSet):
    serializer_class = SurveySerializer
    permission_classes = [IsAuthenticated, CanWriteWorkspace]

    def get_queryset(self):
        responses = {
            "n_started": Q(),
            "n_completed": Q(responses__status=ResponseStatus.COMPLETED),
            "n_screened_out": Q(responses__status=ResponseStatus.SCREENED_OUT),
            "n_in_progress": Q(responses__status=ResponseStatus.IN_PROGRESS),
            "n_flagged": Q(responses__status=ResponseStatus.COMPLETED) & ~Q(responses__flags=[]),
        }
        links = SurveyOutcome.objects.select_related("outcome__step").order_by(
            "outcome__step__order", "outcome__step_id", "order", "outcome__order", "outcome_id"
        )
        qs = (
            Survey.objects.for_user(self.request.user)
            .select_related("workspace", "job", "current_version")
            .defer("current_version__content")
            .prefetch_related(Prefetch("surveyoutcome_set", links, to_attr="ordered_links"))
            .annotate(
                **{name: Count("responses", filter=match) for name, match in responses.items()}
            )
        )
        qs = filter_by_id(qs, self.request.query_params, "workspace")
        qs = filter_by_id(qs, self.request.query_params, "job")
        qs = filter_by_choice(qs, self.request.query_params, "status", SurveyStatus.values)
        return qs

    def perform_create(self, serializer: BaseSerializer[Survey]) -> None:
        data = dict(serializer.validated_data)
        job = data.pop("job")
        require_write(self.request, job.workspace)
        codes = data.pop("outcomes", None)
        title = data.pop("title")
        try:
            with transaction.atomic():
                survey = services.create_survey(
                    workspace=job.workspace,
                    job=job,
                    title=title,
                    outcomes=None if codes is None else _outcomes_by_code(job, codes),
                )
                if data:
                    for name, value in data.items():
                        setattr(survey, name, value)
                    survey.save(update_fields=[*data, "updated_at"])
                services.check_design(survey)
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from None
        serializer.instance = survey

    def perform_update(self, serializer: BaseSerializer[Survey]) -> None:
        survey = serializer.instance
        assert survey is not None  # an update's serializer holds the object it changes
        data = dict(serializer.validated_data)
        data.pop("job", None)
        codes = data.pop("outcomes", None)
        try:
            with transaction.atomic():
                if codes is not None:
                    outcomes = _outcomes_by_code(survey.job, codes)
                    services.set_outcomes(survey=survey, outcomes=outcomes)
                    survey.__dict__.pop("ordered_links", None)
                if data:
                    for name, value in data.items():
                        setattr(survey, name, value)
                    survey.save(update_fields=[*data, "updated_at"])
                services.check_design(survey)
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from None

    @extend_schema(
        responses={
            204: None,
            409: OpenApiResponse(description="The survey has responses; nothing was deleted."),
        }
    )
    def destroy(self, request, *args, **kwargs) -> Response:
        return super().destroy(request, *args, **kwargs)

    def perform_destroy(self, instance: Survey) -> None:
        with transaction.atomic():
            # The lock makes a response arriving now wait, so no answer is deleted unseen.
            Survey.objects.select_for_update().filter(pk=instance.pk).first()
            if instance.responses.exists():
                raise Conflict(
                    "The survey has responses, so it cannot be deleted; close it instead."
                )
            try:
                instance.delete()
            except ProtectedError:
                raise Conflict("Other records still use this survey; close it instead.") from None

    @extend_schema(
        request=None,
        responses={200: PublishResultSerializer, 400: OpenApiTypes.OBJECT},
        description="Freeze what respondents see as a new version and open the survey. Unchanged "
        "content keeps the current version.",
    )
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None, format=None) -> Response:
        survey = self.get_object()
        before = survey.current_version_id
        try:
            version = services.publish_survey(survey=survey, by=request.user)
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from None
        survey.refresh_from_db(fields=["status"])
        return Response(
            {
                "number": version.number,
                "content_hash": version.content_hash,
                "status": survey.status,
                "new_version": version.pk != before,
            }
        )

    @extend_schema(request=None, responses=SurveySerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None, format=None) -> Response:
        survey = self.get_object()
        survey.close()
        return Response(self.get_serializer(survey).data)

    @extend_schema(request=None, responses={200: SurveySerializer, 400: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None, format=None) -> Response:
        survey = self.get_object()
        if survey.current_version_id is None:
            raise ValidationError({"detail": "Publish the survey first."})
        survey.reopen()
        return Response(self.get_serializer(survey).data)

    @extend_schema(responses=FieldworkSerializer)
    @action(detail=True, methods=["get"])
    def fieldwork(self, request, pk=None, format=None) -> Response:
        return Response(fieldwork_stats(self.get_object()))

    # Not paginated (a survey has few versions): pagination_class=None says so in the schema too.
    @extend_schema(responses=SurveyVersionSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def versions(self, request, pk=None, format=None) -> Response:
        survey = self.get_object()
        versions = survey.versions.select_related("published_by").order_by("number")
        return Response(SurveyVersionSerializer(versions, many=True).data)


@extend_schema(parameters=[SURVEY_FILTER])
class QuestionViewSet(viewsets.ModelViewSet):
    serializer_class = QuestionSerializer
    permission_classes = [IsAuthenticated, CanWriteWorkspace]

    def get_queryset(self):
        qs = Question.objects.filter(survey__in=Survey.objects.for_user(self.request.user))
        return filter_by_id(qs, self.request.query_params, "survey").order_by(
            "survey_id", "order", "id"
        )

    def perform_create(self, serializer: BaseSerializer[Question]) -> None:
        survey = serializer.validated_data["survey"]
        require_write(self.request, survey.workspace)
        last = survey.questions.order_by("-order").values_list("order", flat=True).first()
        self._save(serializer, order=(last or 0) + 1)

    def perform_update(self, serializer: BaseSerializer[Question]) -> None:
        self._save(serializer)

    def _save(self, serializer: BaseSerializer[Question], **extra) -> None:
        question = serializer.instance or Question()
        data = {**serializer.validated_data, **extra}
        for name, value in data.items():
            setattr(question, name, value)
        try:
            with transaction.atomic():
                if question.pk is None:
                    question.save()
                else:
                    question.save(update_fields=list(data))
        except IntegrityError:
            # Another request took the key between the check and the write.
            raise ValidationError(
                {"key": f"Another question already uses the key “{question.key}”."}
            ) from None
        serializer.instance = question


# --- public submission ---------------------------------------------------------------------------
