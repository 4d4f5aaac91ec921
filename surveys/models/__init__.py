"""Models of surveys, one module per concern; Django finds them through these imports.

- `survey`: Survey, the outcomes and questions it asks, SurveyVersion (what respondents saw);
- `respondents`: Invitation and Response;
- `outbox`: Outbox, the work a stored response asks for;
- `erasure`: ErasureRecord, the audit of each erasure of personal data;
- `design`: DesignCounter, the shared counts of a planned-subset design.
"""

from surveys.models.design import DesignCounter
from surveys.models.erasure import ERASURE_HMAC_SALT, ErasureRecord, ErasureScope
from surveys.models.outbox import Outbox, OutboxQuerySet, resend_after
from surveys.models.respondents import (
    Flag,
    Invitation,
    InvitationQuerySet,
    Response,
    ResponseQuerySet,
    ResponseSource,
    ResponseStatus,
)
from surveys.models.survey import (
    CES_TEXT,
    CURRENT_SOLUTION_TEXT,
    DEFAULT_IMPORTANCE_LABELS,
    DEFAULT_SATISFACTION_LABELS,
    NPS_TEXT,
    Question,
    QuestionKind,
    Survey,
    SurveyOutcome,
    SurveyQuerySet,
    SurveyStatus,
    SurveyVersion,
    default_importance_labels,
    default_satisfaction_labels,
    new_token,
    unique_lines,
)

__all__ = [
    "CES_TEXT",
    "CURRENT_SOLUTION_TEXT",
    "DEFAULT_IMPORTANCE_LABELS",
    "DEFAULT_SATISFACTION_LABELS",
    "ERASURE_HMAC_SALT",
    "NPS_TEXT",
    "DesignCounter",
    "ErasureRecord",
    "ErasureScope",
    "Flag",
    "Invitation",
    "InvitationQuerySet",
    "Outbox",
    "OutboxQuerySet",
    "Question",
    "QuestionKind",
    "Response",
    "ResponseQuerySet",
    "ResponseSource",
    "ResponseStatus",
    "Survey",
    "SurveyOutcome",
    "SurveyQuerySet",
    "SurveyStatus",
    "SurveyVersion",
    "default_importance_labels",
    "default_satisfaction_labels",
    "new_token",
    "resend_after",
    "unique_lines",
]
