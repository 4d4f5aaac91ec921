"""The audit record of each erasure of personal data (the workflow is surveys/erasure.py)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.crypto import salted_hmac

from surveys.models.survey import Survey
from workspaces.models import Workspace

ERASURE_HMAC_SALT = "surveys.erasure.reference"


class ErasureScope(models.TextChoices):
    RESPONDENT = "respondent", "One respondent"
    SURVEY = "survey", "Whole survey"


class ErasureRecord(models.Model):
    """The audit of one erasure of personal data (see surveys/erasure.py).

    It holds who erased, when, where and how many rows changed, never the erased values: a
    respondent erasure keeps only keyed hashes (HMAC-SHA256 with the SECRET_KEY) of the
    identifiers it removed, so an auditor holding an identifier can confirm that it was erased
    (`covers`) while nobody can read the identifier back from the record. A survey-wide erasure
    keeps no hash at all: a list of everyone who took part would itself be personal data."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    # SET_NULL: the record outlives the survey, as the proof that the erasure happened.
    survey = models.ForeignKey(
        Survey, null=True, blank=True, on_delete=models.SET_NULL, related_name="erasures"
    )
    # The survey's id and title, kept when the survey is deleted; the hashes are tied to the id.
    survey_key = models.PositiveBigIntegerField()
    survey_title = models.CharField(max_length=200)
    scope = models.CharField(max_length=12, choices=ErasureScope.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    by_username = models.CharField(max_length=150, help_text="Kept if the user is deleted.")
    created_at = models.DateTimeField(default=timezone.now)
    invitations = models.PositiveIntegerField(default=0, help_text="Invitations changed.")
    responses = models.PositiveIntegerField(default=0, help_text="Responses changed.")
    analysis_runs = models.PositiveIntegerField(
        default=0, help_text="Stored analyses whose respondent ids were replaced."
    )
    exports = models.PositiveIntegerField(
        default=0, help_text="Stored export files with respondent ids that were deleted."
    )
    references = models.JSONField(
        default=list, blank=True, help_text="Keyed hashes of the erased identifiers."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["survey", "-created_at"])]

    def __str__(self) -> str:
        return f"Erasure {self.pk} ({self.get_scope_display()}) in {self.survey_title}"

    @staticmethod
    def reference(survey_id: int, identifier: str, *, secret: str | None = None) -> str:
        """The keyed hash kept for an identifier: tied to the survey, so the same e-mail address
        erased from two surveys gives two unrelated references."""
        return salted_hmac(
            ERASURE_HMAC_SALT, f"{survey_id}:{identifier}", secret=secret, algorithm="sha256"
        ).hexdigest()

    def covers(self, identifier: str) -> bool:
        """Whether this erasure removed `identifier` (an e-mail address, external id, link
        token or respondent id as the auditor gives it). A survey-wide erasure covers everyone
        who was in the survey. Keys the site has rotated away from (SECRET_KEY_FALLBACKS) are
        tried too, so rotating the key does not make old records unverifiable."""
        if self.scope == ErasureScope.SURVEY:
            return True
        value = identifier.strip()
        candidates = {value, value.lower()}
        stored = set(self.references)
        for secret in [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]:
            for candidate in candidates:
                if self.reference(self.survey_key, candidate, secret=secret) in stored:
                    return True
        return False
