"""Personal invitations: one unguessable link per person."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from jtbd.catalogue import neutralise_formula
from surveys import erasure
from surveys.models import Invitation, Survey
from surveys.models.respondents import GENERATED_ID_PREFIXES

MAX_PER_REQUEST = 100_000
# With a personal link anyone can answer as the invitee, so only those who run the fieldwork
# see them: viewers (read-only strategists) get a 403 on every page and API route that does.
LINKS_DENIED = (
    "Personal links are for owners and researchers: with one, anyone can answer as the invitee."
)
# A first line that is one of these is a column header, not a person.
HEADER_WORDS = {"email", "e-mail", "external_id", "id", "respondent_id"}


def may_see_links(*, survey: Survey, user: object) -> bool:
    return survey.workspace.can_write(user)


def parse_people(text: str) -> tuple[list[tuple[str, str]], list[str]]:
    """Lines of external ids or e-mail addresses (first CSV column) → (external_id, email)."""
    people, problems, seen = [], [], set()
    for number, line in enumerate(text.splitlines(), start=1):
        value = line.split(",")[0].strip().strip('"')
        if not value or (number == 1 and value.lower() in HEADER_WORDS):
            continue
        if len(value) > 200:
            problems.append(f"Line {number}: longer than 200 characters.")
            continue
        if "\x00" in value:  # from an uploaded file: PostgreSQL stores no NUL in text
            problems.append(f"Line {number}: contains a NUL character (U+0000).")
            continue
        if "@" in value:
            try:
                validate_email(value)
            except ValidationError:
                problems.append(f"Line {number}: {value!r} is not a valid e-mail address.")
                continue
            person = ("", value.lower())
        else:
            person = (value, "")
        if value.lower().startswith(GENERATED_ID_PREFIXES):
            reserved = ", ".join(f"“{p}”" for p in GENERATED_ID_PREFIXES)
            problems.append(
                f"Line {number}: {value!r} begins with {value[:4]!r}. Ids beginning {reserved} "
                "are given by the survey itself (anonymous API submissions, the public link, "
                "invitations without an id); choose another id."
            )
            continue
        if person not in seen:
            seen.add(person)
            people.append(person)
    if len(people) > MAX_PER_REQUEST:
        problems.append(f"At most {MAX_PER_REQUEST} people at a time.")
    return people, problems


@transaction.atomic
def add_invitations(*, survey: Survey, people: list[tuple[str, str]]) -> tuple[int, int]:
    """Create the missing invitations; people already invited keep their link."""
    ids = set(survey.invitations.exclude(external_id="").values_list("external_id", flat=True))
    emails = set(survey.invitations.exclude(email="").values_list("email", flat=True))
    new = [
        Invitation(survey=survey, external_id=ext, email=email)
        for ext, email in people
        if (ext and ext not in ids) or (email and email not in emails)
    ]
    Invitation.objects.bulk_create(new, batch_size=2000)
    return len(new), len(people) - len(new)


def links_csv(survey: Survey, absolute_url: Callable[[str], str]) -> str:
    """The survey's invitations with their links and status, for a mail-merge (page and API).

    An erased invitation's link was replaced by one nobody was sent: it gets none. Cells are
    neutralised against formula injection, as the ids come from researchers' uploads."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["external_id", "email", "link", "status"])
    for inv in survey.invitations.with_status().order_by("id"):
        response = getattr(inv, "response", None)
        link = "" if erasure.is_erased(inv) else absolute_url(inv.path())
        status = response.status if response else "not started"
        writer.writerow(neutralise_formula(v) for v in (inv.external_id, inv.email, link, status))
    return buffer.getvalue()
