"""REST API for analysis: runs (start, status, cancel), results, segments, comparisons, exports.

Scoped like the rest of the API: every queryset is limited to the user's workspaces, so another
workspace's survey, run or segment is a 404; viewers read everything (a comparison is a read,
though it is a POST) and get 403 on writes (starting or cancelling a run, renaming a segment).

Results, segments and exports read the survey's latest successful run; a comparison is computed
on request by `analysis.comparisons` from that run's respondents with the run's seed, so it
repeats exactly.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import F, OrderBy
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from analysis import exports
from analysis.comparisons import ComparisonError, compare_in_run
from analysis.core.scoring import BAND_LABELS
from analysis.export_formats import FORMATS, NAMES, listed
from analysis.models import AnalysisRun, OutcomeResult, RunStatus, SegmentNotFound, SegmentResult
from analysis.runs import cancel_run, request_analysis
from analysis.serializers import (
    SORTS,
    CompareRequestSerializer,
    ComparisonSerializer,
    DetailSerializer,
    ResultsSerializer,
    RunRequestSerializer,
    RunSerializer,
    SegmentRenameSerializer,
    SegmentSerializer,
    SegmentsSerializer,
    segmentation_summary,
)
from config.api import Conflict, as_drf_error
from config.params import filter_by_choice, filter_by_id
from config.parsers import SafeJSONParser
from surveys.models import Survey
from workspaces.permissions import CanWriteWorkspace

# --- runs ---------------------------------------------------------------------------------------


RUN_FILTERS = [
    OpenApiParameter("survey", int, description="Only this survey's runs."),
    OpenApiParameter("status", str, enum=RunStatus.values),
]


@extend_schema(parameters=RUN_FILTERS)
class RunViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Analysis runs, newest first: state, progress, parameters, fingerprint and timings."""

    serializer_class = RunSerializer
    permission_classes = [IsAuthenticated, CanWriteWorkspace]

    def get_queryset(self):
        qs = (
            AnalysisRun.objects.for_user(self.request.user)
            .select_related("survey__workspace", "requested_by")
            .defer("profile_differences", "drivers", "loyalty")
            .order_by("-created_at", "-id")
        )
        qs = filter_by_id(qs, self.request.query_params, "survey")
        return filter_by_choice(qs, self.request.query_params, "status", RunStatus.values)

    def get_serializer_class(self):
        return RunRequestSerializer if self.action == "create" else RunSerializer

    @extend_schema(
        request=RunRequestSerializer,
        responses={
            201: RunSerializer,
            200: OpenApiResponse(
                RunSerializer,
                description="A run of the survey was already queued: that run, joined "
                "(`joined_existing` true).",
            ),
            400: OpenApiTypes.OBJECT,
            403: DetailSerializer,
        },
        description="Queue an analysis of a survey (owners and researchers). While a run is "
        "queued, further requests join it: it reads the data when it starts.",
    )
    def create(self, request, *args, **kwargs) -> Response:
        data = RunRequestSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        survey = data.validated_data["survey"]
        if not survey.workspace.can_write(request.user):
            raise PermissionDenied(CanWriteWorkspace.message)
        already = set(
            AnalysisRun.objects.filter(survey=survey, status=RunStatus.QUEUED).values_list(
                "pk", flat=True
            )
        )
        try:
            run = request_analysis(survey=survey, parameters=data.parameters(), by=request.user)
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from None
        joined = run.pk in already
        run = AnalysisRun.objects.select_related("requested_by").get(pk=run.pk)
        run.joined_existing = joined
        return Response(
            RunSerializer(run).data,
            status=status.HTTP_200_OK if joined else status.HTTP_201_CREATED,
        )

    @extend_schema(
        request=None,
        responses={
            200: RunSerializer,
            403: DetailSerializer,
            409: OpenApiResponse(DetailSerializer, description="The run had already finished."),
        },
        description="Cancel a queued run at once, or a running one: its worker stops at its "
        "next progress update and stores nothing.",
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None, format=None) -> Response:
        run = self.get_object()
        if not cancel_run(run=run):
            raise Conflict(f"Analysis {run.pk} has already finished ({run.status}).")
        return Response(RunSerializer(run).data)


# --- segments -----------------------------------------------------------------------------------


class SegmentViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """A segment of a run; researchers rename it (the generated name stays underneath)."""

    serializer_class = SegmentSerializer
    permission_classes = [IsAuthenticated, CanWriteWorkspace]

    def get_queryset(self):
        return SegmentResult.objects.filter(
            run__in=AnalysisRun.objects.for_user(self.request.user)
        ).select_related("run__survey__workspace")

    @extend_schema(
        request=SegmentRenameSerializer,
        responses={200: SegmentSerializer, 400: OpenApiTypes.OBJECT, 403: DetailSerializer},
        description="Rename the segment; a blank name goes back to the generated one.",
    )
    def partial_update(self, request, pk=None, format=None) -> Response:
        segment = self.get_object()
        data = SegmentRenameSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        segment.rename(data.validated_data["custom_name"])
        return Response(SegmentSerializer(segment).data)


# --- a survey's latest results ------------------------------------------------------------------


def _latest_run(survey: Survey) -> AnalysisRun:
    run = AnalysisRun.objects.latest_succeeded(survey)
    if run is None:
        raise NotFound(
            f"Survey {survey.pk} has no successful analysis yet: start one with POST /api/runs/."
        )
    return run


def _segment_of(run: AnalysisRun, raw: object) -> SegmentResult:
    """The run's segment `raw` names (`AnalysisRun.find_segment`); a 400 naming the problem."""
    try:
        return run.find_segment(raw)
    except SegmentNotFound as exc:
        raise ValidationError({"segment": str(exc)}) from None


class ExportFormatNegotiation(DefaultContentNegotiation):
    """?format= names an export's file type here (csv, xlsx, sav), not a renderer: an unknown
    renderer format falls back to normal negotiation instead of DRF's 404."""

    def filter_renderers(self, renderers, format):
        return [r for r in renderers if r.format == format] or renderers


SEGMENT_PARAM = OpenApiParameter(
    "segment", int, description="A segment number of the latest run (default: whole sample)."
)
SURVEY_404 = OpenApiResponse(
    DetailSerializer, description="No such survey in your workspaces, or no successful run yet."
)


class SurveyAnalysisViewSet(viewsets.GenericViewSet):
    """A survey's latest results, segments, comparisons and exports (routed in config/urls.py
    under /api/surveys/<pk>/ next to the survey's own actions)."""

    permission_classes = [IsAuthenticated]
    parser_classes = [SafeJSONParser]
    content_negotiation_class = ExportFormatNegotiation
    # The one request body of these actions (compare's): OPTIONS describes it, and without a
    # serializer class DRF's metadata raised an AssertionError, a 500.
    serializer_class = CompareRequestSerializer

    def get_queryset(self):
        return Survey.objects.for_user(self.request.user)

    @extend_schema(
        parameters=[
            SEGMENT_PARAM,
            OpenApiParameter("band", str, enum=list(BAND_LABELS), description="Only this band."),
            OpenApiParameter("step", str, description="Only outcomes of this job step (title)."),
            OpenApiParameter(
                "sort",
                str,
                enum=list(SORTS),
                description="Highest first; default opportunity (the rank order).",
            ),
        ],
        responses={200: ResultsSerializer, 400: OpenApiTypes.OBJECT, 404: SURVEY_404},
        description="Outcome scores of the latest successful run, with bootstrap intervals, "
        "rank intervals, the chance of being in the top 10 and the alternative scorings.",
    )
    def results(self, request, pk=None) -> Response:
        survey = self.get_object()
        run = _latest_run(survey)
        params = request.query_params
        errors: dict[str, Any] = {}  # messages, and a ValidationError's details
        sort = params.get("sort") or "opportunity"
        if sort not in SORTS:
            errors["sort"] = f"Unknown sort {sort!r:.40}; give one of {', '.join(SORTS)}."
        band = params.get("band")
        if band is not None and band not in BAND_LABELS:
            errors["band"] = f"Unknown band {band!r:.40}; give one of {', '.join(BAND_LABELS)}."
        segment = None
        if params.get("segment") is not None:
            try:
                segment = _segment_of(run, params["segment"])
            except ValidationError as exc:
                assert isinstance(exc.detail, dict)  # _segment_of names the "segment" field
                errors.update(exc.detail)
        rows = OutcomeResult.objects.filter(run=run, segment=segment)
        step = params.get("step")
        if step is not None:
            steps = sorted(set(rows.values_list("step", flat=True)))
            if step not in steps:
                errors["step"] = f"No step {step!r:.80} in these results; steps: " + "; ".join(
                    steps
                )
        if errors:
            raise ValidationError(errors)
        if band is not None:
            rows = rows.filter(band=band)
        if step is not None:
            rows = rows.filter(step=step)
        ordering: list[str | OrderBy] = ["rank", "position"]
        if sort != "opportunity":
            ordering = [F(sort).desc(nulls_last=True), *ordering]
        outcomes = list(rows.order_by(*ordering))
        body = {
            "run": run,
            "segment": segment,
            "sort": sort,
            "count": len(outcomes),
            "outcomes": outcomes,
            "loyalty": run.loyalty,
            "drivers": run.drivers,
        }
        return Response(ResultsSerializer(body).data)

    @extend_schema(
        responses={200: SegmentsSerializer, 404: SURVEY_404},
        description="The latest run's segments (largest first) and its segmentation verdict; "
        "no segments when the data hold none.",
    )
    def segments(self, request, pk=None) -> Response:
        run = _latest_run(self.get_object())
        body = {
            "run": run,
            "segmentation": segmentation_summary(run),
            "segments": run.segments.order_by("number"),
        }
        return Response(SegmentsSerializer(body).data)

    @extend_schema(
        request=CompareRequestSerializer,
        responses={200: ComparisonSerializer, 400: OpenApiTypes.OBJECT, 404: SURVEY_404},
        description="Opportunity of group a minus group b per outcome, over the latest run's "
        "respondents: a bootstrap interval of the difference, its p-value and the "
        "Benjamini–Hochberg q-value (significant: q < 0.05). Groups: "
        '{"segment": N}, {"profile": {"role": "Team lead"}} (every key must match), '
        '{"current_solution": "Spreadsheets"}; b may be "rest" (everyone not in a). '
        "Reads only; viewers may compare.",
    )
    def compare(self, request, pk=None) -> Response:
        survey = self.get_object()
        body = CompareRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        run = _latest_run(survey)
        try:
            result = compare_in_run(run, body.validated_data["a"], body.validated_data["b"])
        except ComparisonError as exc:
            raise ValidationError({exc.group: exc.message}) from None
        return Response(result)

    @extend_schema(
        parameters=[
            OpenApiParameter("format", str, enum=list(NAMES), description="Default csv."),
            OpenApiParameter(
                "segment",
                int,
                description="csv and xlsx: only this segment's results (xlsx: its sheet).",
            ),
        ],
        responses={
            **{(200, f.content_type.split(";")[0]): OpenApiTypes.BINARY for f in FORMATS.values()},
            400: OpenApiTypes.OBJECT,
            404: SURVEY_404,
        },
        description="The latest run as a file: csv (results, one row per outcome), xlsx "
        "(results per group plus an About sheet) or sav (SPSS, one row per respondent with "
        "ratings, profile answers and segment).",
    )
    def exports(self, request, pk=None) -> HttpResponse:
        survey = self.get_object()
        run = _latest_run(survey)
        kind = request.query_params.get("format") or "csv"
        export = FORMATS.get(kind)
        if export is None:
            raise ValidationError(
                {"format": f"Unknown format {kind!r:.40}; give one of {listed()}."}
            )
        raw_segment = request.query_params.get("segment")
        if raw_segment is not None and not export.per_segment:
            raise ValidationError(
                {
                    "segment": f"The {kind} file holds every respondent with their segment; "
                    "leave segment out."
                }
            )
        segment = _segment_of(run, raw_segment) if raw_segment is not None else None
        try:
            content = export.build(run, segment)
        except exports.ExportError as exc:
            raise ValidationError({"detail": str(exc)}) from None
        http = HttpResponse(content, content_type=export.content_type)
        filename = export.filename(run, segment.number if segment is not None else None)
        http["Content-Disposition"] = f'attachment; filename="{filename}"'
        return http
