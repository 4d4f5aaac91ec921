from __future__ import annotations

from typing import cast

from django import forms

from jtbd.models import Job, JobKind, JobStep, OutcomeStatus, Stage, validate_outcome_code
from jtbd.statements import HARD_MAX_LENGTH


class JobForm(forms.Form):
    statement = forms.CharField(
        max_length=300,
        help_text="Verb + object + optional clarifier, free of any solution, e.g. “Get a newly "
        "purchased software tool adopted across my team”.",
    )
    executor = forms.CharField(max_length=120, help_text="Who does the job, e.g. “Team lead”.")
    kind = forms.ChoiceField(choices=JobKind.choices, initial=JobKind.CORE_FUNCTIONAL)
    parent = forms.ModelChoiceField(queryset=Job.objects.none(), required=False)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)

    def __init__(self, *args, workspace, exclude_pk: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        parents = Job.objects.in_workspace(workspace)
        if exclude_pk:
            parents = parents.exclude(pk=exclude_pk)
        cast(forms.ModelChoiceField, self.fields["parent"]).queryset = parents


class StepForm(forms.Form):
    stage = forms.ChoiceField(choices=Stage.choices)
    title = forms.CharField(max_length=120)
    description = forms.CharField(max_length=500, required=False)


class OutcomeForm(forms.Form):
    step = forms.ModelChoiceField(queryset=JobStep.objects.none())
    statement = forms.CharField(
        max_length=HARD_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "data-statement-input": ""}),
        help_text="Direction + metric + object of control + clarifier, e.g. “Minimize the time it "
        "takes to find who on the team has not started using the tool”.",
    )
    code = forms.CharField(
        max_length=32,
        required=False,
        validators=[validate_outcome_code],
        help_text="Leave blank for the next free code (O001, O002, …). Stable for life.",
    )
    status = forms.ChoiceField(choices=OutcomeStatus.choices, initial=OutcomeStatus.DRAFT)

    def __init__(self, *args, job: Job, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["step"]).queryset = job.steps.all()


class ImportJsonForm(forms.Form):
    file = forms.FileField(help_text="A catalogue exported as JSON from Opportunity Engine.")


class ImportCsvForm(forms.Form):
    file = forms.FileField(
        help_text="Columns: stage, step_title, code, statement (status optional)."
    )
