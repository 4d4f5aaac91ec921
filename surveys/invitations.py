"""Personal invitations: one unguessable link per person."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from surveys.models import Invitation, Survey

MAX_PER_REQUEST = 100_000
# A first line that is one of these is a column header, not a person.
HEADER_WORDS = {"email", "e-mail", "external_id", "id", "respondent_id"}


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
        if "@" in value:
            try:
                validate_email(value)
            except ValidationError:
                problems.append(f"Line {number}: {value!r} is not a valid e-mail address.")
                continue
            person = ("", value.lower())
        else:
            person = (value, "")
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
