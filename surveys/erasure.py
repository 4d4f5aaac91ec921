"""Erasing personal data: one respondent's identifiers and typed answers, or a whole survey's.

What identifies a person here, and what an erasure does to it:

- `Invitation.email` and `Invitation.external_id`: blanked. The row stays (the fieldwork counts
  and the link to the response stay right) and its token is replaced by a fresh random one
  starting with ``erased-``, so the link the person was sent stops working: erased people can
  neither be contacted nor keep answering.
- `Response.respondent_id` (the invitation's e-mail or external id, an imported id, ``web-…``
  from the browser cookie, ``api-…`` from the API's idempotency key): replaced by the pseudonym
  ``erased-<response id>``, unique within the survey and meaningless outside the database.
  `Response.browser_key` and `idempotency_key` are cleared: both are keys a browser or another
  system could use to find the response again.
- `analysis.SegmentMembership.respondent_ids` (what the segments CSV and the SPSS file show):
  the same pseudonyms, so stored results and every export match the responses page.
- `analysis.ExportJob` SPSS files (one row per respondent, with the id): deleted, and an export
  of one still being built is failed; the results CSV/XLSX files carry no respondent ids.
- The admin's history (`LogEntry.object_repr`, the str() of an invitation or response changed
  there, which is the identifier): replaced by "(erased)".

- What the person typed, which can name them (or a colleague, a customer, a company): answers to
  short-text profile questions are removed from `Response.profile`, and a "something else"
  answer to "What do you use today?" (`Response.current_solution` when it is not one of the
  version's options) is blanked. Stored analyses show such answers as categories of the current
  solution (`profile_differences` of the run and of each segment): those labels read "(erased)".

Ratings, choice and number answers, NPS/CES, flags and the stored scores are untouched: the
answers stay for analysis, and a new analysis gives the same scores (rows are read in response
id order).

Each erasure is one transaction holding the survey's row lock: erasures of one survey run one
after the other, and an analysis storing its results takes the same lock and then re-reads the
respondent ids (`analysis.storing._respondent_ids_now`), so it never stores ids it read before
an erasure.
Each writes an `ErasureRecord`; erasing again is harmless (nothing left to change, the record says
0). An identifier the survey does not hold, and never held, raises `UnknownRespondent` and
changes nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Iterable

from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Case, CharField, F, Q, QuerySet, Value, When
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from analysis.export_formats import WITH_RESPONDENT_IDS
from analysis.models import AnalysisRun, ExportJob, ExportStatus, SegmentMembership, SegmentResult
from config.params import valid_id
from surveys.models import ErasureRecord, ErasureScope, Invitation, Response, Survey
from workspaces.models import Role

ERASED_PREFIX = "erased-"
ERASED_ANSWER = "(erased)"
# Only SPSS files hold one row per respondent with the id; results files hold one per outcome.


class UnknownRespondent(Exception):
    """Nothing in the survey is identified by the given value, and no erasure removed it."""

    def __init__(self, identifier: str, survey: Survey) -> None:
        self.identifier = identifier
        super().__init__(
            f"No invitation or response of survey {survey.pk} is identified by "
            f"{identifier.strip()[:200]!r} (an e-mail address, external id, invitation token or "
            "respondent id); nothing was erased."
        )


def may_erase(*, survey: Survey, user: AbstractBaseUser | AnonymousUser) -> bool:
    """Only the workspace's owners erase: it cannot be undone, and it changes what researchers
    and strategists see (ids in responses, results and exports)."""
    return survey.workspace.role_of(user) == Role.OWNER


def title_confirms(survey: Survey, typed: str) -> bool:
    """Whether `typed` is the survey's title (surrounding spaces aside): erasing a whole survey
    asks for it, so it is never one stray click or a request meant for another survey."""
    return typed.strip() == survey.title.strip()


def pseudonym(response_id: int) -> str:
    return f"{ERASED_PREFIX}{response_id}"


def is_erased(invitation: Invitation) -> bool:
    return invitation.token.startswith(ERASED_PREFIX)


@transaction.atomic
def erase_respondent(
    *, survey: Survey, respondent: str, by: AbstractBaseUser | AnonymousUser | None
) -> ErasureRecord:
    """Erase one person's identifiers and free-text answers from the survey; their other
    answers stay, pseudonymous.

    `respondent` is any identifier of the person in this survey: an invitation's e-mail address
    (any case) or external id, an invitation token, or a response's respondent id. What is linked
    to a match goes too: the response of a matched invitation, the invitation of a matched
    response, and a response that came with the matched invitation's e-mail or external id
    without using its link (an import). Raises `UnknownRespondent`, changing nothing, when the
    survey holds no such identifier and no earlier erasure of the survey covers it."""
    survey = _lock(survey)
    value = respondent.strip()
    if not value:
        raise UnknownRespondent(respondent, survey)
    invitations = _by_pk(
        _locked(Invitation, survey, Q(email__iexact=value) | Q(external_id=value) | Q(token=value))
    )
    responses = _by_pk(
        _locked(Response, survey, _same_id(value) | Q(invitation__in=list(invitations)))
    )
    linked = [r.invitation_id for r in responses.values() if r.invitation_id not in invitations]
    invitations |= _by_pk(_locked(Invitation, survey, Q(pk__in=[i for i in linked if i])))
    names = {v for inv in invitations.values() for v in (inv.email, inv.external_id) if v}
    same_person = Q(invitation__in=list(invitations))
    for name in names:
        same_person |= _same_id(name)
    responses |= _by_pk(_locked(Response, survey, same_person))
    if not invitations and not responses and not find_erasures(survey=survey, identifier=value):
        raise UnknownRespondent(respondent, survey)

    erased_values = {
        value,
        *(inv.email.lower() for inv in invitations.values()),
        *(inv.external_id for inv in invitations.values()),
        *(inv.token for inv in invitations.values() if not is_erased(inv)),
        *(
            r.respondent_id
            for r in responses.values()
            if not _is_own_pseudonym(r.pk, r.respondent_id)
        ),
    } - {""}
    n_invitations = _blank_invitations(Invitation.objects.filter(pk__in=list(invitations)))
    theirs = Response.objects.filter(pk__in=list(responses))
    renamed, new_ids = _pseudonymise(survey, theirs)
    retyped, typed = _remove_free_text(survey, theirs)
    runs = _rewrite_memberships(survey, new_ids, shown=erased_values)
    runs |= _erase_stored_answers(survey, typed)
    _scrub_admin_history(Invitation, set(invitations))
    _scrub_admin_history(Response, set(responses))
    n_responses = len(renamed | retyped)
    return ErasureRecord.objects.create(
        **_audit(survey, ErasureScope.RESPONDENT, by),
        invitations=n_invitations,
        responses=n_responses,
        analysis_runs=len(runs),
        exports=_drop_exports(survey) if n_responses or runs else 0,
        references=sorted({ErasureRecord.reference(survey.pk, v) for v in erased_values}),
    )


@transaction.atomic
def erase_survey_personal_data(
    *, survey: Survey, by: AbstractBaseUser | AnonymousUser | None
) -> ErasureRecord:
    """Erase every invitation e-mail address and external id, every respondent id and every
    free-text answer of the survey; the other answers stay, pseudonymous. Erasing an erased
    survey changes nothing."""
    survey = _lock(survey)
    n_invitations = _blank_invitations(Invitation.objects.filter(survey=survey))
    everyone = Response.objects.filter(survey=survey)
    renamed, new_ids = _pseudonymise(survey, everyone, everyone=True)
    retyped, typed = _remove_free_text(survey, everyone)
    runs = _rewrite_memberships(survey, new_ids, everyone=True)
    runs |= _erase_stored_answers(survey, typed, everyone=True)
    _scrub_admin_history(Invitation, set(survey.invitations.values_list("pk", flat=True)))
    _scrub_admin_history(Response, set(new_ids))
    n_responses = len(renamed | retyped)
    return ErasureRecord.objects.create(
        **_audit(survey, ErasureScope.SURVEY, by),
        invitations=n_invitations,
        responses=n_responses,
        analysis_runs=len(runs),
        exports=_drop_exports(survey) if n_responses or runs else 0,
    )


def find_erasures(*, survey: Survey, identifier: str) -> list[ErasureRecord]:
    """The survey's erasures that removed `identifier`: an auditor's "was X erased?"."""
    return [r for r in survey.erasures.select_related("by") if r.covers(identifier)]


# --- steps --------------------------------------------------------------------------------------


def _lock(survey: Survey) -> Survey:
    """The survey, locked until the erasure commits: erasures of one survey run one after the
    other, and a run storing its results waits (analysis.storing._respondent_ids_now)."""
    return Survey.objects.select_for_update().get(pk=survey.pk)


def _locked(model: type[Invitation] | type[Response], survey: Survey, match: Q) -> list:
    return list(model.objects.select_for_update().filter(survey=survey).filter(match))


def _same_id(value: str) -> Q:
    """Responses with this respondent id; any case for an e-mail address, which an import may
    spell differently from the invitation."""
    return Q(respondent_id__iexact=value) if "@" in value else Q(respondent_id=value)


def _by_pk(rows: Iterable) -> dict:
    return {row.pk: row for row in rows}


def _audit(
    survey: Survey, scope: ErasureScope, by: AbstractBaseUser | AnonymousUser | None
) -> dict:
    return {
        "workspace_id": survey.workspace_id,
        "survey": survey,
        "survey_key": survey.pk,
        "survey_title": survey.title,
        "scope": scope,
        "by": by if by is not None and by.is_authenticated else None,
        "by_username": by.get_username() if by is not None else "",
        "created_at": timezone.now(),
    }


def _blank_invitations(invitations: QuerySet[Invitation]) -> int:
    """Blank e-mail addresses and external ids and disable the links; returns how many
    invitations changed. One UPDATE, however many invitations."""
    # The new token: a secret fresh for this erasure plus the row's id, so it is unique and
    # cannot be derived from the link the person was sent.
    token = Concat(Value(f"{ERASED_PREFIX}{secrets.token_urlsafe(16)}-"), Cast("id", CharField()))
    enabled = ~Q(token__startswith=ERASED_PREFIX)
    return invitations.filter(~Q(email="") | ~Q(external_id="") | enabled).update(
        email="",
        external_id="",
        token=Case(When(enabled, then=token), default=F("token")),
    )


def _is_own_pseudonym(pk: int, respondent_id: str) -> bool:
    """Whether a response already carries the pseudonym an erasure gave it."""
    own = pseudonym(pk)
    return respondent_id == own or respondent_id.startswith(own + "-")


def _pseudonymise(
    survey: Survey, responses: QuerySet[Response], *, everyone: bool = False
) -> tuple[set[int], dict[int, str]]:
    """Give each response its pseudonym and clear its keys. Returns the responses that changed
    and the respondent id each response now has. `everyone`: `responses` are all the survey's,
    so no other response can hold one of the pseudonyms."""
    rows = list(
        responses.select_for_update().values_list(
            "pk", "respondent_id", "browser_key", "idempotency_key"
        )
    )
    new_ids = {pk: rid if _is_own_pseudonym(pk, rid) else pseudonym(pk) for pk, rid, _, _ in rows}
    suffixed: dict[int, str] = {}
    if not everyone:
        # An import may bring any text as an id, even the pseudonym of a response erased later:
        # that response keeps its id and the erased one takes a random suffix.
        wanted = [new_ids[pk] for pk, rid, _, _ in rows if rid != new_ids[pk]]
        taken = set(
            Response.objects.filter(survey=survey, respondent_id__in=wanted)
            .exclude(pk__in=list(new_ids))
            .values_list("respondent_id", flat=True)
        )
        for pk, name in new_ids.items():
            if name in taken:
                suffixed[pk] = new_ids[pk] = f"{name}-{secrets.token_hex(4)}"
    changed = [
        pk
        for pk, rid, browser, key in rows
        if rid != new_ids[pk] or browser is not None or key is not None
    ]
    if not changed:
        return set(), new_ids
    # Uniqueness is checked row by row, so a response holding an id that another is about to
    # take (an imported "erased-7" when response 7 is erased too) steps aside first.
    targets = {new_ids[pk] for pk in changed}
    aside = [pk for pk, rid, _, _ in rows if rid in targets and rid != new_ids[pk]]
    if aside:
        Response.objects.filter(pk__in=aside).update(
            respondent_id=Concat(Value(f"erasing-{secrets.token_hex(6)}-"), Cast("id", CharField()))
        )
    own = Concat(Value(ERASED_PREFIX), Cast("id", CharField()))
    # One UPDATE with the pseudonym computed by the database: 100,000 responses take a moment.
    responses.update(
        respondent_id=Case(
            *(When(pk=pk, then=Value(name)) for pk, name in suffixed.items()),
            When(
                Q(respondent_id=own) | Q(respondent_id__startswith=Concat(own, Value("-"))),
                then=F("respondent_id"),
            ),
            default=own,
        ),
        browser_key=None,
        idempotency_key=None,
    )
    return set(changed), new_ids


def _remove_free_text(survey: Survey, responses: QuerySet[Response]) -> tuple[set[int], set[str]]:
    """Remove short-text profile answers and blank "something else" current solutions, as each
    response's version asked them. Returns the responses changed and the solutions blanked."""
    asked = {}  # version id -> (keys of text questions, the current solution's options or None)
    for pk, content in survey.versions.values_list("pk", "content"):
        solution = content.get("current_solution")
        asked[pk] = (
            {q["key"] for q in content.get("questions", []) if q.get("kind") == "text"},
            set(solution["options"]) if solution else None,
        )
    changed, typed = [], set()
    rows = responses.values_list("pk", "version_id", "profile", "current_solution")
    for pk, version_id, profile, solution in rows.iterator(chunk_size=2000):
        text_keys, options = asked[version_id]
        kept = {k: v for k, v in (profile or {}).items() if k not in text_keys}
        typed_solution = solution and (options is None or solution not in options)
        if kept != profile or typed_solution:
            if typed_solution:
                typed.add(solution)
            changed.append(
                Response(pk=pk, profile=kept, current_solution="" if typed_solution else solution)
            )
    Response.objects.bulk_update(changed, ["profile", "current_solution"], batch_size=1000)
    return {r.pk for r in changed}, typed


def _erase_stored_answers(survey: Survey, typed: set[str], *, everyone: bool = False) -> set[int]:
    """Label the blanked current solutions "(erased)" in the stored analyses' answer tables
    (all answers outside the options when `everyone`); returns the runs changed. Counts stay."""

    def label(answer: str, options: set[str] | None) -> str:
        outside = everyone and (options is None or answer not in options)
        return ERASED_ANSWER if answer in typed or outside else answer

    changed: set[int] = set()
    options = _all_solution_options(survey)
    runs = AnalysisRun.objects.select_for_update().filter(survey=survey)
    for run in runs.only("pk", "profile_differences"):
        before = repr(run.profile_differences)
        for table in run.profile_differences:
            if table.get("question") == "current_solution":
                table["answers"] = [label(a, options) for a in table["answers"]]
        if repr(run.profile_differences) != before:
            run.save(update_fields=["profile_differences"])
            changed.add(run.pk)
    segments = SegmentResult.objects.select_for_update(of=("self",)).filter(run__survey=survey)
    for segment in segments.only("pk", "run_id", "profile_differences"):
        before = repr(segment.profile_differences)
        for table in segment.profile_differences:
            if table.get("question") == "current_solution":
                for answer in table.get("answers", []):
                    answer["answer"] = label(answer["answer"], options)
        if repr(segment.profile_differences) != before:
            segment.save(update_fields=["profile_differences"])
            changed.add(segment.run_id)
    return changed


def _all_solution_options(survey: Survey) -> set[str] | None:
    """Every option of "What do you use today?" in the survey's versions; None if no version
    offered options (then every answer was typed)."""
    options: set[str] = set()
    for content in survey.versions.values_list("content", flat=True):
        solution = content.get("current_solution")
        options.update(solution["options"] if solution else [])
    return options or None


def _rewrite_memberships(
    survey: Survey,
    new_ids: dict[int, str],
    *,
    shown: Collection[str] = frozenset(),
    everyone: bool = False,
) -> set[int]:
    """Put the new respondent ids into the stored analyses; returns the runs changed.

    An analysed response not in `new_ids` (deleted since) is pseudonymised too when `everyone`,
    or when it shows one of the erased identifiers in `shown`."""
    changed: set[int] = set()
    for membership in SegmentMembership.objects.select_for_update(of=("self",)).filter(
        run__survey=survey
    ):
        before = [str(v) for v in membership.respondent_ids]
        after = [
            new_ids.get(rid) or (pseudonym(rid) if everyone or old in shown else old)
            for rid, old in zip(membership.response_id_array().tolist(), before, strict=True)
        ]
        if after != before:
            membership.respondent_ids = after
            membership.save(update_fields=["respondent_ids"])
            changed.add(membership.run_id)
    return changed


def _scrub_admin_history(model: type[Invitation] | type[Response], pks: set[int]) -> None:
    """The admin's history keeps the str() of every object changed there, and an invitation's
    or a response's str() is the identifier itself."""
    if not pks:
        return
    entries = LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(model))
    # Object ids are text there; the history is short next to the survey, so match in Python.
    stale = [pk for pk, oid in entries.values_list("pk", "object_id") if valid_id(oid) in pks]
    LogEntry.objects.filter(pk__in=stale).update(object_repr="(erased)")


def _drop_exports(survey: Survey) -> int:
    """Delete the survey's stored export files that hold respondent ids, and fail any still
    being built (it may have read the ids before the erasure). Returns how many."""
    jobs = ExportJob.objects.filter(survey=survey, format__in=WITH_RESPONDENT_IDS)
    now = timezone.now()
    message = "Deleted: personal data of this survey were erased. Export again."
    deleted = jobs.filter(status=ExportStatus.SUCCEEDED).update(
        content=None, status=ExportStatus.FAILED, stage="Deleted", error=message
    )
    stopped = jobs.filter(status__in=[ExportStatus.QUEUED, ExportStatus.RUNNING]).update(
        status=ExportStatus.FAILED, stage="Stopped", error=message, finished_at=now
    )
    return deleted + stopped
