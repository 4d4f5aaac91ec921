"""Analysis runs and their stored results (built on surveys).

An `AnalysisRun` is one analysis of one survey: its state (queued → running → succeeded, failed or
cancelled), progress, parameters, the fingerprint of the data it read, timings and errors. Its
results are written in one transaction when it succeeds, so a reader sees all of them or none:

- `OutcomeResult`: one row per outcome per group, the group being the whole sample
  (``segment`` NULL) or one segment;
- `SegmentResult`: one row per segment found (none when the data hold no segments);
- `SegmentMembership`: who is in which segment, packed as arrays (one row per run, not one per
  respondent: 100,000 respondents load and export in milliseconds);
- on the run itself: the segmentation verdict and diagnostics, profile answer differences,
  drivers of loyalty, NPS/CES and small-group warnings.

Pages, the API and exports only read these rows; statistics are computed by `runs.execute_run`
(the pipeline in `analysis.pipeline`, written by `analysis.storing`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Self

import numpy as np
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from surveys.models import Survey

# A run whose enqueue has not happened this long after it was created is assumed to have missed
# its broker (the request's after-commit enqueue failed) and is enqueued by the sweep.
NEVER_ENQUEUED_GRACE = timedelta(minutes=1)
# Longer digit strings name no segment (and are never turned into a number).
MAX_SEGMENT_DIGITS = 6


class SegmentNotFound(ValueError):
    """A segment asked for by number or name that the run does not have; the message says which
    segments it has (or that it found none)."""


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class BackgroundWorkQuerySet(models.QuerySet):
    """Rows of work handed to a worker through the broker (analysis runs, export jobs), which
    share the status values "queued" and "running" and the fields the sweeps read."""

    def stale_queued(self, now=None, *, after: timedelta) -> Self:
        """Queued and never handed to the broker, or handed over longer than `after` ago and
        still not started: its message may be lost (broker down at enqueue, queue purged)."""
        now = now or timezone.now()
        return self.filter(status="queued").filter(
            Q(enqueued_at=None, created_at__lt=now - NEVER_ENQUEUED_GRACE)
            | Q(enqueued_at__lt=now - after)
        )

    def abandoned(self, now=None, *, lease: timedelta) -> Self:
        """Running for longer than the lease: no worker can still be working on them."""
        return self.filter(status="running", started_at__lt=(now or timezone.now()) - lease)


class AnalysisRunQuerySet(BackgroundWorkQuerySet):
    def for_user(self, user) -> AnalysisRunQuerySet:
        if not user.is_authenticated:
            return self.none()
        return self.filter(survey__workspace__memberships__user=user)

    def succeeded(self) -> AnalysisRunQuerySet:
        return self.filter(status=RunStatus.SUCCEEDED)

    def latest_succeeded(self, survey: Survey | int) -> AnalysisRun | None:
        """The survey's most recently finished successful run, or None."""
        survey_id = survey if isinstance(survey, int) else survey.pk
        return (
            self.succeeded()
            .filter(survey_id=survey_id)
            .select_related("survey")
            .order_by("-finished_at", "-id")
            .first()
        )


class AnalysisRun(models.Model):
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="analysis_runs")
    status = models.CharField(max_length=12, choices=RunStatus.choices, default=RunStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, help_text="0–100.")
    stage = models.CharField(max_length=200, blank=True)
    parameters = models.JSONField(default=dict, blank=True)
    fingerprint = models.JSONField(
        default=dict, blank=True, help_text="Versions, response count and ids the run read."
    )
    timings = models.JSONField(default=dict, blank=True, help_text="Seconds per stage.")
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Who holds the run: the Celery task id of the delivery that claimed it ("" when run by the
    # `analyze` command) and a token unique to that claim. Every write of a running run checks
    # the token, so a run taken over by a redelivery cannot be written by the worker it replaced.
    task_id = models.CharField(max_length=255, blank=True)
    claim_token = models.CharField(max_length=32, blank=True)
    # Deliveries that claimed the run: the first, and one more each time a worker was lost.
    attempts = models.PositiveSmallIntegerField(default=0)
    # Retries of the holding task after a dropped database connection (Celery's count), and how
    # often the run went back to the queue because those retries ran out (analysis.runs).
    retries = models.PositiveSmallIntegerField(default=0)
    requeues = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    enqueued_at = models.DateTimeField(
        null=True, blank=True, help_text="When its task was last handed to the broker."
    )
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    # Results that are one per run (written with the rows below, in the same transaction).
    n_respondents = models.PositiveIntegerField(null=True, blank=True)
    n_outcomes = models.PositiveIntegerField(null=True, blank=True)
    segmentation = models.JSONField(
        default=dict, blank=True, help_text="found, k, reason, requested k, diagnostics per k."
    )
    profile_differences = models.JSONField(
        default=list, blank=True, help_text="Answers that differ across segments (chi-square)."
    )
    drivers = models.JSONField(
        default=dict, blank=True, help_text="Drivers of NPS/CES by outcome satisfaction."
    )
    loyalty = models.JSONField(default=dict, blank=True, help_text="NPS and CES, whole sample.")
    warnings = models.JSONField(default=list, blank=True)

    objects = AnalysisRunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # The debounce: new responses ask for a run, and while one is queued (it will read
            # the data when it starts) further requests join it instead of piling up.
            models.UniqueConstraint(
                fields=["survey"],
                condition=Q(status="queued"),
                name="one_queued_analysis_per_survey",
            ),
            models.CheckConstraint(
                condition=Q(progress__lte=100), name="analysis_progress_at_most_100"
            ),
        ]
        indexes = [models.Index(fields=["survey", "status", "-finished_at"])]

    def __str__(self) -> str:
        return f"Analysis {self.pk} of {self.survey_id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)

    @property
    def duration(self) -> timedelta | None:
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None

    @property
    def segments_found(self) -> bool:
        return bool(self.segmentation.get("found"))

    def whole_sample(self) -> models.QuerySet[OutcomeResult]:
        """The whole sample's outcome results, best opportunity first."""
        return self.outcome_results.filter(segment=None).order_by("rank", "position")

    def find_segment(self, value: object) -> SegmentResult:
        """The segment `value` names: its number (1 = largest), as a number or digits, or its
        generated or given name, case-insensitive. The one rule every page, API action, export
        and command uses; `SegmentNotFound` otherwise."""
        segments = list(self.segments.order_by("number"))
        if not segments:
            raise SegmentNotFound(f"Analysis {self.pk} found no segments: everyone is one group.")
        text = str(value).strip()
        if isinstance(value, int) and not isinstance(value, bool):
            number: int | None = value
        elif text.isdigit() and len(text) <= MAX_SEGMENT_DIGITS:
            number = int(text)
        else:
            number = None
        for segment in segments:
            if number is not None and segment.number == number:
                return segment
        if number is None and text:
            name = text.lower()
            for segment in segments:
                if name in (segment.name.lower(), segment.custom_name.lower()):
                    return segment
        choices = ", ".join(f"{s.number} ({s.display_name})" for s in segments)
        raise SegmentNotFound(f"No segment {text:.40} in analysis {self.pk}; it has {choices}.")


class SegmentResult(models.Model):
    """One outcome-based segment of a run. `number` is 1 for the largest segment."""

    run = models.ForeignKey(AnalysisRun, on_delete=models.CASCADE, related_name="segments")
    number = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=200, help_text="Built from its top unmet outcomes.")
    custom_name = models.CharField(max_length=200, blank=True, help_text="The researcher's name.")
    size = models.PositiveIntegerField()
    share = models.FloatField()
    small_group = models.BooleanField(default=False)
    stability = models.FloatField(
        null=True, blank=True, help_text="Mean adjusted Rand index of the chosen k (0.75+ stable)."
    )
    distinct_outcomes = models.JSONField(
        default=list, help_text="Outcomes more often unmet here than elsewhere (q < 0.05)."
    )
    top_unmet = models.JSONField(default=list, help_text="Codes of its top opportunities.")
    profile_differences = models.JSONField(
        default=list, help_text="Per question: this segment's answer shares against the rest."
    )
    nps = models.FloatField(null=True, blank=True)
    ces = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["run_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["run", "number"], name="segment_number_unique_in_run")
        ]

    def __str__(self) -> str:
        return f"Segment {self.number}: {self.display_name}"

    @property
    def display_name(self) -> str:
        return self.custom_name or self.name

    def rename(self, name: str) -> None:
        self.custom_name = name.strip()[:200]
        self.save(update_fields=["custom_name"])


class OutcomeResult(models.Model):
    """Scores of one outcome in one group (whole sample when `segment` is NULL).

    I and S are 10 × top-two-box shares (0–10), O = I + max(I − S, 0); bounds are 95% percentile
    bootstrap intervals; NULL where a score is undefined (nobody answered). Unrounded."""

    run = models.ForeignKey(AnalysisRun, on_delete=models.CASCADE, related_name="outcome_results")
    segment = models.ForeignKey(
        SegmentResult, null=True, blank=True, on_delete=models.CASCADE, related_name="outcomes"
    )
    position = models.PositiveIntegerField(help_text="Column order of the outcome in the run.")
    code = models.CharField(max_length=40)
    statement = models.TextField()
    step = models.CharField(max_length=200, blank=True)
    stage = models.CharField(max_length=20, blank=True)
    n = models.PositiveIntegerField(help_text="Valid importance answers.")
    n_satisfaction = models.PositiveIntegerField()
    importance = models.FloatField(null=True)
    satisfaction = models.FloatField(null=True)
    opportunity = models.FloatField(null=True)
    band = models.CharField(max_length=8)
    overserved = models.BooleanField(default=False)
    importance_lower = models.FloatField(null=True)
    importance_upper = models.FloatField(null=True)
    satisfaction_lower = models.FloatField(null=True)
    satisfaction_upper = models.FloatField(null=True)
    opportunity_lower = models.FloatField(null=True)
    opportunity_upper = models.FloatField(null=True)
    rank = models.PositiveIntegerField(help_text="1 = highest opportunity in the group.")
    rank_lower = models.FloatField(null=True)
    rank_upper = models.FloatField(null=True)
    p_top10 = models.FloatField(null=True, help_text="Share of resamples ranking it in the top 10.")
    small_group = models.BooleanField(default=False)
    mean_importance = models.FloatField(null=True)
    mean_satisfaction = models.FloatField(null=True)
    mean_gap = models.FloatField(null=True)
    opportunity_to_add_value = models.FloatField(null=True)
    # Segments only: how often the outcome is unmet (important 4–5, satisfied 1–3) here and in
    # the rest of the sample, and the Benjamini–Hochberg q-value of the difference.
    unmet_share = models.FloatField(null=True)
    unmet_share_rest = models.FloatField(null=True)
    unmet_q_value = models.FloatField(null=True)
    distinctive = models.BooleanField(default=False)

    class Meta:
        ordering = ["run_id", "segment_id", "rank"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "code"],
                condition=Q(segment__isnull=True),
                name="outcome_once_per_run_whole_sample",
            ),
            models.UniqueConstraint(
                fields=["segment", "code"],
                condition=Q(segment__isnull=False),
                name="outcome_once_per_segment",
            ),
        ]
        indexes = [models.Index(fields=["run", "segment", "rank"])]

    def __str__(self) -> str:
        return f"{self.code}: O={self.opportunity}"


class SegmentMembership(models.Model):
    """Who was analysed and in which segment, as three aligned arrays.

    ``response_ids``: int64 little-endian bytes; ``segments``: uint8 bytes, the segment number
    (1…k; everyone 1 when no segments were found); ``respondent_ids``: the ids the responses
    came with, kept here so an export matches the run even after responses change."""

    run = models.OneToOneField(
        AnalysisRun, primary_key=True, on_delete=models.CASCADE, related_name="membership"
    )
    response_ids = models.BinaryField()
    segments = models.BinaryField()
    respondent_ids = models.JSONField(default=list)

    def __str__(self) -> str:
        return f"Membership of run {self.run_id}"

    @staticmethod
    def pack(response_ids: np.ndarray, segments: np.ndarray) -> tuple[bytes, bytes]:
        return (
            np.asarray(response_ids, dtype="<i8").tobytes(),
            np.asarray(segments, dtype=np.uint8).tobytes(),
        )

    def response_id_array(self) -> np.ndarray:
        return np.frombuffer(bytes(self.response_ids), dtype="<i8")

    def segment_array(self) -> np.ndarray:
        return np.frombuffer(bytes(self.segments), dtype=np.uint8)


class ExportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class ExportJob(models.Model):
    """One export of a run built in the background (large surveys; see analysis.export_jobs).

    The file is kept in the database (`content`, a BinaryField): an export is at most tens of
    MB (the .sav of 100,000 respondents × 100 outcomes), which PostgreSQL stores fine, and it
    needs no shared MEDIA_ROOT between web and worker machines."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="export_jobs")
    run = models.ForeignKey(AnalysisRun, on_delete=models.CASCADE, related_name="export_jobs")
    format = models.CharField(max_length=20, help_text="A name in analysis.export_formats.")
    segment_number = models.PositiveSmallIntegerField(null=True, blank=True)
    status = models.CharField(
        max_length=12, choices=ExportStatus.choices, default=ExportStatus.QUEUED
    )
    progress = models.PositiveSmallIntegerField(default=0, help_text="0–100.")
    stage = models.CharField(max_length=200, blank=True)
    content = models.BinaryField(null=True, blank=True, editable=False)
    filename = models.CharField(max_length=200, blank=True)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Deliveries that claimed the job; more than one means a worker was lost building it.
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    enqueued_at = models.DateTimeField(
        null=True, blank=True, help_text="When its task was last handed to the broker."
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = BackgroundWorkQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Export {self.pk} ({self.format}) of {self.survey_id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (ExportStatus.SUCCEEDED, ExportStatus.FAILED)
