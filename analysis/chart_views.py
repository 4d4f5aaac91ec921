"""Downloads of the opportunity landscape of a survey's latest successful analysis, as SVG and
PNG, for the whole sample or one segment (``?segment=N``).

Scoped like the analysis page: a survey outside the user's workspaces is a 404, and so is a
survey without a successful run (with a plain message saying so). The PNG is the same SVG drawn
by CairoSVG (which needs the system's libcairo2), at twice the viewBox size.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound

from analysis.chart_layout import Point
from analysis.charts import landscape_svg
from analysis.models import AnalysisRun, OutcomeResult, SegmentNotFound, SegmentResult
from surveys.access import survey_for

PNG_SCALE = 2
# A standalone SVG may hold scripts; ours holds none and escapes all text, and this header makes
# sure a browser opening the file would run none either.
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'"


@dataclass(frozen=True)
class Landscape:
    """What one chart shows: the run, the group (None = whole sample) and its points."""

    run: AnalysisRun
    segment: SegmentResult | None
    points: list[Point]

    @property
    def title(self) -> str:
        return f"Opportunity landscape · {self.run.survey.title}"

    @property
    def subtitle(self) -> str:
        if self.segment is None:
            group = f"Whole sample · {self.run.n_respondents} respondents"
        else:
            group = f"Segment {self.segment.number}: {self.segment.display_name} · "
            group += f"{self.segment.size} respondents"
        finished = self.run.finished_at.strftime("%Y-%m-%d") if self.run.finished_at else ""
        return f"{group} · analysis #{self.run.pk} of {finished}"

    @property
    def filename(self) -> str:
        suffix = f"-segment-{self.segment.number}" if self.segment else ""
        return f"landscape-survey-{self.run.survey_id}-run-{self.run.pk}{suffix}"

    def svg(
        self,
        *,
        interactive: bool = True,
        id_prefix: str = "landscape",
        described_by: tuple[str, ...] = (),
    ) -> str:
        return landscape_svg(
            self.points,
            title=self.title,
            subtitle=self.subtitle,
            interactive=interactive,
            id_prefix=id_prefix,
            described_by=described_by,
        )


def landscape_for(run: AnalysisRun, segment: SegmentResult | None = None) -> Landscape:
    rows = OutcomeResult.objects.filter(run=run, segment=segment).order_by("rank", "position")
    points = [
        Point(
            code=r.code,
            statement=r.statement,
            importance=r.importance,
            satisfaction=r.satisfaction,
            opportunity=r.opportunity,
            band=r.band,
        )
        for r in rows.only("code", "statement", "importance", "satisfaction", "opportunity", "band")
    ]
    return Landscape(run=run, segment=segment, points=points)


class _NotFound(Exception):
    pass


def _landscape(request: HttpRequest, pk: int) -> Landscape:
    survey = survey_for(request, pk)
    run = AnalysisRun.objects.latest_succeeded(survey)
    if run is None:
        raise _NotFound("This survey has no finished analysis yet, so there is no chart.")
    segment = None
    raw = request.GET.get("segment")
    if raw is not None:
        try:
            segment = run.find_segment(raw)
        except SegmentNotFound:
            raise _NotFound(f"The latest analysis has no segment {raw[:20]}.") from None
    return landscape_for(run, segment)


def _file(body: bytes | str, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Cache-Control"] = "private, no-cache"
    return response


@login_required
def landscape_svg_view(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        landscape = _landscape(request, pk)
    except _NotFound as exc:
        return HttpResponseNotFound(str(exc), content_type="text/plain; charset=utf-8")
    body = '<?xml version="1.0" encoding="UTF-8"?>\n' + landscape.svg()
    response = _file(body, "image/svg+xml; charset=utf-8", f"{landscape.filename}.svg")
    response["Content-Security-Policy"] = SVG_CSP
    return response


@login_required
def landscape_png_view(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        landscape = _landscape(request, pk)
    except _NotFound as exc:
        return HttpResponseNotFound(str(exc), content_type="text/plain; charset=utf-8")
    import cairosvg  # here, so a machine without libcairo2 loses only the PNG, not the site

    png = cairosvg.svg2png(bytestring=landscape.svg(interactive=False).encode(), scale=PNG_SCALE)
    return _file(png, "image/png", f"{landscape.filename}.png")
