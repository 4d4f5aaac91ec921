"""The public submission endpoint: one complete response to a published survey, without an
account, for surveys embedded in other tools (`POST /api/public/surveys/<token>/responses/`),
and the assignment of a planned subset to the next respondent of such a tool
(`POST /api/public/surveys/<token>/assignment/`).

Here: the body's shape (the serializers document it for the schema and are the reference
path's rules) and the view, which hands the request to the submission path that
PUBLIC_SUBMISSION_PATH chooses (surveys/fastpath/: the fast path, or the plain reference path).
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse
from rest_framework.views import APIView

from config.parsers import SafeJSONParser
from surveys import design
from surveys.fastpath import quick, reference
from surveys.models import ResponseStatus, Survey, SurveyVersion


@extend_schema_field(OpenApiTypes.INT)
class _LooseInt(serializers.Field):
    """Documented as an integer, but any value passes: the survey's own rules judge it and
    report it per field, exactly as the web survey would."""

    def to_internal_value(self, data):
        return data

    def to_representation(self, value):
        return value


class SubmittedRatingSerializer(serializers.Serializer):
    importance = _LooseInt(required=False, help_text="1–5")
    satisfaction = _LooseInt(required=False, help_text="1–5")


class SubmittedAnswersSerializer(serializers.Serializer):
    ratings = serializers.DictField(
        child=SubmittedRatingSerializer(), required=False, help_text="Keyed by outcome code."
    )
    profile = serializers.DictField(
        child=serializers.JSONField(),
        required=False,
        help_text="Keyed by question key: a string, a number, or a list for multiple choice.",
    )
    current_solution = serializers.CharField(required=False, allow_blank=True)
    nps = _LooseInt(required=False, help_text="0–10, when the survey asks it.")
    ces = _LooseInt(required=False, help_text="1–7, when the survey asks it.")
    attention = _LooseInt(required=False, help_text="1–5, when the survey has the check.")
    consent = serializers.BooleanField(required=False, default=False)


class PublicSubmissionSerializer(serializers.Serializer):
    idempotency_key = serializers.CharField(
        max_length=196,
        required=False,
        help_text="Your id for this submission; sending it again returns the first response. "
        "Required unless an invitation is given.",
    )
    invitation = serializers.CharField(
        max_length=64, required=False, help_text="The token of a personal invitation link."
    )
    answers = serializers.JSONField(help_text="See SubmittedAnswers.")

    def validate(self, attrs: dict) -> dict:
        if not attrs.get("idempotency_key") and not attrs.get("invitation"):
            raise serializers.ValidationError(
                {"idempotency_key": "Give an idempotency key or an invitation token."}
            )
        return attrs


@extend_schema_serializer(component_name="PublicSubmission")
class PublicSubmissionDocSerializer(PublicSubmissionSerializer):
    """The same body, with the answers' shape spelled out for the schema."""

    answers = SubmittedAnswersSerializer()  # type: ignore[assignment]  # same JSON, spelled out


class SubmittedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(
        choices=[ResponseStatus.COMPLETED, ResponseStatus.SCREENED_OUT]
    )
    respondent_id = serializers.CharField()


class SubmissionProblemSerializer(serializers.Serializer):
    field = serializers.CharField()
    message = serializers.CharField()


class SubmissionErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    # Absent when the body is not readable JSON at all.
    problems = SubmissionProblemSerializer(many=True, required=False)


class PublicResponseView(APIView):
    """Submit one complete response to a published survey, without an account."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    # Limited per client address by config.security.PublicRateLimitMiddleware (RATE_LIMIT_PUBLIC,
    # the same 429 body), before the request gets here: a DRF throttle would count it twice.
    throttle_classes: list = []
    parser_classes = [SafeJSONParser]

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
        if settings.PUBLIC_SUBMISSION_PATH == "reference":
            return reference.submit(request, public_token)
        return quick.submit(request.data, public_token)  # a body DRF had to parse

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
        # The fast path answers a plain JSON object asking for JSON without DRF's machinery;
        # everything else, other methods, other bodies or Accept headers, goes through DRF.
        if (
            request.method == "POST"
            and settings.PUBLIC_SUBMISSION_PATH != "reference"
            and (answer := quick.dispatch(request, kwargs["public_token"])) is not None
        ):
            return answer
        return super().dispatch(request, *args, **kwargs)


class AssignmentSerializer(serializers.Serializer):
    planned = serializers.BooleanField(
        help_text="Whether the survey asks each respondent a planned subset of its outcomes."
    )
    outcomes = serializers.ListField(
        child=serializers.CharField(),
        help_text="The codes of the outcomes this respondent rates, in the survey's order "
        "(every outcome when `planned` is false). Show them in an order of your own.",
    )


class PublicAssignmentView(APIView):
    """Hand out the next respondent's subset of outcomes under a planned-subset design."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []  # limited per address like the submissions (see above)

    @extend_schema(
        auth=[],
        request=None,
        responses={
            200: AssignmentSerializer,
            404: OpenApiResponse(description="No published survey has this token."),
            410: OpenApiResponse(description="The survey is closed."),
            429: OpenApiResponse(description="Too many requests from this address."),
        },
        description="For surveys fielded by another tool: each call assigns one respondent "
        "the outcomes the design's balanced allocation shows next, counted as shown, so the "
        "tool's respondents keep every outcome's count within one of the others. Submit their "
        "ratings of exactly these outcomes to the responses endpoint.",
    )
    def post(self, request: Request, public_token: str) -> HttpResponse:
        survey = Survey.objects.for_submission(public_token)
        if survey is None or survey.current_version_id is None:
            return ApiResponse({"detail": "No published survey has this token."}, status=404)
        if not survey.is_accepting():
            return ApiResponse({"detail": "This survey is closed."}, status=410)
        version = SurveyVersion.objects.get(pk=survey.current_version_id)
        with transaction.atomic():  # the design's counter row is locked until this commits
            subset = design.assign_subset(version)
        codes = version.outcome_codes
        return ApiResponse(
            {
                "planned": subset is not None,
                "outcomes": [c for c in codes if subset is None or c in subset],
            }
        )
