from __future__ import annotations

from typing import cast

from django import forms

from jtbd.models import Job, JobKind, JobStep, OutcomeStatus, Stage, validate_outcome_code
from jtbd.statements import HARD_MAX_LENGTH


class CountedCharField(forms.CharField):
    """A text field whose limit the page shows as a live character counter
    (static/js/char-count.js) instead of the browser's `maxlength`, which silently cuts pasted
    text. The server refuses an over-long value, naming both lengths, and the field keeps it."""

    default_error_messages = {
        "max_length": "This is %(show_value)d characters long; the limit is %(limit_value)d. "
        "Shorten it; nothing was cut.",
    }

    def widget_attrs(self, widget: forms.Widget) -> dict:
        attrs = super().widget_attrs(widget)
        attrs.pop("maxlength", None)
        if self.max_length is not None:
            attrs["data-max-chars"] = str(self.max_length)
        return attrs


class JobForm(forms.Form):
    statement = CountedCharField(
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
    statement = CountedCharField(
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
    confirm_flagged = forms.BooleanField(
        required=False,
        label="Approve despite the statement check's findings",
        help_text="Needed only to approve a statement the check flags.",
    )

    def __init__(self, *args, job: Job, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["step"]).queryset = job.steps.all()


class StatementCheckForm(forms.Form):
    statement = CountedCharField(
        max_length=HARD_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "data-statement-input": ""}),
    )


class ImportJsonForm(forms.Form):
    file = forms.FileField(help_text="A catalogue exported as JSON from Opportunity Engine.")


class ImportCsvForm(forms.Form):
    file = forms.FileField(
        help_text="Columns: stage, step_title, code, statement (status optional)."
    )
