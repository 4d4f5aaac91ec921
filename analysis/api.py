"""REST API for analysis: runs (start, status, cancel), results, segments, comparisons, exports.

Scoped like the rest of the API: every queryset is limited to the user's workspaces, so another
workspace's survey, run or segment is a 404; viewers read everything (a comparison is a read,
though it is a POST) and get 403 on writes (starting or cancelling a run, renaming a segment).

Results, segments and exports read the survey's latest successful run; a comparison is computed
on the fly from that run's respondents with the run's seed, so it repeats exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import F
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated
from rest_framework.response import Response

from analysis import exports
from analysis.core.compare import compare_groups
from analysis.core.scoring import BAND_LABELS
from analysis.models import AnalysisRun, OutcomeResult, RunStatus, SegmentResult
from analysis.parameters import DEFAULT_PARAMETERS
from analysis.runs import cancel_run, request_analysis
from analysis.serializers import (
    EXPORT_FORMATS,
    REST,
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
from jtbd.permissions import CanWriteWorkspace
from surveys.models import Response as SurveyResponse
from surveys.models import Survey
from surveys.ratings import load_matrix
from workspaces.models import Workspace


def _workspace_of(obj: Survey | AnalysisRun | SegmentResult) -> Workspace:
    if isinstance(obj, SegmentResult):
        return obj.run.survey.workspace
    if isinstance(obj, AnalysisRun):
        return obj.survey.workspace
    return obj.workspace


class CanWriteAnalysis(BasePermission):
    """Members read; owners and researchers start and cancel runs and rename segments. Objects
    of other workspaces never get here: the querysets are scoped, so those are 404s."""

    message = CanWriteWorkspace.message

    def has_object_permission(self, request, view, obj) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return _workspace_of(obj).can_write(request.user)


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
    permission_classes = [IsAuthenticated, CanWriteAnalysis]

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
            raise PermissionDenied(CanWriteAnalysis.message)
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
    permission_classes = [IsAuthenticated, CanWriteAnalysis]

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
    """The run's segment with this number; a 400 naming the problem otherwise."""
    segments = {s.number: s for s in run.segments.all()}
    if not segments:
        raise ValidationError(
            {"segment": f"Analysis {run.pk} found no segments: everyone is one group."}
        )
    number = raw if isinstance(raw, int) else None
    if isinstance(raw, str) and raw.isdigit() and len(raw) < 6:
        number = int(raw)
    if number not in segments:
        numbers = ", ".join(str(n) for n in sorted(segments))
        raise ValidationError(
            {"segment": f"No segment {raw!s:.40} in analysis {run.pk}; it has {numbers}."}
        )
    return segments[number]


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
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "sav": "application/x-spss-sav",
}


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
        errors: dict[str, str] = {}
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
        ordering = ["rank", "position"]
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
        return Response(compare_in_run(run, body.validated_data["a"], body.validated_data["b"]))

    @extend_schema(
        parameters=[
            OpenApiParameter("format", str, enum=list(EXPORT_FORMATS), description="Default csv."),
            OpenApiParameter(
                "segment",
                int,
                description="csv and xlsx: only this segment's results (xlsx: its sheet).",
            ),
        ],
        responses={
            (200, "text/csv"): OpenApiTypes.BINARY,
            (
                200,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ): OpenApiTypes.BINARY,
            (200, "application/x-spss-sav"): OpenApiTypes.BINARY,
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
        if kind not in EXPORT_FORMATS:
            raise ValidationError(
                {"format": f"Unknown format {kind!r:.40}; give one of {', '.join(EXPORT_FORMATS)}."}
            )
        raw_segment = request.query_params.get("segment")
        if raw_segment is not None and kind == "sav":
            raise ValidationError(
                {
                    "segment": "The sav file holds every respondent with their segment; "
                    "leave segment out."
                }
            )
        segment = _segment_of(run, raw_segment) if raw_segment is not None else None
        name = f"survey-{survey.pk}-analysis-{run.pk}"
        builders: dict[str, tuple[Callable[[], bytes | str], str]] = {
            "csv": (lambda: exports.results_csv(run, segment), "results"),
            "xlsx": (lambda: exports.results_xlsx(run, segment), "results"),
            "sav": (lambda: exports.respondents_sav(run), "respondents"),
        }
        build, what = builders[kind]
        try:
            content = build()
        except exports.ExportError as exc:
            raise ValidationError({"detail": str(exc)}) from None
        suffix = f"-segment-{segment.number}" if segment is not None else ""
        http = HttpResponse(content, content_type=CONTENT_TYPES[kind])
        http["Content-Disposition"] = f'attachment; filename="{name}-{what}{suffix}.{kind}"'
        return http


# --- comparisons --------------------------------------------------------------------------------


@dataclass
class RunRows:
    """The latest run's respondents as the comparison sees them: ratings in the run's outcome
    columns, and each respondent's segment, in matrix row order."""

    response_ids: np.ndarray
    importance: np.ndarray
    satisfaction: np.ndarray
    segments: np.ndarray


def _run_rows(run: AnalysisRun, codes: list[str]) -> RunRows:
    membership = run.membership
    ids, labels = membership.response_id_array(), membership.segment_array()
    completed = SurveyResponse.objects.filter(survey=run.survey).completed()
    matrix = load_matrix(run.survey, codes=codes, responses=completed)
    # The run's respondents only (a response deleted since the run is simply missing).
    in_run = np.isin(matrix.response_ids, ids)
    order = np.argsort(ids, kind="stable")
    kept = matrix.response_ids[in_run]
    return RunRows(
        response_ids=kept,
        importance=matrix.importance[in_run],
        satisfaction=matrix.satisfaction[in_run],
        segments=labels[order][np.searchsorted(ids[order], kept)],
    )


def _answers(survey: Survey, rows: RunRows, field: str) -> list[Any]:
    """Each row's answer in `field` (a Response column or profile__<key>), None if missing."""
    by_id = dict(SurveyResponse.objects.filter(survey=survey).completed().values_list("id", field))
    return [by_id.get(int(i)) for i in rows.response_ids]


def _text(value: Any) -> list[str]:
    """An answer as the texts it matches: a choice, each of several choices, a number."""
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return [t for v in value for t in _text(v)]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return [str(value)]


def _profile_keys(survey: Survey) -> list[str]:
    keys = list(survey.questions.order_by("order").values_list("key", flat=True))
    for version in survey.versions.order_by("-number"):
        keys += [q["key"] for q in version.content.get("questions", []) if q["key"] not in keys]
    return keys


def _matching(answers: list[Any], value: str, name: str, where: str) -> np.ndarray:
    texts = [_text(a) for a in answers]
    mask = np.array([value in t for t in texts], dtype=bool)
    if not mask.any():
        known = sorted({t for ts in texts for t in ts})
        listed = ", ".join(known[:20]) + (", …" if len(known) > 20 else "")
        raise ValidationError(
            {
                where: f"No respondent of this analysis answered {name} = {value!r:.80}"
                + (f"; answers: {listed}." if known else "; nobody answered it.")
            }
        )
    return mask


def _group(
    run: AnalysisRun, rows: RunRows, spec: dict, where: str, other: np.ndarray | None
) -> tuple[str, np.ndarray]:
    """(label, row mask) of one group spec; a 400 keyed by `where` naming any problem."""
    n = rows.response_ids.size
    if REST in spec:
        return "Everyone else", ~other
    if "segment" in spec:
        try:
            segment = _segment_of(run, spec["segment"])
        except ValidationError as exc:
            raise ValidationError({where: exc.detail["segment"]}) from None
        return f"Segment {segment.number}: {segment.display_name}", rows.segments == segment.number
    if "current_solution" in spec:
        value = spec["current_solution"]
        answers = _answers(run.survey, rows, "current_solution")
        return f"Current solution: {value}", _matching(answers, value, "current_solution", where)
    keys = _profile_keys(run.survey)
    mask = np.ones(n, dtype=bool)
    for key, value in spec["profile"].items():
        if key not in keys:
            raise ValidationError(
                {
                    where: f"No profile question {key!r:.80} in this survey; questions: "
                    + (", ".join(keys) or "none")
                    + "."
                }
            )
        mask &= _matching(_answers(run.survey, rows, f"profile__{key}"), value, key, where)
    label = ", ".join(f"{k} = {v}" for k, v in spec["profile"].items())
    return label, mask


def _f(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def compare_in_run(run: AnalysisRun, spec_a: dict, spec_b: dict) -> dict[str, Any]:
    """Compare two groups of `run`'s respondents (see `SurveyAnalysisViewSet.compare`)."""
    outcomes = list(
        run.outcome_results.filter(segment=None)
        .order_by("position")
        .values_list("code", "statement", "rank")
    )
    rows = _run_rows(run, [code for code, _, _ in outcomes])
    label_a, a = _group(run, rows, spec_a, "a", None)
    label_b, b = _group(run, rows, spec_b, "b", a)
    for name, mask in (("a", a), ("b", b)):
        if not mask.any():
            raise ValidationError({name: f"Nobody of analysis {run.pk} is in group {name}."})
    threshold = int(run.parameters.get("small_group", DEFAULT_PARAMETERS["small_group"]))
    seed = int(run.parameters.get("seed", DEFAULT_PARAMETERS["seed"]))
    n_a, n_b = int(a.sum()), int(b.sum())
    warnings = [
        f"Group {name} has {size} respondents (fewer than {threshold}): differences carry wide "
        "intervals."
        for name, size in (("a", n_a), ("b", n_b))
        if size < threshold
    ]
    both = int((a & b).sum())
    if both:
        warnings.append(
            f"{both} respondents are in both groups: the test assumes independent groups, so "
            "read the p-values with care."
        )
    result = compare_groups(rows.importance, rows.satisfaction, a, b, seed=seed)
    per_outcome = [
        {
            "code": code,
            "statement": statement,
            "rank": rank,
            "n_a": int(result.scores_a.n[j]),
            "n_b": int(result.scores_b.n[j]),
            "opportunity_a": _f(result.scores_a.opportunity[j]),
            "opportunity_b": _f(result.scores_b.opportunity[j]),
            "difference": _f(result.difference[j]),
            "lower": _f(result.lower[j]),
            "upper": _f(result.upper[j]),
            "p_value": _f(result.p_value[j]),
            "q_value": _f(result.q_value[j]),
            "significant": bool(result.significant[j]),
        }
        for j, (code, statement, rank) in enumerate(outcomes)
    ]
    per_outcome.sort(key=lambda o: o["rank"])
    return {
        "run": run.pk,
        "seed": seed,
        "a": {"label": label_a, "n": n_a, "small_group": n_a < threshold},
        "b": {"label": label_b, "n": n_b, "small_group": n_b < threshold},
        "confidence": result.confidence,
        "alpha": result.alpha,
        "n_resamples": result.n_resamples,
        "warnings": warnings,
        "outcomes": per_outcome,
    }
