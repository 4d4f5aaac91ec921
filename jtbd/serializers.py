from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from jtbd.models import DesiredOutcome, Job, JobStep, OutcomeStatus
from workspaces.models import Workspace


@extend_schema_field(OpenApiTypes.INT)
class ScopedPrimaryKeyField(serializers.PrimaryKeyRelatedField):
    """A related-object field whose choices are limited to the requesting user's workspaces.

    An id from another workspace reads as "does not exist", never as "forbidden".
    """

    def __init__(self, scope, **kwargs):
        self.scope = scope
        super().__init__(**kwargs)

    def get_queryset(self):
        return self.scope(self.context["request"].user)


class JobSerializer(serializers.ModelSerializer):
    workspace = ScopedPrimaryKeyField(lambda user: Workspace.objects.for_user(user))
    # A declared field (DRF's metaclass takes it off the class), not Field.parent.
    parent = ScopedPrimaryKeyField(  # type: ignore[assignment]
        lambda user: Job.objects.for_user(user), allow_null=True, required=False
    )
    step_count = serializers.SerializerMethodField()
    outcome_count = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = [
            "id",
            "workspace",
            "statement",
            "executor",
            "kind",
            "parent",
            "notes",
            "step_count",
            "outcome_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    def get_step_count(self, obj: Job) -> int:
        # Lists annotate the counts in one query; a single created or updated job counts here.
        return obj.n_steps if hasattr(obj, "n_steps") else obj.steps.count()

    def get_outcome_count(self, obj: Job) -> int:
        return obj.n_outcomes if hasattr(obj, "n_outcomes") else obj.outcomes.count()

    def validate(self, attrs: dict) -> dict:
        workspace = attrs.get("workspace") or getattr(self.instance, "workspace", None)
        if self.instance and "workspace" in attrs and attrs["workspace"] != self.instance.workspace:
            raise serializers.ValidationError(
                {"workspace": "A job cannot move to another workspace."}
            )
        parent = attrs.get("parent")
        # workspace is required on create, and an updated job has one.
        if parent is not None and workspace is not None and parent.workspace_id != workspace.id:
            raise serializers.ValidationError(
                {"parent": "The parent job must be in the same workspace."}
            )
        if parent is not None and self.instance is not None:
            ancestor = parent
            while ancestor is not None:
                if ancestor.pk == self.instance.pk:
                    raise serializers.ValidationError(
                        {"parent": "A job cannot be its own ancestor."}
                    )
                ancestor = ancestor.parent
        return attrs


class JobStepSerializer(serializers.ModelSerializer):
    job = ScopedPrimaryKeyField(lambda user: Job.objects.for_user(user))
    outcome_count = serializers.SerializerMethodField()

    def get_outcome_count(self, obj: JobStep) -> int:
        return obj.n_outcomes if hasattr(obj, "n_outcomes") else obj.outcomes.count()

    class Meta:
        model = JobStep
        fields = ["id", "job", "stage", "title", "description", "order", "outcome_count"]
        read_only_fields = ["order"]

    def validate_job(self, job: Job) -> Job:
        if self.instance is not None and job.pk != self.instance.job_id:
            raise serializers.ValidationError("A step cannot move to another job.")
        return job


class FindingSerializer(serializers.Serializer):
    code = serializers.CharField()
    severity = serializers.ChoiceField(choices=["error", "warning"])
    message = serializers.CharField()
    detail = serializers.CharField()


class StatementPartsSerializer(serializers.Serializer):
    direction = serializers.CharField()
    metric = serializers.CharField()
    object_of_control = serializers.CharField()
    clarifier = serializers.CharField()


class StatementCheckSerializer(serializers.Serializer):
    statement = serializers.CharField()
    parts = StatementPartsSerializer()
    findings = FindingSerializer(many=True)
    blocking = serializers.BooleanField()
    ok = serializers.BooleanField()


class StatementCheckInputSerializer(serializers.Serializer):
    statement = serializers.CharField(allow_blank=True, trim_whitespace=False, max_length=5000)
    job = ScopedPrimaryKeyField(
        lambda user: Job.objects.for_user(user),
        required=False,
        allow_null=True,
        help_text="Compare with this job's outcomes (near-duplicates) and its workspace's "
        "solution words.",
    )
    exclude_code = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="The outcome being edited, left out of duplicates.",
    )


class DesiredOutcomeSerializer(serializers.ModelSerializer):
    step = ScopedPrimaryKeyField(
        lambda user: JobStep.objects.filter(job__in=Job.objects.for_user(user))
    )
    code = serializers.CharField(required=False, allow_blank=True, max_length=32)
    status = serializers.ChoiceField(choices=OutcomeStatus.choices, required=False)
    confirm_flagged = serializers.BooleanField(
        write_only=True,
        required=False,
        default=False,
        help_text="Set status to approved even though the statement check flags the statement "
        "(otherwise 400 naming the findings, and nothing changes).",
    )
    findings = serializers.SerializerMethodField()

    class Meta:
        model = DesiredOutcome
        fields = [
            "id",
            "job",
            "step",
            "code",
            "statement",
            "direction",
            "metric",
            "object_of_control",
            "clarifier",
            "status",
            "order",
            "findings",
            "confirm_flagged",
        ]
        read_only_fields = [
            "job",
            "direction",
            "metric",
            "object_of_control",
            "clarifier",
            "order",
        ]

    def get_findings(self, obj: DesiredOutcome) -> list[dict]:
        others = self.context.get("siblings", {}).get(obj.job_id)
        if others is not None:
            others = [(c, s) for c, s in others if c != obj.code]
        return [f.to_dict() for f in obj.statement_check(others=others).findings]


class ReorderSerializer(serializers.Serializer):
    step_ids = serializers.ListField(child=serializers.IntegerField(), allow_empty=False)


class ApproveSerializer(serializers.Serializer):
    confirm_flagged = serializers.BooleanField(
        default=False,
        help_text="Approve even what the statement check flags. Without it, a flagged "
        "outcome is not approved (400 naming it and its findings for one outcome; left as a "
        "draft and listed under `flagged` when approving a job's drafts).",
    )


class FlaggedOutcomeSerializer(serializers.Serializer):
    code = serializers.CharField()
    findings = FindingSerializer(many=True)


class ApprovalSerializer(serializers.Serializer):
    approved = serializers.ListField(child=serializers.CharField(), help_text="Codes approved.")
    flagged = FlaggedOutcomeSerializer(
        many=True, help_text="Drafts left as drafts because the statement check flagged them."
    )


class FlaggedErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    flagged = FlaggedOutcomeSerializer(many=True)


def flagged_list(flagged: dict) -> list[dict]:
    return [{"code": c, "findings": [f.to_dict() for f in fs]} for c, fs in flagged.items()]


class MoveSerializer(serializers.Serializer):
    offset = serializers.IntegerField(min_value=-1000, max_value=1000)


class ImportProblemSerializer(serializers.Serializer):
    where = serializers.CharField()
    field = serializers.CharField()
    message = serializers.CharField()
    value = serializers.CharField()


class ImportErrorSerializer(serializers.Serializer):
    """Every problem of the file (detail and problems), or, when the request itself is wrong
    (no file, no workspace), the errors keyed by the field's name."""

    detail = serializers.CharField(required=False)
    problems = ImportProblemSerializer(many=True, required=False)


class ImportResultSerializer(serializers.Serializer):
    job = serializers.IntegerField()
    steps = serializers.IntegerField()
    outcomes = serializers.IntegerField()
    notes = serializers.ListField(child=serializers.CharField())
    ignored_columns = serializers.ListField(
        child=serializers.CharField(),
        help_text="Columns of a CSV the catalogue does not read (always empty for JSON).",
    )
