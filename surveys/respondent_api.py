"""REST API for a survey's respondents: invitations, responses, response imports and erasure of
personal data.

`RespondentActions` holds the actions on /api/surveys/<id>/ that concern respondents (the
survey viewset in surveys/api.py includes them); `InvitationViewSet` and `ResponseViewSet` list
and read them. Scoped like the rest of the API: another workspace's object is a 404; viewers
read, and writes need an owner or researcher (403 otherwise).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import IntegrityError
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response

from config.api import Conflict
from config.params import filter_by_choice, filter_by_id, valid_id
from surveys import erasure, importing, services, wide_csv
from surveys.invitations import (
    LINKS_DENIED,
    add_invitations,
    links_csv,
    may_see_links,
    parse_people,
)
from surveys.models import Invitation, ResponseStatus, Survey
from surveys.models import Response as SurveyResponse
from surveys.respondent_serializers import (
    ErasureRecordSerializer,
    ErasureRequestSerializer,
    ImportOptionsSerializer,
    ImportStudySerializer,
    InclusionSerializer,
    InvitationsAddedSerializer,
    InvitationSerializer,
    PeopleSerializer,
    ProblemListSerializer,
    ResponseImportErrorSerializer,
    ResponseImportResultSerializer,
    ResponseSerializer,
)
from workspaces.models import WRITE_ROLES, Membership
from workspaces.permissions import CanWriteWorkspace, require_write

SURVEY_FILTER = OpenApiParameter("survey", int, description="Only this survey's rows.")


def _import_problems(exc: wide_csv.ResponseImportError) -> Response:
    return Response(
        {
            "detail": f"Import refused: {len(exc.problems)} problem(s); nothing was stored.",
            "problems": [p.to_dict() for p in exc.problems[: wide_csv.REPORT_LIMIT]],
            "total": len(exc.problems),
        },
        status=status.HTTP_400_BAD_REQUEST,
    )


def _import_result(result: importing.ImportResult) -> Response:
    return Response(
        {
            "survey": result.survey.pk,
            "responses": result.created,
            "codes": result.codes,
            "ignored_columns": result.ignored_columns,
        },
        status=status.HTTP_201_CREATED,
    )


IMPORT_RESPONSES = {201: ResponseImportResultSerializer, 400: ResponseImportErrorSerializer}


def _options(data: ImportOptionsSerializer) -> wide_csv.ImportOptions:
    values = data.validated_data
    return wide_csv.ImportOptions(
        id_column=values["id_column"],
        importance_pattern=values["importance_pattern"],
        satisfaction_pattern=values["satisfaction_pattern"],
        profile_columns=values["profile_columns"],
    )


class CanSeePersonalLinks(BasePermission):
    """Invitations carry personal links: owners and researchers only (viewers get 403)."""

    message = LINKS_DENIED

    def has_object_permission(self, request, view, obj) -> bool:
        return may_see_links(survey=obj.survey, user=request.user)


def require_links(request, survey: Survey) -> None:
    if not may_see_links(survey=survey, user=request.user):
        raise PermissionDenied(LINKS_DENIED)


@extend_schema(
    parameters=[SURVEY_FILTER],
    responses={200: InvitationSerializer, 403: OpenApiResponse(description=LINKS_DENIED)},
)
class InvitationViewSet(viewsets.ReadOnlyModelViewSet):
    """Invitations with their personal links, in the workspaces where you are an owner or a
    researcher. A viewer asking for one (or for a survey's list) gets 403."""

    serializer_class = InvitationSerializer
    permission_classes = [IsAuthenticated, CanSeePersonalLinks]

    def get_queryset(self):
        surveys = Survey.objects.for_user(self.request.user)
        if self.action == "list" and self.request.user.is_authenticated:
            # Only the workspaces where the caller may see links (see list() for the rest).
            surveys = surveys.filter(
                workspace__memberships__user=self.request.user,
                workspace__memberships__role__in=WRITE_ROLES,
            )
        qs = Invitation.objects.filter(survey__in=surveys).select_related("survey__workspace")
        return filter_by_id(qs.with_status(), self.request.query_params, "survey").order_by(
            "survey_id", "id"
        )

    def list(self, request, *args, **kwargs) -> Response:
        # A viewer asking for a survey's links, or a user who is a viewer everywhere, is refused
        # rather than answered with an empty list that would read as "nobody was invited".
        survey_id = valid_id(request.query_params.get("survey"))
        survey = Survey.objects.for_user(request.user).filter(pk=survey_id).first()
        if survey is not None:
            require_links(request, survey)
        if not Membership.objects.filter(user=request.user, role__in=WRITE_ROLES).exists():
            raise PermissionDenied(LINKS_DENIED)
        return super().list(request, *args, **kwargs)


@extend_schema(
    parameters=[
        SURVEY_FILTER,
        OpenApiParameter("status", str, enum=ResponseStatus.values),
        OpenApiParameter("flagged", str, enum=["1"], description="Only flagged responses."),
    ]
)
class ResponseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ResponseSerializer
    permission_classes = [IsAuthenticated, CanWriteWorkspace]

    def get_queryset(self):
        qs = SurveyResponse.objects.for_user(self.request.user).defer("shown_order", "page_seconds")
        qs = filter_by_id(qs, self.request.query_params, "survey")
        qs = filter_by_choice(qs, self.request.query_params, "status", ResponseStatus.values)
        if self.request.query_params.get("flagged") == "1":
            qs = qs.exclude(flags=[])
        return qs.order_by("id")

    @extend_schema(request=InclusionSerializer, responses=ResponseSerializer)
    @action(detail=True, methods=["post"])
    def inclusion(self, request, pk=None, format=None) -> Response:
        """Decide by hand whether analysis uses this response (null: follow the flags)."""
        response = self.get_object()
        data = InclusionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.set_inclusion(response=response, include=data.validated_data["include"])
        return Response(self.get_serializer(response).data)


# The survey viewset's actions about respondents: inviting, importing, erasing. (A comment, not a
# docstring: the schema would take a docstring as every survey operation's description.)
class RespondentActions:
    if TYPE_CHECKING:  # given by the viewset this is mixed into (surveys.api.SurveyViewSet)

        def get_object(self) -> Survey: ...

    @extend_schema(
        request={"multipart/form-data": ImportOptionsSerializer},
        responses=IMPORT_RESPONSES,
        description="Add responses from a wide CSV to this published survey. Any problem: 400 "
        "with the first 50 problems and their total; nothing is stored.",
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="import-responses",
        parser_classes=[MultiPartParser, FormParser],
    )
    def import_responses(self, request, pk=None, format=None) -> Response:
        survey = self.get_object()
        data = ImportOptionsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            result = importing.import_responses(
                survey=survey, data=data.validated_data["file"].read(), options=_options(data)
            )
        except wide_csv.ResponseImportError as exc:
            return _import_problems(exc)
        except IntegrityError:
            raise Conflict(
                "Some respondent ids arrived in this survey while importing; nothing was stored. "
                "Try again."
            ) from None
        return _import_result(result)

    @extend_schema(
        request={"multipart/form-data": ImportStudySerializer},
        responses=IMPORT_RESPONSES,
        description="Create a job with the file's outcome codes, a closed survey over them and "
        "its responses. Any problem: 400 with the problems; nothing is stored.",
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import-study",
        parser_classes=[MultiPartParser, FormParser],
    )
    def import_study(self, request, format=None) -> Response:
        data = ImportStudySerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        workspace = data.validated_data["workspace"]
        require_write(request, workspace)
        try:
            result = importing.import_study(
                workspace=workspace,
                name=data.validated_data["name"],
                data=data.validated_data["file"].read(),
                options=_options(data),
            )
        except wide_csv.ResponseImportError as exc:
            return _import_problems(exc)
        return _import_result(result)

    @extend_schema(
        request=PeopleSerializer,
        responses={201: InvitationsAddedSerializer, 400: ProblemListSerializer},
        description="Invite people by external id or e-mail address; people already invited "
        "keep their link and count as skipped.",
    )
    @action(detail=True, methods=["post"], url_path="invitations")
    def add_invitations(self, request, pk=None, format=None) -> Response:
        survey = self.get_object()
        data = PeopleSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        people, problems = parse_people("\n".join(data.validated_data["people"]))
        if problems or not people:
            return Response(
                {
                    "detail": "Nobody was invited.",
                    "problems": problems or ["Give at least one id or e-mail address."],
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        created, skipped = add_invitations(survey=survey, people=people)
        return Response({"created": created, "skipped": skipped}, status=status.HTTP_201_CREATED)

    @extend_schema(
        responses={
            (200, "text/csv"): OpenApiTypes.STR,
            403: OpenApiResponse(description=LINKS_DENIED),
        },
        description="Every invitation as CSV: external_id, email, link, status. Owners and "
        "researchers only: a personal link lets anyone answer as the invitee.",
    )
    @action(detail=True, methods=["get"], url_path="invitations-csv")
    def invitations_csv(self, request, pk=None, format=None) -> HttpResponse:
        survey = self.get_object()
        require_links(request, survey)
        http = HttpResponse(
            links_csv(survey, request.build_absolute_uri), content_type="text/csv; charset=utf-8"
        )
        http["Content-Disposition"] = f'attachment; filename="survey-{survey.pk}-links.csv"'
        return http

    @extend_schema(
        request=ErasureRequestSerializer,
        responses={
            201: ErasureRecordSerializer,
            400: OpenApiTypes.OBJECT,
            403: OpenApiResponse(description="Only the workspace's owners can erase."),
            404: OpenApiResponse(
                description="No such survey in your workspaces, or nothing in the survey is "
                "identified by the respondent given; nothing was erased."
            ),
        },
        description="Erase personal data: one respondent's invitation e-mail address and id "
        '({"respondent": "..."}: an e-mail address, external id, invitation token or '
        'respondent id), or everyone\'s ({"all": true, "confirm": "<the survey\'s title>"}). '
        "Respondent ids become pseudonyms in responses, stored results and exports; erased "
        "invitation links stop working; answers and scores stay. Owners only; each erasure "
        "is recorded (see erasures) and erasing again changes nothing.",
    )
    @action(detail=True, methods=["post"])
    def erase(self, request, pk=None, format=None) -> Response:
        survey = self.get_object()
        if not erasure.may_erase(survey=survey, user=request.user):
            raise PermissionDenied("Only the workspace's owners can erase personal data.")
        body = ErasureRequestSerializer(data=request.data, context={"survey": survey})
        body.is_valid(raise_exception=True)
        values = body.validated_data
        try:
            if values.get("all"):
                record = erasure.erase_survey_personal_data(survey=survey, by=request.user)
            else:
                record = erasure.erase_respondent(
                    survey=survey, respondent=values["respondent"], by=request.user
                )
        except erasure.UnknownRespondent as exc:
            raise NotFound(str(exc)) from None
        return Response(ErasureRecordSerializer(record).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        responses=ErasureRecordSerializer(many=True),
        description="The survey's erasures of personal data, newest first: who, when, what "
        "and how many rows changed; never the erased identifiers.",
    )
    @action(detail=True, methods=["get"], pagination_class=None)  # the schema says: not paginated
    def erasures(self, request, pk=None, format=None) -> Response:
        survey = self.get_object()
        return Response(ErasureRecordSerializer(survey.erasures.all(), many=True).data)
