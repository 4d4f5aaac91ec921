"""Request and response shapes of the surveys API (see surveys/api.py)."""

from __future__ import annotations

from django.contrib.auth.models import User
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from jtbd.models import Job
from jtbd.serializers import ScopedPrimaryKeyField
from surveys.models import (
    Question,
    Survey,
    SurveyVersion,
    unique_lines,
)


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
    core_outcomes = serializers.ListField(
        child=serializers.CharField(max_length=40),
        required=False,
        max_length=1000,
        help_text="With a planned subset: the codes of the outcomes every respondent rates.",
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
            "allow_not_applicable",
            "subset_size",
            "subset_minutes",
            "core_outcomes",
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
        return unique_lines(options)

    def validate_core_outcomes(self, codes: list[str]) -> list[str]:
        return list(dict.fromkeys(codes))

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
    published_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
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
        definition = (self.instance or Question()).define(
            survey=survey,
            kind=current("kind"),
            text=current("text", ""),
            given_key=attrs.get("key"),
            options=current("options", []) or [],
            disqualifying=current("disqualifying", []) or [],
            screener=current("screener", False),
            minimum=current("minimum"),
            maximum=current("maximum"),
        )
        if definition.errors:
            raise serializers.ValidationError(definition.errors)
        return {
            **attrs,
            "key": definition.key,
            "options": definition.options,
            "disqualifying": definition.disqualifying,
        }


# --- public submission ---------------------------------------------------------------------------
