"""The shared state of a survey's planned-subset design: how often each outcome has been shown.

One row per survey, kept across its versions (a republished survey goes on from the counts it
has, so an outcome short of shows in one version catches up in the next, and the tie-breaks go
on from the number of respondents assigned). Locked while a new respondent is assigned
(surveys/design.py), so concurrent respondents are assigned one after another from the counts
each leaves behind.
"""

from __future__ import annotations

from django.db import models


class DesignCounter(models.Model):
    survey = models.OneToOneField(
        "surveys.Survey", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    assigned = models.PositiveIntegerField(default=0, help_text="Respondents assigned so far.")
    counts = models.JSONField(
        default=dict, help_text="Times each outcome (by code) was shown to an assigned respondent."
    )

    def __str__(self) -> str:
        return f"design of survey {self.survey_id}: {self.assigned} assigned"
