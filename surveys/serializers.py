"""Request and response shapes of the surveys API (see surveys/api.py)."""

from __future__ import annotations

from collections.abc import Mapping

from django.utils.text import slugify
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from jtbd.models import Job
from jtbd.serializers import ScopedPrimaryKeyField
from surveys import ratings
from surveys.erasure import is_erased, title_confirms
from surveys.models import (
    ErasureRecord,
    Invitation,
    Question,
    QuestionKind,
    Response,
    ResponseStatus,
    Survey,
    SurveyVersion,
)
from workspaces.models import Workspace

CHOICE_KINDS = (QuestionKind.SINGLE, QuestionKind.MULTIPLE)


def _unique_lines(items: list[str]) -> list[str]:
    """Stripped, non-blank, first occurrence only (as the settings form reads its textareas)."""
    seen, out = set(), []
    for item in items:
        value = item.strip()[:200]
        if value and value not in seen:
            seen.add(value)
            out.append(value)
    return out


def question_key(raw: str) -> str:
    """The key the question form makes from a given key or the question's text."""
    return slugify(raw or "")[:40].replace("-", "_") or "q"


class ScaleLabelsField(serializers.ListField):
    """Exactly five non-empty labels, from 1 (lowest) to 5."""

    def __init__(self, **kwargs):
        super().__init__(child=serializers.CharField(max_length=100), **kwargs)

    def to_internal_value(self, data) -> list[str]:
        labels = [label.strip() for label in super().to_internal_value(data)]
        if len(labels) != 5 or not all(labels):
            raise serializers.ValidationError("Give exactly five non-empty labels, 1 to 5.")
        return labels


class OutcomeCodesField(serializers.ListField):
    """The survey's outcomes by code, in the order respondents see them."""

    def __init__(self, **kwargs):
        super().__init__(child=serializers.CharField(max_length=32), **kwargs)

    def get_attribute(self, instance: Survey) -> list[str]:
        links = getattr(instance, "ordered_links", None)
        if links is not None:
            return [link.outcome.code for link in links]
        return [o.code for o in instance.ordered_outcomes()]


class VersionRefSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    content_hash = serializers.CharField()


class ResponseCountsSerializer(serializers.Serializer):
    started = serializers.IntegerField()
    completed = serializers.IntegerField()
    screened_out = serializers.IntegerField()
    in_progress = serializers.IntegerField()
    flagged = serializers.IntegerField()


COUNT_NAMES = ("started", "completed", "screened_out", "in_progress", "flagged")


class SurveySerializer(serializers.ModelSerializer):
    job = ScopedPrimaryKeyField(lambda user: Job.objects.for_user(user))
    outcomes = OutcomeCodesField(
        required=False,
        help_text="Outcome codes of the survey's job. On create, default: every approved outcome.",
    )
    importance_labels = ScaleLabelsField(required=False)
    satisfaction_labels = ScaleLabelsField(required=False)
    current_solution_options = serializers.ListField(
        child=serializers.CharField(max_length=200, allow_blank=True), required=False
    )
    public_url = serializers.SerializerMethodField()
    current_version = serializers.SerializerMethodField()
    counts = serializers.SerializerMethodField()

    class Meta:
        model = Survey
        fields = [
            "id",
            "workspace",
            "job",
            "title",
            "status",
            "outcomes",
            "welcome_text",
            "consent_text",
            "thank_you_text",
            "screened_out_text",
            "importance_labels",
            "satisfaction_labels",
            "ask_current_solution",
            "current_solution_options",
            "ask_nps",
            "nps_subject",
            "ask_ces",
            "attention_check",
            "target_completes",
            "closes_at",
            "public_url",
            "current_version",
            "counts",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["workspace", "status", "created_at", "updated_at"]

    def validate_job(self, job: Job) -> Job:
        if self.instance is not None and job.pk != self.instance.job_id:
            raise serializers.ValidationError("A survey cannot move to another job.")
        return job

    def validate_title(self, title: str) -> str:
        if not title.strip():
            raise serializers.ValidationError("Give the survey a title.")
        return title.strip()

    def validate_current_solution_options(self, options: list[str]) -> list[str]:
        return _unique_lines(options)

    def get_public_url(self, obj: Survey) -> str:
        return self.context["request"].build_absolute_uri(obj.public_path())

    @extend_schema_field(VersionRefSerializer(allow_null=True))
    def get_current_version(self, obj: Survey) -> dict | None:
        version = obj.current_version
        if version is None:
            return None
        return {"number": version.number, "content_hash": version.content_hash}

    @extend_schema_field(ResponseCountsSerializer)
    def get_counts(self, obj: Survey) -> dict[str, int]:
        if hasattr(obj, "n_started"):
            return {name: getattr(obj, f"n_{name}") for name in COUNT_NAMES}
        return obj.responses.counts()


class SurveyVersionSerializer(serializers.ModelSerializer):
    published_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    content = serializers.JSONField()

    class Meta:
        model = SurveyVersion
        fields = ["number", "content_hash", "published_at", "published_by", "content"]


class PublishResultSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    content_hash = serializers.CharField()
    status = serializers.CharField()
    new_version = serializers.BooleanField(
        help_text="False when the content had not changed since the last publication."
    )


class DropoffSerializer(serializers.Serializer):
    page = serializers.IntegerField()
    title = serializers.CharField()
    stopped = serializers.IntegerField()


class FieldworkSerializer(ResponseCountsSerializer):
    invited = serializers.IntegerField()
    completion_rate = serializers.FloatField(allow_null=True)
    median_minutes = serializers.FloatField(allow_null=True)
    target = serializers.IntegerField(allow_null=True)
    target_percent = serializers.IntegerField(allow_null=True)
    dropoff = DropoffSerializer(many=True)
    status = serializers.CharField()
    accepting = serializers.BooleanField()


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


class QuestionSerializer(serializers.ModelSerializer):
    survey = ScopedPrimaryKeyField(lambda user: Survey.objects.for_user(user))
    key = serializers.CharField(
        max_length=40,
        required=False,
        allow_blank=True,
        help_text="Short stable name used in exports; made from the text if empty.",
    )
    options = serializers.ListField(
        child=serializers.CharField(max_length=200, allow_blank=True), required=False
    )
    disqualifying = serializers.ListField(
        child=serializers.CharField(max_length=200, allow_blank=True),
        required=False,
        help_text="Screener answers (among the options) that end the survey.",
    )

    class Meta:
        model = Question
        fields = [
            "id",
            "survey",
            "key",
            "kind",
            "text",
            "options",
            "required",
            "complexity_factor",
            "screener",
            "disqualifying",
            "minimum",
            "maximum",
            "order",
        ]
        read_only_fields = ["order"]
        # The key is made here when not given, so the (survey, key) check is in validate().
        validators: list = []

    def validate_survey(self, survey: Survey) -> Survey:
        if self.instance is not None and survey.pk != self.instance.survey_id:
            raise serializers.ValidationError("A question cannot move to another survey.")
        return survey

    def validate_text(self, text: str) -> str:
        if not text.strip():
            raise serializers.ValidationError("Give the question's text.")
        return text.strip()

    def validate(self, attrs: dict) -> dict:
        def current(name: str, default=None):
            if name in attrs:
                return attrs[name]
            return getattr(self.instance, name, default) if self.instance else default

        survey = current("survey")
        kind = current("kind")
        errors: dict[str, str] = {}
        options = _unique_lines(current("options", []) or [])
        disqualifying = _unique_lines(current("disqualifying", []) or [])
        if kind in CHOICE_KINDS and len(options) < 2:
            errors["options"] = "Give at least two options."
        if kind not in CHOICE_KINDS:
            options = []
        unknown = [d for d in disqualifying if d not in options]
        if unknown:
            errors["disqualifying"] = f"Not among the options: {', '.join(unknown)}."
        if disqualifying and not current("screener", False):
            errors["screener"] = "Screen-out answers need the question to be a screener."
        if "key" in attrs or "text" in attrs or self.instance is None:
            key = question_key(attrs.get("key") or current("text", ""))
        else:
            key = self.instance.key
        if survey is not None:
            clash = survey.questions.filter(key=key)
            if self.instance is not None:
                clash = clash.exclude(pk=self.instance.pk)
            if clash.exists():
                errors["key"] = f"Another question already uses the key “{key}”."
        lo, hi = current("minimum"), current("maximum")
        if lo is not None and hi is not None and lo > hi:
            errors["maximum"] = "The maximum must not be below the minimum."
        if errors:
            raise serializers.ValidationError(errors)
        return {**attrs, "key": key, "options": options, "disqualifying": disqualifying}


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
        return {
            code: {"importance": imp, "satisfaction": sat}
            for code, (imp, sat) in ratings.decode_answers(blob, codes).items()
        }


class InclusionSerializer(serializers.Serializer):
    include = serializers.BooleanField(
        allow_null=True,
        help_text="true: analyse it whatever its flags; false: leave it out; null: follow the "
        "quality flags.",
    )


# --- public submission ---------------------------------------------------------------------------


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

    answers = SubmittedAnswersSerializer()


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
