"""python manage.py erase_personal_data SURVEY (--respondent X | --all | --check X) --by USERNAME

Erases one respondent's identifiers (an invitation e-mail address or external id, an invitation
token or a respondent id) and typed answers, or those of everyone in the survey, as the survey's
invitations page and API do (surveys/erasure.py), and records the erasure under the given user.
``--check X`` changes nothing: it says which of the survey's erasures removed X (the audit keeps
only keyed hashes, so this is the way to answer "was X erased?").
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from surveys import erasure
from surveys.models import ErasureRecord, ErasureScope, Survey


class Command(BaseCommand):
    help = (
        "Erase personal data (invitation e-mails and ids, respondent ids, typed answers) of a "
        "survey."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("survey", type=int, help="The survey's id.")
        what = parser.add_mutually_exclusive_group(required=True)
        what.add_argument(
            "--respondent",
            metavar="X",
            help="Erase one person: an e-mail address, external id, link token or respondent id.",
        )
        what.add_argument(
            "--all",
            action="store_true",
            help="Erase every invitation e-mail address and id and every respondent id.",
        )
        what.add_argument(
            "--check", metavar="X", help="Change nothing; list the erasures that removed X."
        )
        parser.add_argument(
            "--by", metavar="USERNAME", help="Who asked for the erasure (recorded in the audit)."
        )

    def handle(self, *args, **options) -> None:
        survey = Survey.objects.filter(pk=options["survey"]).first()
        if survey is None:
            raise CommandError(f"No survey with id {options['survey']}.")
        if options["check"] is not None:
            self._check(survey, options["check"])
            return
        if not options["by"]:
            raise CommandError("Give --by USERNAME: every erasure records who asked for it.")
        by = get_user_model().objects.filter(username=options["by"]).first()
        if by is None:
            raise CommandError(f"No user {options['by']!r}.")
        try:
            if options["all"]:
                record = erasure.erase_survey_personal_data(survey=survey, by=by)
            else:
                record = erasure.erase_respondent(
                    survey=survey, respondent=options["respondent"], by=by
                )
        except erasure.UnknownRespondent as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"Erasure {record.pk} of survey {survey.pk} ({record.get_scope_display().lower()}): "
            f"{record.invitations} invitation(s), {record.responses} response(s), "
            f"{record.analysis_runs} stored analysis(es) and {record.exports} export file(s) "
            "changed."
        )

    def _check(self, survey: Survey, identifier: str) -> None:
        records = erasure.find_erasures(survey=survey, identifier=identifier)
        if not records:
            self.stdout.write(f"No erasure of survey {survey.pk} removed that identifier.")
            return
        for record in records:
            self.stdout.write(_describe(record))


def _describe(record: ErasureRecord) -> str:
    what = (
        "a survey-wide erasure (it covers everyone who was in the survey)"
        if record.scope == ErasureScope.SURVEY
        else "an erasure of this identifier"
    )
    return (
        f"Erasure {record.pk}, {record.created_at:%Y-%m-%d %H:%M} UTC by "
        f"{record.by_username or 'unknown'}: {what}."
    )
