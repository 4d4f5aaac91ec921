from django import template

from analysis.export_jobs import runs_in_background

register = template.Library()


@register.filter
def exports_in_background(run) -> bool:
    """Whether the results page offers this run's exports as background jobs."""
    return run is not None and runs_in_background(run)
