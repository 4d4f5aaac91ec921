"""Researcher pages for surveys: authoring, distribution, fieldwork, responses and imports."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views.decorators.http import require_POST

from config.params import valid_id
from jtbd.models import DesiredOutcome
from surveys import design, erasure, services
from surveys.access import survey_for
from surveys.fieldwork import fieldwork_stats
from surveys.forms import (
    EraseRespondentForm,
    EraseSurveyForm,
    InvitationsForm,
    QuestionForm,
    ResponseImportForm,
    SurveyCreateForm,
    SurveySettingsForm,
)
from surveys.importing import import_responses
from surveys.invitations import (
    LINKS_DENIED,
    add_invitations,
    links_csv,
    may_see_links,
    parse_people,
)
from surveys.models import Flag, Question, Response, ResponseStatus, Survey
from surveys.wide_csv import ImportOptions, ResponseImportError
from workspaces.access import current_membership


@login_required
def survey_list(request: HttpRequest) -> HttpResponse:
    membership = current_membership(request)
    if membership is None:
        return render(request, "jtbd/no_workspace.html")
    surveys = (
        Survey.objects.filter(workspace=membership.workspace)
        .select_related("job")
        .annotate(n_responses=Count("responses"))
    )
    return render(request, "surveys/survey_list.html", {"surveys": surveys})


@login_required
def survey_create(request: HttpRequest) -> HttpResponse:
    membership = current_membership(request)
    if membership is None or not membership.can_write:
        raise PermissionDenied("Only owners and researchers can create surveys.")
    initial = {"job": request.GET.get("job")}
    form = SurveyCreateForm(request.POST or None, workspace=membership.workspace, initial=initial)
    if request.method == "POST" and form.is_valid():
        survey = services.create_survey(
            workspace=membership.workspace,
            job=form.cleaned_data["job"],
            title=form.cleaned_data["title"],
        )
        n = survey.outcomes.count()
        messages.success(request, f"Survey created over {n} approved outcome{pluralize(n)}.")
        return redirect(survey)
    return render(request, "surveys/survey_create.html", {"form": form})


@login_required
def survey_detail(request: HttpRequest, pk: int) -> HttpResponse:
    survey = survey_for(request, pk)
    outcomes = list(survey.ordered_outcomes())
    questions = list(survey.questions.all())
    snapshot = survey.snapshot()
    changed = bool(
        survey.current_version
        and survey.current_version.content_hash != survey.current_version.hash_content(snapshot)
    )
    shown = design.shown_counts(survey.current_version) if survey.current_version else {}
    context = {
        "survey": survey,
        "outcomes": outcomes,
        "questions": questions,
        "versions": survey.versions.order_by("-number"),
        "counts": survey.responses.counts(),
        "invited": survey.invitations.count(),
        "changed_since_publish": changed,
        "design": snapshot.get("design"),
        "shown_range": (min(shown.values()), max(shown.values())) if shown else None,
        "public_url": request.build_absolute_uri(survey.public_path()),
        "can_write": survey.workspace.can_write(request.user),
    }
    return render(request, "surveys/survey_detail.html", context)


@login_required
def survey_settings(request: HttpRequest, pk: int) -> HttpResponse:
    survey = survey_for(request, pk, write=True)
    form = SurveySettingsForm(request.POST or None, instance=survey)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Settings saved. Publish to show them to new respondents.")
        return redirect(survey)
    return render(request, "surveys/survey_settings.html", {"survey": survey, "form": form})


@login_required
def survey_outcomes(request: HttpRequest, pk: int) -> HttpResponse:
    survey = survey_for(request, pk, write=True)
    outcomes = DesiredOutcome.objects.filter(job=survey.job).select_related("step")
    outcomes = outcomes.order_by("step__order", "order", "id")
    chosen = set(survey.outcomes.values_list("id", flat=True))
    if request.method == "POST":
        ids = {valid_id(v) for v in request.POST.getlist("outcome")} - {None}
        picked = [o for o in outcomes if o.id in ids]
        if not picked:
            messages.error(request, "Choose at least one outcome.")
        else:
            services.set_outcomes(survey=survey, outcomes=picked)
            messages.success(request, f"{len(picked)} outcome{pluralize(len(picked))} chosen.")
            return redirect(survey)
    return render(
        request,
        "surveys/survey_outcomes.html",
        {"survey": survey, "outcomes": outcomes, "chosen": chosen},
    )


@login_required
def question_edit(request: HttpRequest, pk: int, question_pk: int | None = None) -> HttpResponse:
    survey = survey_for(request, pk, write=True)
    question = get_object_or_404(Question, pk=question_pk, survey=survey) if question_pk else None
    form = QuestionForm(request.POST or None, instance=question, survey=survey)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Question saved.")
        return redirect(survey)
    return render(
        request,
        "surveys/question_form.html",
        {"survey": survey, "form": form, "question": question},
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def question_delete(request: HttpRequest, pk: int, question_pk: int) -> HttpResponse:
    survey = survey_for(request, pk, write=True)
    get_object_or_404(Question, pk=question_pk, survey=survey).delete()
    messages.success(request, "Question deleted.")
    return redirect(survey)


@login_required
@require_POST
def survey_publish(request: HttpRequest, pk: int) -> HttpResponse:
    survey = survey_for(request, pk, write=True)
    try:
        version = services.publish_survey(survey=survey, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Published version {version.number}; the survey is open.")
    return redirect(survey)


@login_required
@require_POST
def survey_close(request: HttpRequest, pk: int) -> HttpResponse:
    survey = survey_for(request, pk, write=True)
    if request.POST.get("action") == "reopen":
        if survey.current_version is None:
            messages.error(request, "Publish the survey first.")
        else:
            survey.reopen()
            messages.success(request, "The survey is open again.")
    else:
        survey.close()
        messages.success(request, "The survey is closed: it accepts no more answers.")
    return redirect(survey)


def _survey_with_links(request: HttpRequest, pk: int) -> Survey:
    """The survey, for a page of its personal links: 404 outside the user's workspaces, 403
    for a viewer."""
    survey = survey_for(request, pk)
    if not may_see_links(survey=survey, user=request.user):
        raise PermissionDenied(LINKS_DENIED)
    return survey


@login_required
def invitations(request: HttpRequest, pk: int) -> HttpResponse:
    survey = _survey_with_links(request, pk)
    form = InvitationsForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data.get("file")
        text = form.cleaned_data.get("people") or ""
        if upload:
            text += "\n" + upload.read().decode("utf-8-sig", errors="replace")
        people, problems = parse_people(text)
        if problems:
            for problem in problems[:20]:
                form.add_error("people", problem)
        elif not people:
            form.add_error("people", "Give at least one id or e-mail address.")
        else:
            created, skipped = add_invitations(survey=survey, people=people)
            messages.success(
                request, f"{created} invitation(s) created; {skipped} already invited."
            )
            return redirect("surveys:invitations", pk=survey.pk)
    return _invitations_page(request, survey, form=form)


def _invitations_page(
    request: HttpRequest,
    survey: Survey,
    *,
    form: InvitationsForm | None = None,
    erase_one: EraseRespondentForm | None = None,
    erase_all: EraseSurveyForm | None = None,
    status: int = 200,
) -> HttpResponse:
    rows = list(survey.invitations.select_related("response").order_by("-id")[:500])
    for inv in rows:
        inv.erased = erasure.is_erased(inv)
    context = {
        "survey": survey,
        "form": form or InvitationsForm(),
        "rows": rows,
        "total": survey.invitations.count(),
        "can_erase": erasure.may_erase(survey=survey, user=request.user),
        "erase_one": erase_one or EraseRespondentForm(prefix="one"),
        "erase_all": erase_all or EraseSurveyForm(survey=survey, prefix="all"),
        "erasures": survey.erasures.all()[:100],
    }
    return render(request, "surveys/invitations.html", context, status=status)


@login_required
@require_POST
def invitations_erase(request: HttpRequest, pk: int) -> HttpResponse:
    survey = survey_for(request, pk)
    if not erasure.may_erase(survey=survey, user=request.user):
        raise PermissionDenied("Only the workspace's owners can erase personal data.")
    if request.POST.get("scope") == "survey":
        erase_all = EraseSurveyForm(request.POST, survey=survey, prefix="all")
        if not erase_all.is_valid():
            return _invitations_page(request, survey, erase_all=erase_all, status=400)
        record = erasure.erase_survey_personal_data(survey=survey, by=request.user)
    else:
        erase_one = EraseRespondentForm(request.POST, prefix="one")
        if erase_one.is_valid():
            try:
                record = erasure.erase_respondent(
                    survey=survey, respondent=erase_one.cleaned_data["respondent"], by=request.user
                )
            except erasure.UnknownRespondent as exc:
                erase_one.add_error("respondent", str(exc))
        if erase_one.errors:
            return _invitations_page(request, survey, erase_one=erase_one, status=400)
    # The message names no identifier: messages travel in the session or a cookie.
    messages.success(
        request,
        f"Erased: {record.invitations} invitation(s) and {record.responses} response(s) "
        f"changed, {record.analysis_runs} stored analysis(es) updated.",
    )
    return redirect("surveys:invitations", pk=survey.pk)


@login_required
def invitations_csv(request: HttpRequest, pk: int) -> HttpResponse:
    survey = _survey_with_links(request, pk)
    http = HttpResponse(
        links_csv(survey, request.build_absolute_uri), content_type="text/csv; charset=utf-8"
    )
    http["Content-Disposition"] = f'attachment; filename="survey-{survey.pk}-links.csv"'
    return http


@login_required
def fieldwork(request: HttpRequest, pk: int) -> HttpResponse:
    survey = survey_for(request, pk)
    stats = fieldwork_stats(survey)
    if request.GET.get("format") == "json":
        return JsonResponse(stats)
    return render(request, "surveys/fieldwork.html", {"survey": survey, "stats": stats})


ROWS_SHOWN = 300


@login_required
def responses(request: HttpRequest, pk: int) -> HttpResponse:
    survey = survey_for(request, pk)
    if request.method == "POST":
        if not survey.workspace.can_write(request.user):
            raise PermissionDenied("Viewers cannot change which responses are analysed.")
        response = get_object_or_404(
            Response, pk=valid_id(request.POST.get("response")) or 0, survey=survey
        )
        decision = {"include": True, "exclude": False, "auto": None}.get(
            request.POST.get("decision", "")
        )
        services.set_inclusion(response=response, include=decision)
        messages.success(request, f"Response {response.respondent_id} updated.")
        return redirect(
            reverse("surveys:responses", args=[survey.pk]) + "?" + request.GET.urlencode()
        )
    # Unfinished responses are not listed (nothing to decide about yet); the heading counts them.
    rows = survey.responses.exclude(status=ResponseStatus.IN_PROGRESS).order_by("-id")
    flagged_only = request.GET.get("flagged") == "1"
    if flagged_only:
        rows = rows.exclude(flags=[])
    labels = dict(Flag.choices)
    page = list(rows[:ROWS_SHOWN])
    for r in page:
        r.flag_labels = [labels.get(f, f) for f in r.flags]
    return render(
        request,
        "surveys/responses.html",
        {
            "survey": survey,
            "rows": page,
            "listed": rows.count(),
            "counts": survey.responses.counts(),
            "flagged_only": flagged_only,
            "can_write": survey.workspace.can_write(request.user),
        },
    )


@login_required
def response_import(request: HttpRequest, pk: int) -> HttpResponse:
    survey = survey_for(request, pk, write=True)
    form = ResponseImportForm(request.POST or None, request.FILES or None)
    problems, total = None, 0
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        options = ImportOptions(
            id_column=data["id_column"],
            importance_pattern=data["importance_pattern"],
            satisfaction_pattern=data["satisfaction_pattern"],
            profile_columns=tuple(
                c.strip() for c in data["profile_columns"].split(",") if c.strip()
            ),
        )
        try:
            result = import_responses(survey=survey, data=data["file"].read(), options=options)
        except ResponseImportError as exc:
            problems, total = exc.problems[:50], len(exc.problems)
        else:
            messages.success(request, f"Imported {result.created} responses.")
            if result.ignored_columns:
                messages.info(request, f"Ignored columns: {', '.join(result.ignored_columns)}")
            return redirect(survey)
    return render(
        request,
        "surveys/import.html",
        {
            "survey": survey,
            "form": form,
            "problems": problems,
            "total": total,
            "more": total - len(problems or []),
        },
        status=400 if problems else 200,
    )
