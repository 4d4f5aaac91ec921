"""Catalogue import and export pages: files in and out, refused whole with every problem named."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize

from jtbd import catalogue
from jtbd.forms import ImportCsvForm, ImportJsonForm
from jtbd.views import job_for
from workspaces.access import current_membership


@login_required
def job_export(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    job = job_for(request, pk)
    if fmt == "json":
        body, content_type = catalogue.export_json_text(job), "application/json; charset=utf-8"
    else:
        body, content_type = catalogue.export_csv_text(job), "text/csv; charset=utf-8"
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="catalogue-job-{job.pk}.{fmt}"'
    return response


@login_required
def job_import(request: HttpRequest) -> HttpResponse:
    membership = current_membership(request)
    if membership is None or not membership.can_write:
        raise PermissionDenied("Only owners and researchers can import a catalogue.")
    form = ImportJsonForm(request.POST or None, request.FILES or None)
    problems = None
    if request.method == "POST" and form.is_valid():
        try:
            document = catalogue.parse_json_bytes(form.cleaned_data["file"].read())
            result = catalogue.import_json(membership.workspace, document)
        except catalogue.CatalogueImportError as exc:
            problems = exc.problems
        else:
            messages.success(
                request,
                f"Imported {result.outcomes} outcome{pluralize(result.outcomes)} in "
                f"{result.steps} step{pluralize(result.steps)}.",
            )
            _notes(request, result)
            return redirect(result.job)
    return _import_page(request, form, problems, job=None, kind="JSON")


@login_required
def job_import_csv(request: HttpRequest, pk: int) -> HttpResponse:
    job = job_for(request, pk, write=True)
    form = ImportCsvForm(request.POST or None, request.FILES or None)
    problems = None
    if request.method == "POST" and form.is_valid():
        try:
            result = catalogue.import_csv(job, form.cleaned_data["file"].read())
        except catalogue.CatalogueImportError as exc:
            problems = exc.problems
        else:
            n = result.outcomes
            messages.success(request, f"Imported {n} outcome{pluralize(n)}.")
            _notes(request, result)
            return redirect(job)
    return _import_page(request, form, problems, job=job, kind="CSV")


def _notes(request: HttpRequest, result: catalogue.ImportResult) -> None:
    """What the import wants the researcher to know beside its success."""
    if result.ignored_columns:
        messages.info(request, f"Ignored columns: {', '.join(result.ignored_columns)}")
    for note in result.notes:
        messages.warning(request, note)


def _import_page(request: HttpRequest, form, problems, *, job, kind: str) -> HttpResponse:
    """The import form, with every problem of a refused file (400) or none (200)."""
    context = {"form": form, "problems": problems, "job": job, "kind": kind}
    return render(request, "jtbd/import.html", context, status=400 if problems else 200)
