"""``{% landscape run %}``: the opportunity landscape inline, with its table and downloads."""

from __future__ import annotations

from django import template
from django.utils.safestring import mark_safe

from analysis.chart_views import landscape_for
from analysis.models import AnalysisRun, SegmentResult

register = template.Library()


@register.inclusion_tag("analysis/_landscape.html")
def landscape(run: AnalysisRun, segment: SegmentResult | None = None) -> dict:
    chart = landscape_for(run, segment)
    query = f"?segment={segment.number}" if segment else ""
    # Unique ids, so a page can show the whole sample's chart and each segment's.
    prefix = f"landscape-s{segment.number}" if segment else "landscape"
    table_id = f"{prefix}-table"
    # The SVG is built by analysis.charts, which escapes every piece of text it draws.
    svg = mark_safe(chart.svg(id_prefix=prefix, described_by=(table_id,)))
    return {
        "chart": chart,
        "svg": svg,
        "prefix": prefix,
        "table_id": table_id,
        "survey_id": run.survey_id,
        "query": query,
    }
