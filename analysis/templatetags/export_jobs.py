from django import template

from analysis.export_formats import FORMATS, ExportFormat
from analysis.export_jobs import runs_in_background
from analysis.models import AnalysisRun

register = template.Library()


@register.filter
def exports_in_background(run: AnalysisRun | None) -> bool:
    """Whether the results page offers this run's exports as background jobs."""
    return run is not None and runs_in_background(run)


@register.simple_tag
def export_formats() -> list[ExportFormat]:
    """The formats the results page offers, from the one registry (analysis.export_formats)."""
    return list(FORMATS.values())
