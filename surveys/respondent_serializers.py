"""Request and response shapes of the respondent side of the surveys API (see
surveys/respondent_api.py): invitations, responses, response imports and erasure."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from jtbd.serializers import ScopedPrimaryKeyField
from surveys import ratings
from surveys.erasure import is_erased, title_confirms
from surveys.models import (
    ErasureRecord,
    Invitation,
    Response,
    ResponseStatus,
    SurveyVersion,
)
from workspaces.models import Workspace


class ImportOptionsSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="Wide CSV: one row per respondent.")
    id_column = serializers.CharField(max_length=100, default="respondent_id")
    importance_pattern = serializers.CharField(max_length=100, default="imp_{code}")
    satisfaction_pattern = serializers.CharField(max_length=100, default="sat_{code}")
    profile_columns = serializers.CharField(
        max_length=2000,
        required=False,
        allow_blank=True,
        default="",
        help_text="Comma-separated column names kept as profile answers.",
    )

    def validate_profile_columns(self, value: str) -> tuple[str, ...]:
        return tuple(c.strip() for c in value.split(",") if c.strip())


class ImportStudySerializer(ImportOptionsSerializer):
    name = serializers.CharField(max_length=200)
    workspace = ScopedPrimaryKeyField(lambda user: Workspace.objects.for_user(user))


class ResponseImportResultSerializer(serializers.Serializer):
    survey = serializers.IntegerField()
    responses = serializers.IntegerField(help_text="How many responses were stored.")
    codes = serializers.ListField(child=serializers.CharField())
    ignored_columns = serializers.ListField(child=serializers.CharField())


class ResponseImportProblemSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="File row number; the header is row 1, 0 = file.")
    column = serializers.CharField()
    value = serializers.CharField()
    message = serializers.CharField()


class ResponseImportErrorSerializer(serializers.Serializer):
    # All three, or (a request without its file or workspace) errors keyed by field name.
    detail = serializers.CharField(required=False)
    problems = ResponseImportProblemSerializer(
        many=True, required=False, help_text="The first 50 problems."
    )
    total = serializers.IntegerField(
        required=False, help_text="How many problems the file has in all."
    )


class PeopleSerializer(serializers.Serializer):
    people = serializers.ListField(
        child=serializers.CharField(max_length=200),
        allow_empty=False,
        help_text="External ids or e-mail addresses, one per item.",
    )

    def validate_people(self, people: list[str]) -> list[str]:
        bad = [p for p in people if any(c in p for c in ",\r\n")]
        if bad:
            raise serializers.ValidationError(
                f"An id or address cannot contain commas or line breaks: {bad[0]!r}."
            )
        return people


class InvitationsAddedSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    skipped = serializers.IntegerField(help_text="People who were already invited.")


class ProblemListSerializer(serializers.Serializer):
    # Both, or (a malformed request) errors keyed by field name.
    detail = serializers.CharField(required=False)
    problems = serializers.ListField(child=serializers.CharField(), required=False)


class InvitationSerializer(serializers.ModelSerializer):
    link = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField()

    class Meta:
        model = Invitation
        fields = ["id", "survey", "external_id", "email", "link", "status", "created_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_link(self, obj: Invitation) -> str | None:
        # An erased invitation's link was replaced by one nobody was sent: offer none.
        if is_erased(obj):
            return None
        return self.context["request"].build_absolute_uri(obj.path())

    @extend_schema_field(serializers.ChoiceField(choices=["not started", *ResponseStatus.values]))
    def get_status(self, obj: Invitation) -> str:
        return invitation_status(obj)


def invitation_status(invitation: Invitation) -> str:
    response = getattr(invitation, "response", None)
    return response.status if response else "not started"


class RatingSerializer(serializers.Serializer):
    importance = serializers.IntegerField(min_value=1, max_value=5, allow_null=True)
    satisfaction = serializers.IntegerField(min_value=1, max_value=5, allow_null=True)


class ResponseSerializer(serializers.ModelSerializer):
    version = serializers.SerializerMethodField()
    included = serializers.BooleanField(read_only=True)
    ratings = serializers.SerializerMethodField()

    class Meta:
        model = Response
        fields = [
            "id",
            "survey",
            "respondent_id",
            "status",
            "source",
            "flags",
            "included",
            "include_override",
            "completed_at",
            "duration_seconds",
            "profile",
            "current_solution",
            "nps",
            "ces",
            "version",
            "ratings",
        ]
        read_only_fields = fields

    def _version(self, obj: Response) -> tuple[int, list[str]]:
        # One load of each version's content per request, however many responses share it.
        cache = self.context.setdefault("versions", {})
        if obj.version_id not in cache:
            version = SurveyVersion.objects.only("number", "content").get(pk=obj.version_id)
            cache[obj.version_id] = (version.number, version.outcome_codes)
        return cache[obj.version_id]

    def get_version(self, obj: Response) -> int:
        return self._version(obj)[0]

    @extend_schema_field(serializers.DictField(child=RatingSerializer()))
    def get_ratings(self, obj: Response) -> dict[str, dict[str, int | None]]:
        codes = self._version(obj)[1]
        blob = bytes(obj.ratings)
        if not blob:
            return {code: {"importance": None, "satisfaction": None} for code in codes}
        # Not shown by design: left out; "not applicable": null, like unanswered.
        return {
            code: {"importance": _rating_or_none(imp), "satisfaction": _rating_or_none(sat)}
            for code, (imp, sat) in ratings.decode_answers(blob, codes).items()
            if imp != ratings.NOT_SHOWN
        }


def _rating_or_none(value: int | None) -> int | None:
    return value if value is not None and 1 <= value <= 5 else None


class InclusionSerializer(serializers.Serializer):
    include = serializers.BooleanField(
        allow_null=True,
        help_text="true: analyse it whatever its flags; false: leave it out; null: follow the "
        "quality flags.",
    )


class ErasureRequestSerializer(serializers.Serializer):
    """One person (`respondent`) or everyone (`all` with the survey's title in `confirm`)."""

    respondent = serializers.CharField(
        required=False,
        max_length=254,
        help_text="An invitation e-mail address or external id, an invitation token, or a "
        "respondent id of this survey.",
    )
    all = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Erase every invitation e-mail address and id and every respondent id.",
    )
    confirm = serializers.CharField(
        required=False,
        max_length=200,
        allow_blank=True,
        help_text="With all: the survey's title, exactly.",
    )

    def validate(self, attrs: dict) -> dict:
        survey = self.context["survey"]
        if attrs.get("all"):
            if attrs.get("respondent"):
                raise serializers.ValidationError(
                    {"respondent": "Give either a respondent or all, not both."}
                )
            if not title_confirms(survey, attrs.get("confirm", "")):
                raise serializers.ValidationError(
                    {"confirm": "To erase everyone, give the survey's title exactly."}
                )
        elif not attrs.get("respondent", "").strip():
            raise serializers.ValidationError(
                {
                    "respondent": 'Give the respondent to erase, or "all": true with the '
                    'survey\'s title in "confirm".'
                }
            )
        return attrs


class ErasureRecordSerializer(serializers.ModelSerializer):
    """The audit of one erasure; it names no erased identifier."""

    class Meta:
        model = ErasureRecord
        fields = [
            "id",
            "survey",
            "scope",
            "by_username",
            "created_at",
            "invitations",
            "responses",
            "analysis_runs",
            "exports",
        ]
        read_only_fields = fields
