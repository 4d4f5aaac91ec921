"""The shared state of a version's planned-subset design: how often each outcome has been shown.

One row per version with a design, locked while a new respondent is assigned (surveys/design.py),
so concurrent respondents are assigned one after another from the counts each leaves behind.
"""

from __future__ import annotations

from django.db import models


class DesignCounter(models.Model):
    version = models.OneToOneField(
        "surveys.SurveyVersion", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    assigned = models.PositiveIntegerField(default=0, help_text="Respondents assigned so far.")
    counts = models.JSONField(
        default=list, help_text="Times each rotating outcome was shown, in the design's order."
    )

    def __str__(self) -> str:
        return f"design of version {self.version_id}: {self.assigned} assigned"
