"""The public submission endpoint: one complete response to a published survey, without an
account, for surveys embedded in other tools (`POST /api/public/surveys/<token>/responses/`).

Every respondent of an embedded survey comes through here, so it is the busiest request there is.
This module holds all of it: the body's shape (the serializers document it for the schema), the
plain-Python reading of the body that the quick path uses instead of DRF's field machinery
(`read_public_submission`, held to the serializer's answers by
tests/surveys/test_submission_validation.py), and the view, whose `dispatch` answers a plain JSON
request without DRF's request and response machinery.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.views import APIView

from config import inputs
from config.parsers import SafeJSONParser
from surveys import submission, versions
from surveys.models import (
    Invitation,
    ResponseStatus,
    Survey,
)


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


def _text_field(data: Mapping, name: str, max_length: int) -> tuple[str | None, list[str]]:
    """One optional `serializers.CharField(max_length=...)` of PublicSubmissionSerializer, as DRF
    reads it: (the trimmed value or None when absent, the field's error messages)."""
    if name not in data:
        return None, []
    value = data[name]
    if value == "" or str(value).strip() == "":
        return None, ["This field may not be blank."]
    if value is None:
        return None, ["This field may not be null."]
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None, ["Not a valid string."]
    value = str(value).strip()
    errors = []
    if len(value) > max_length:
        errors.append(f"Ensure this field has no more than {max_length} characters.")
    if "\x00" in value:
        errors.append("Null characters are not allowed.")
    surrogate = next((c for c in value if 0xD800 <= ord(c) <= 0xDFFF), None)
    if surrogate is not None:
        errors.append(f"Surrogate characters are not allowed: U+{ord(surrogate):X}.")
    return value, errors


def read_public_submission(data: object) -> tuple[dict, list[dict[str, str]]]:
    """PublicSubmissionSerializer's reading of a parsed JSON body, without DRF's per-field
    machinery (a third of a millisecond per submission): (its validated data, or its errors as
    the API lists them, `{"field", "message"}` in the serializer's field order).
    tests/surveys/test_submission_validation.py holds the two to the same answers. The body
    comes from DRF's strict JSON parser, so `answers`, when present and not null, is always
    valid JSON and needs no check of its own."""
    if data is None:
        return {}, [{"field": "body", "message": "No data provided"}]
    if not isinstance(data, Mapping):
        message = f"Invalid data. Expected a dictionary, but got {type(data).__name__}."
        return {}, [{"field": "body", "message": message}]
    values: dict = {}
    problems: list[dict[str, str]] = []
    for name, max_length in (("idempotency_key", 196), ("invitation", 64)):
        value, errors = _text_field(data, name, max_length)
        problems += [{"field": name, "message": m} for m in errors]
        if value is not None and not errors:
            values[name] = value
    if "answers" not in data:
        problems.append({"field": "answers", "message": "This field is required."})
    elif data["answers"] is None:
        problems.append({"field": "answers", "message": "This field may not be null."})
    else:
        values["answers"] = data["answers"]
    if not problems and not values.get("idempotency_key") and not values.get("invitation"):
        message = "Give an idempotency key or an invitation token."
        problems.append({"field": "idempotency_key", "message": message})
    return (values if not problems else {}), problems


@extend_schema_serializer(component_name="PublicSubmission")
class PublicSubmissionDocSerializer(PublicSubmissionSerializer):
    """The same body, with the answers' shape spelled out for the schema."""

    # The same JSON field, its shape spelled out: a different field type, for the schema only.
    answers = SubmittedAnswersSerializer()  # type: ignore[assignment]


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


def _problems_body(detail: str, problems: list[dict]) -> dict:
    return {"detail": detail, "problems": problems}


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
        return self.submit(request.data, public_token)

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
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
        assert response is not None  # no problem, conflict or closed survey: it was stored
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
    by a client that accepts JSON and names no `format`, read as DRF's parser reads it
    (`config.inputs.loads`); otherwise None."""
    if request.content_type != "application/json":
        return None
    if (request.content_params or {}).get("charset", "utf-8").lower() not in ("utf-8", "utf8"):
        return None
    # META, not request.headers or request.GET: those build a mapping of every header or
    # parameter first, on the busiest request there is.
    accept = request.META.get("HTTP_ACCEPT", "")
    if any(part.split(";")[0].strip() not in _QUICK_ACCEPT for part in accept.split(",")):
        return None
    if request.META.get("QUERY_STRING"):  # ?format=… is DRF's; the endpoint takes no other
        return None
    try:
        data = inputs.loads(request.body)
    except inputs.BadInput:  # DRF's parser reads it again and answers 400 with the reason
        return None
    return data if type(data) is dict else None
