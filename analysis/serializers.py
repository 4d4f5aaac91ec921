"""Request and response shapes of the analysis API (see analysis/api.py)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from analysis.comparisons import REST
from analysis.exports import RESULT_COLUMNS
from analysis.models import AnalysisRun, OutcomeResult, SegmentResult
from analysis.parameters import MAX_K, parse_segments
from jtbd.serializers import ScopedPrimaryKeyField
from surveys.models import Survey

SORTS = ("opportunity", "importance", "satisfaction", "mean_gap", "opportunity_to_add_value")


# --- runs ---------------------------------------------------------------------------------------


class SegmentationSummarySerializer(serializers.Serializer):
    found = serializers.BooleanField(help_text="Whether the data hold segments.")
    k = serializers.IntegerField(allow_null=True, help_text="Number of segments (1 when none).")
    reason = serializers.CharField(help_text="Why this number of segments, in plain words.")
    mode = serializers.JSONField(help_text='What was asked: "auto", "off" or a number.')
    requested_k = serializers.IntegerField(allow_null=True)
    sizes = serializers.ListField(child=serializers.IntegerField())


def segmentation_summary(run: AnalysisRun) -> dict[str, Any] | None:
    """The verdict of the run's segmentation without the per-k diagnostics; None before it
    succeeded."""
    seg = run.segmentation
    if not seg:
        return None
    return {
        "found": bool(seg.get("found")),
        "k": seg.get("k"),
        "reason": seg.get("reason", ""),
        "mode": seg.get("mode"),
        "requested_k": seg.get("requested_k"),
        "sizes": seg.get("sizes") or [],
    }


class RunSerializer(serializers.ModelSerializer):
    requested_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    segmentation = serializers.SerializerMethodField()
    joined_existing = serializers.SerializerMethodField(
        help_text="Only in answers to POST /api/runs/ (null elsewhere): true when a run of the "
        "survey was already queued and is returned instead (its parameters apply; it reads the "
        "data when it starts), false when a new run was queued."
    )

    class Meta:
        model = AnalysisRun
        fields = [
            "id",
            "survey",
            "status",
            "progress",
            "stage",
            "parameters",
            "fingerprint",
            "timings",
            "error",
            "requested_by",
            "attempts",
            "created_at",
            "enqueued_at",
            "started_at",
            "heartbeat_at",
            "finished_at",
            "n_respondents",
            "n_outcomes",
            "segmentation",
            "warnings",
            "joined_existing",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.BooleanField(allow_null=True))
    def get_joined_existing(self, run: AnalysisRun) -> bool | None:
        return getattr(run, "joined_existing", None)

    @extend_schema_field(SegmentationSummarySerializer(allow_null=True))
    def get_segmentation(self, run: AnalysisRun) -> dict[str, Any] | None:
        return segmentation_summary(run)


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "enum": ["auto", "off"]},
            {"type": "integer", "minimum": 2, "maximum": MAX_K},
        ]
    }
)
class SegmentsField(serializers.Field):
    """ "auto", "off" or a number of segments from 2 to MAX_K."""

    def to_internal_value(self, data: object) -> str | int:
        try:
            return parse_segments(data)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict["segments"]) from None

    def to_representation(self, value: str | int) -> str | int:
        return value


class RunRequestSerializer(serializers.Serializer):
    survey = ScopedPrimaryKeyField(lambda user: Survey.objects.for_user(user))
    segments = SegmentsField(
        required=False, help_text='"auto" (default), "off" or a number of segments.'
    )
    seed = serializers.IntegerField(required=False, min_value=0, max_value=2**32 - 1)
    include_flagged = serializers.BooleanField(
        required=False, help_text="Use flagged responses too, unless excluded by hand."
    )
    n_resamples = serializers.IntegerField(required=False, min_value=1000, max_value=20000)
    small_group = serializers.IntegerField(required=False, min_value=1, max_value=1_000_000)
    k_range = serializers.ListField(
        child=serializers.IntegerField(),
        required=False,
        min_length=2,
        max_length=2,
        help_text="[lowest, highest] number of segments tried by automatic segmentation.",
    )

    def parameters(self) -> dict[str, Any]:
        return {k: v for k, v in self.validated_data.items() if k != "survey"}


# --- results ------------------------------------------------------------------------------------


class RunSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = AnalysisRun
        fields = ["id", "finished_at", "n_respondents", "n_outcomes", "parameters"]
        read_only_fields = fields


class SegmentRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = SegmentResult
        fields = ["id", "number", "name", "custom_name", "display_name", "size", "share"]
        read_only_fields = fields


class OutcomeResultSerializer(serializers.ModelSerializer):
    class Meta:
        model = OutcomeResult
        # The export's columns, plus the outcome's position in the run.
        fields = ["rank", "position", *RESULT_COLUMNS[1:]]
        read_only_fields = fields


class ResultsSerializer(serializers.Serializer):
    run = RunSummarySerializer()
    segment = SegmentRefSerializer(allow_null=True, help_text="Null: the whole sample.")
    sort = serializers.ChoiceField(choices=SORTS)
    count = serializers.IntegerField()
    outcomes = OutcomeResultSerializer(many=True)
    loyalty = serializers.JSONField(help_text="NPS and CES of the whole sample, with their n.")
    drivers = serializers.JSONField(help_text="Drivers of NPS/CES by outcome satisfaction.")


# --- segments -----------------------------------------------------------------------------------


class SegmentSerializer(serializers.ModelSerializer):
    answer_differences = serializers.JSONField(
        source="profile_differences",
        read_only=True,
        help_text="Per profile question: this segment's answer shares against the rest.",
    )

    class Meta:
        model = SegmentResult
        fields = [
            "id",
            "run",
            "number",
            "name",
            "custom_name",
            "display_name",
            "size",
            "share",
            "small_group",
            "stability",
            "top_unmet",
            "distinct_outcomes",
            "answer_differences",
            "nps",
            "ces",
        ]
        read_only_fields = fields


class SegmentRenameSerializer(serializers.Serializer):
    custom_name = serializers.CharField(
        max_length=200, allow_blank=True, help_text="Blank: back to the generated name."
    )


class SegmentsSerializer(serializers.Serializer):
    run = RunSummarySerializer()
    segmentation = SegmentationSummarySerializer()
    segments = SegmentSerializer(many=True)


# --- comparisons --------------------------------------------------------------------------------


class CompareGroupSerializer(serializers.Serializer):
    """One group of respondents of the latest run: give exactly one of the three."""

    segment = serializers.IntegerField(required=False, min_value=1, help_text="Segment number.")
    profile = serializers.DictField(
        child=serializers.CharField(),
        required=False,
        allow_empty=False,
        help_text='Profile answers, all required: {"role": "Team lead"}.',
    )
    current_solution = serializers.CharField(required=False)
    rest = serializers.BooleanField(
        required=False, help_text='For b only: everyone not in a (same as "b": "rest").'
    )

    def validate(self, attrs: dict) -> dict:
        given = [name for name in ("segment", "profile", "current_solution") if name in attrs]
        if attrs.get("rest"):
            given.append("rest")
        if len(given) != 1:
            raise serializers.ValidationError(
                "Give exactly one of segment, profile, current_solution"
                + (f" (got {', '.join(given)})." if given else ".")
            )
        return {given[0]: True if given[0] == "rest" else attrs[given[0]]}


@extend_schema_field(
    {
        "oneOf": [
            {"$ref": "#/components/schemas/CompareGroupRequest"},
            {"type": "string", "enum": [REST]},
        ]
    }
)
class GroupOrRestField(serializers.Field):
    """A group, or "rest" for everyone in the run not in group a."""

    def to_internal_value(self, data: object) -> dict:
        if data == REST:
            return {REST: True}
        if not isinstance(data, dict):
            raise serializers.ValidationError(
                'Give a group ({"segment": N}, {"profile": {...}}, {"current_solution": "..."}) '
                'or "rest".'
            )
        group = CompareGroupSerializer(data=data)
        group.is_valid(raise_exception=True)
        return group.validated_data


class CompareRequestSerializer(serializers.Serializer):
    a = CompareGroupSerializer()
    b = GroupOrRestField()

    def validate_a(self, group: dict) -> dict:
        if REST in group:
            raise serializers.ValidationError('"rest" can only be group b.')
        return group


class CompareGroupSummarySerializer(serializers.Serializer):
    # A declared field (DRF's metaclass takes it off the class), not Field.label.
    label = serializers.CharField()  # type: ignore[assignment]
    n = serializers.IntegerField(help_text="Respondents in the group.")
    small_group = serializers.BooleanField()


class OutcomeComparisonSerializer(serializers.Serializer):
    code = serializers.CharField()
    statement = serializers.CharField()
    rank = serializers.IntegerField(help_text="Whole-sample rank of the outcome.")
    n_a = serializers.IntegerField(help_text="Valid importance answers in group a.")
    n_b = serializers.IntegerField()
    opportunity_a = serializers.FloatField(allow_null=True)
    opportunity_b = serializers.FloatField(allow_null=True)
    difference = serializers.FloatField(allow_null=True, help_text="Opportunity a − b.")
    lower = serializers.FloatField(allow_null=True)
    upper = serializers.FloatField(allow_null=True)
    p_value = serializers.FloatField(allow_null=True)
    q_value = serializers.FloatField(allow_null=True, help_text="Benjamini–Hochberg.")
    significant = serializers.BooleanField(help_text="q < alpha.")


class ComparisonSerializer(serializers.Serializer):
    run = serializers.IntegerField()
    seed = serializers.IntegerField()
    a = CompareGroupSummarySerializer()
    b = CompareGroupSummarySerializer()
    confidence = serializers.FloatField()
    alpha = serializers.FloatField()
    n_resamples = serializers.IntegerField()
    warnings = serializers.ListField(child=serializers.CharField())
    outcomes = OutcomeComparisonSerializer(many=True)


# --- errors -------------------------------------------------------------------------------------


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()
