"""REST API for surveys: authoring, publication, distribution, fieldwork, responses, imports,
and the public JSON submission endpoint for surveys embedded in other tools.

Querysets are scoped to the user's workspaces, so another workspace's object is a 404; viewers
read, and writes need an owner or researcher (403 otherwise).
"""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Prefetch, ProtectedError, Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import Conflict, as_drf_error
from config.params import filter_by_choice, filter_by_id
from jtbd.models import DesiredOutcome, Job
from surveys import erasure, importing, services, submission, versions
from surveys.fieldwork import fieldwork_stats
from surveys.invitations import add_invitations, links_csv, parse_people
from surveys.models import (
    Invitation,
    Question,
    ResponseStatus,
    Survey,
    SurveyOutcome,
    SurveyStatus,
)
from surveys.models import Response as SurveyResponse
from surveys.serializers import (
    ErasureRecordSerializer,
    ErasureRequestSerializer,
    FieldworkSerializer,
    ImportOptionsSerializer,
    ImportStudySerializer,
    InclusionSerializer,
    InvitationsAddedSerializer,
    InvitationSerializer,
    PeopleSerializer,
    ProblemListSerializer,
    PublicSubmissionDocSerializer,
    PublishResultSerializer,
    QuestionSerializer,
    ResponseImportErrorSerializer,
    ResponseImportResultSerializer,
    ResponseSerializer,
    SubmissionErrorSerializer,
    SubmittedSerializer,
    SurveySerializer,
    SurveyVersionSerializer,
    read_public_submission,
)
from workspaces.permissions import CanWriteWorkspace, require_write

REPORT_LIMIT = 50


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


def _import_problems(exc: importing.ResponseImportError) -> Response:
    return Response(
        {
            "detail": f"Import refused: {len(exc.problems)} problem(s); nothing was stored.",
            "problems": [p.to_dict() for p in exc.problems[:REPORT_LIMIT]],
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
SURVEY_FILTERS = [
    OpenApiParameter("workspace", int, description="Only this workspace's surveys."),
    OpenApiParameter("job", int, description="Only surveys of this job."),
    OpenApiParameter("status", str, enum=["draft", "open", "closed"]),
]


@extend_schema(parameters=SURVEY_FILTERS)
class SurveyViewSet(viewsets.ModelViewSet):
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

    def perform_create(self, serializer: SurveySerializer) -> None:
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
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from None
        serializer.instance = survey

    def perform_update(self, serializer: SurveySerializer) -> None:
        survey = serializer.instance
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

    @extend_schema(responses=SurveyVersionSerializer(many=True))
    @action(detail=True, methods=["get"])
    def versions(self, request, pk=None, format=None) -> Response:
        survey = self.get_object()
        versions = survey.versions.select_related("published_by").order_by("number")
        return Response(SurveyVersionSerializer(versions, many=True).data)

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
        except importing.ResponseImportError as exc:
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
        except importing.ResponseImportError as exc:
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
        responses={(200, "text/csv"): OpenApiTypes.STR},
        description="Every invitation as CSV: external_id, email, link, status.",
    )
    @action(detail=True, methods=["get"], url_path="invitations-csv")
    def invitations_csv(self, request, pk=None, format=None) -> HttpResponse:
        survey = self.get_object()
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
    @action(detail=True, methods=["get"])
    def erasures(self, request, pk=None, format=None) -> Response:
        survey = self.get_object()
        return Response(ErasureRecordSerializer(survey.erasures.all(), many=True).data)


def _options(data: ImportOptionsSerializer) -> importing.ImportOptions:
    values = data.validated_data
    return importing.ImportOptions(
        id_column=values["id_column"],
        importance_pattern=values["importance_pattern"],
        satisfaction_pattern=values["satisfaction_pattern"],
        profile_columns=values["profile_columns"],
    )


SURVEY_FILTER = OpenApiParameter("survey", int, description="Only this survey's rows.")


@extend_schema(parameters=[SURVEY_FILTER])
class QuestionViewSet(viewsets.ModelViewSet):
    serializer_class = QuestionSerializer
    permission_classes = [IsAuthenticated, CanWriteWorkspace]

    def get_queryset(self):
        qs = Question.objects.filter(survey__in=Survey.objects.for_user(self.request.user))
        return filter_by_id(qs, self.request.query_params, "survey").order_by(
            "survey_id", "order", "id"
        )

    def perform_create(self, serializer: QuestionSerializer) -> None:
        survey = serializer.validated_data["survey"]
        require_write(self.request, survey.workspace)
        last = survey.questions.order_by("-order").values_list("order", flat=True).first()
        self._save(serializer, order=(last or 0) + 1)

    def perform_update(self, serializer: QuestionSerializer) -> None:
        self._save(serializer)

    def _save(self, serializer: QuestionSerializer, **extra) -> None:
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


@extend_schema(parameters=[SURVEY_FILTER])
class InvitationViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = InvitationSerializer

    def get_queryset(self):
        qs = Invitation.objects.filter(
            survey__in=Survey.objects.for_user(self.request.user)
        ).with_status()
        return filter_by_id(qs, self.request.query_params, "survey").order_by("survey_id", "id")


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


# --- public submission ---------------------------------------------------------------------------


def _problems_body(detail: str, problems: list[dict]) -> dict:
    return {"detail": detail, "problems": problems}


class PublicResponseView(APIView):
    """Submit one complete response to a published survey, without an account."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    # Limited per client address by config.security.PublicRateLimitMiddleware (RATE_LIMIT_PUBLIC,
    # the same 429 body), before the request gets here: a DRF throttle would count it twice.
    throttle_classes: list = []
    parser_classes = [JSONParser]

    @extend_schema(
        auth=[],
        request=PublicSubmissionDocSerializer,
        responses={
            201: SubmittedSerializer,
            200: OpenApiResponse(
                SubmittedSerializer,
                description="This invitation or idempotency key was already used: the first "
                "response, unchanged.",
            ),
            400: SubmissionErrorSerializer,
            404: OpenApiResponse(description="No published survey has this token."),
            409: OpenApiResponse(
                description="The invitation was used on the web survey, or the survey changed "
                "while the response was stored (send it again)."
            ),
            410: OpenApiResponse(description="The survey is closed."),
            429: OpenApiResponse(description="Too many submissions from this address."),
        },
        description="Answers are checked by the web survey's rules; every problem is listed "
        "with the web form's field name (imp-CODE, sat-CODE, q-KEY, nps, ces, attention, "
        "consent, current_solution) and nothing is stored. A screener answer that ends the "
        "survey stores a screened-out response.",
    )
    def post(self, request: Request, public_token: str) -> HttpResponse:
        return self.submit(request.data, public_token)

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        # Every respondent of an embedded survey comes through here. A JSON object asking for
        # JSON is answered without DRF's request and response machinery (negotiation, parsing,
        # rendering: about a tenth of a submission's CPU time); everything else, other methods,
        # other bodies or Accept headers, goes through DRF as before.
        if request.method == "POST" and (body := _plain_json_object(request)) is not None:
            return self.submit(body, kwargs["public_token"])
        return super().dispatch(request, *args, **kwargs)

    @classmethod
    def submit(cls, data: object, public_token: str) -> JsonResponse:
        # PublicSubmissionSerializer's rules, read without DRF's field machinery (the
        # serializer still documents the body).
        values, malformed = read_public_submission(data)
        kept = versions.kept_target(public_token)
        if kept is not None:
            result, reply = cls._answer(kept, values, malformed)
            # A response stored on the kept reading stands: its INSERT checked the survey in
            # the database. Any other answer is given only if the survey is still as kept.
            if result is not None and result.created:
                return reply
            survey = versions.read_target(public_token)
            if versions.same_target(survey, kept) and not (result and result.stale):
                return reply
        else:
            survey = versions.read_target(public_token)
        return cls._answer(survey, values, malformed)[1]

    @staticmethod
    def _answer(
        survey: Survey | None, values: dict, malformed: list[dict]
    ) -> tuple[submission.Submission | None, JsonResponse]:
        """What one reading of the survey makes of the submission."""
        if survey is None or survey.current_version_id is None:
            return None, _json({"detail": "No published survey has this link."}, 404)
        if malformed:
            body = _problems_body("The submission is malformed.", malformed)
            return None, _json(body, status.HTTP_400_BAD_REQUEST)
        invitation = None
        if token := values.get("invitation"):
            invitation = Invitation.objects.filter(token=token, survey=survey).first()
            if invitation is None:
                problem = {"field": "invitation", "message": "No such invitation to this survey."}
                body = _problems_body("The submission is malformed.", [problem])
                return None, _json(body, status.HTTP_400_BAD_REQUEST)
        result = submission.submit_response(
            survey=survey,
            invitation=invitation,
            idempotency_key=values.get("idempotency_key"),
            answers=values["answers"],
        )
        if result.problems:
            problems = [{"field": p.field, "message": p.message} for p in result.problems]
            body = _problems_body(f"{len(problems)} answer(s) need attention.", problems)
            return result, _json(body, status.HTTP_400_BAD_REQUEST)
        if result.closed:
            return result, _json({"detail": "This survey is closed."}, status.HTTP_410_GONE)
        if result.conflict:
            return result, _json({"detail": result.conflict}, status.HTTP_409_CONFLICT)
        if result.stale:  # on a reading just made: it changed again meanwhile
            detail = "The survey changed while this response was stored. Send it again."
            return result, _json({"detail": detail}, status.HTTP_409_CONFLICT)
        response = result.response
        return result, _json(
            {"id": response.pk, "status": response.status, "respondent_id": response.respondent_id},
            status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )


def _json(data: dict, status_code: int) -> JsonResponse:
    """JSON as DRF's renderer writes it (UTF-8, compact), for the quick path's answers."""
    return JsonResponse(
        data,
        status=status_code,
        json_dumps_params={"ensure_ascii": False, "separators": (",", ":")},
    )


# What the quick path answers: a client asking for JSON, or for anything (DRF would choose
# JSON too). Any other Accept header is DRF's to negotiate (406, the browsable API).
_QUICK_ACCEPT = frozenset({"", "*/*", "application/*", "application/json"})


def _plain_json_object(request: HttpRequest) -> dict | None:
    """The body, when it is a JSON object sent as UTF-8 `application/json` (what clients send)
    by a client that accepts JSON and names no `format`, read as DRF's strict parser reads it
    (no NaN or Infinity); otherwise None."""
    if request.content_type != "application/json":
        return None
    if request.content_params.get("charset", "utf-8").lower() not in ("utf-8", "utf8"):
        return None
    # META, not request.headers or request.GET: those build a mapping of every header or
    # parameter first, on the busiest request there is.
    accept = request.META.get("HTTP_ACCEPT", "")
    if any(part.split(";")[0].strip() not in _QUICK_ACCEPT for part in accept.split(",")):
        return None
    if request.META.get("QUERY_STRING"):  # ?format=… is DRF's; the endpoint takes no other
        return None
    try:
        data = json.loads(request.body.decode("utf-8"), parse_constant=_not_json)
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError included
        return None
    return data if type(data) is dict else None


def _not_json(constant: str) -> None:
    raise ValueError(f"{constant} is not JSON")
