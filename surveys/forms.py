from __future__ import annotations

import re
from typing import cast

from django import forms

from jtbd.models import Job
from surveys import design
from surveys.erasure import title_confirms
from surveys.models import Question, Survey, unique_lines


class SurveyCreateForm(forms.Form):
    job = forms.ModelChoiceField(queryset=Job.objects.none())
    title = forms.CharField(max_length=200)

    def __init__(self, *args, workspace, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["job"]).queryset = Job.objects.in_workspace(
            workspace
        )


class SurveySettingsForm(forms.ModelForm):
    importance_scale = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Five labels, one per line, from 1 (lowest) to 5.",
    )
    satisfaction_scale = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Five labels, one per line, from 1 (lowest) to 5.",
    )
    solution_options = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Answer options for “What do you use today?”, one per line "
        "(“Something else” is added).",
    )

    core_codes = forms.CharField(
        label="Core outcomes everyone rates",
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="With a planned subset: the codes of outcomes every respondent rates, "
        "separated by spaces, commas or new lines.",
    )

    # The planned-subset settings together, after the fieldwork ones.
    field_order = [
        "title",
        "welcome_text",
        "consent_text",
        "thank_you_text",
        "screened_out_text",
        "ask_current_solution",
        "solution_options",
        "ask_nps",
        "nps_subject",
        "ask_ces",
        "attention_check",
        "allow_not_applicable",
        "target_completes",
        "closes_at",
        "subset_size",
        "subset_minutes",
        "core_codes",
    ]

    class Meta:
        model = Survey
        fields = [
            "title",
            "welcome_text",
            "consent_text",
            "thank_you_text",
            "screened_out_text",
            "ask_current_solution",
            "ask_nps",
            "nps_subject",
            "ask_ces",
            "attention_check",
            "allow_not_applicable",
            "target_completes",
            "closes_at",
            "subset_size",
            "subset_minutes",
        ]
        widgets = {
            "welcome_text": forms.Textarea(attrs={"rows": 3}),
            "consent_text": forms.Textarea(attrs={"rows": 3}),
            "thank_you_text": forms.Textarea(attrs={"rows": 2}),
            "screened_out_text": forms.Textarea(attrs={"rows": 2}),
            "closes_at": forms.DateTimeInput(attrs={"type": "datetime-local"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        survey = self.instance
        self.fields["importance_scale"].initial = "\n".join(survey.importance_labels)
        self.fields["satisfaction_scale"].initial = "\n".join(survey.satisfaction_labels)
        self.fields["solution_options"].initial = "\n".join(survey.current_solution_options)
        self.fields["core_codes"].initial = " ".join(survey.core_outcomes)

    def _scale(self, name: str) -> list[str]:
        labels = [line.strip() for line in self.cleaned_data[name].splitlines() if line.strip()]
        if len(labels) != 5:
            raise forms.ValidationError(
                f"Give exactly five labels (one per line), not {len(labels)}."
            )
        return labels

    def clean_importance_scale(self) -> list[str]:
        return self._scale("importance_scale")

    def clean_satisfaction_scale(self) -> list[str]:
        return self._scale("satisfaction_scale")

    def clean_solution_options(self) -> list[str]:
        return unique_lines(self.cleaned_data["solution_options"].splitlines())

    def clean_core_codes(self) -> list[str]:
        given = [c for c in re.split(r"[\s,;]+", self.cleaned_data["core_codes"]) if c]
        return list(dict.fromkeys(given))

    def clean(self) -> dict:
        data = super().clean() or {}
        content = self.instance.snapshot()
        found = design.problems(
            codes=list(content["outcome_codes"]),
            content=content,
            size=data.get("subset_size"),
            minutes=data.get("subset_minutes"),
            core=data.get("core_codes") or [],
        )
        for name, message in found.items():
            self.add_error("core_codes" if name == "core_outcomes" else name, message)
        return data

    def save(self, commit: bool = True) -> Survey:
        survey = super().save(commit=False)
        survey.core_outcomes = self.cleaned_data["core_codes"]
        survey.importance_labels = self.cleaned_data["importance_scale"]
        survey.satisfaction_labels = self.cleaned_data["satisfaction_scale"]
        survey.current_solution_options = self.cleaned_data["solution_options"]
        if commit:
            survey.save(
                update_fields=[
                    *self.Meta.fields,
                    "importance_labels",
                    "satisfaction_labels",
                    "current_solution_options",
                    "core_outcomes",
                    "updated_at",
                ]
            )
        return survey


# The page lists a question's options and screen-out answers in textareas of their own.
TEXTAREAS = {"options": "options_text", "disqualifying": "disqualifying_text"}


class QuestionForm(forms.ModelForm):
    options_text = forms.CharField(
        label="Options",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="For single and multiple choice: one option per line.",
    )
    disqualifying_text = forms.CharField(
        label="Screen-out answers",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="For screener questions: the options (one per line) that end the survey.",
    )

    class Meta:
        model = Question
        fields = [
            "text",
            "key",
            "kind",
            "required",
            "complexity_factor",
            "screener",
            "minimum",
            "maximum",
        ]

    def __init__(self, *args, survey: Survey, **kwargs):
        super().__init__(*args, **kwargs)
        self.survey = survey
        self.fields["key"].required = False
        self.fields["key"].help_text = (
            "Short stable name for exports; made from the text if empty, and kept when the text "
            "changes. Fixed once a version of the survey is published."
        )
        self.fields["options_text"].initial = "\n".join(self.instance.options or [])
        self.fields["disqualifying_text"].initial = "\n".join(self.instance.disqualifying or [])

    def clean(self) -> dict:
        super().clean()
        data = self.cleaned_data
        definition = self.instance.define(
            survey=self.survey,
            kind=data.get("kind"),
            text=data.get("text") or "",
            given_key=data.get("key"),
            options=data.get("options_text", "").splitlines(),
            disqualifying=data.get("disqualifying_text", "").splitlines(),
            screener=bool(data.get("screener")),
            minimum=data.get("minimum"),
            maximum=data.get("maximum"),
        )
        for field, message in definition.errors.items():
            # The page lists options and screen-out answers in textareas of their own.
            field = {"options": "options_text", "disqualifying": "disqualifying_text"}.get(
                field, field
            )
            self.add_error(field, message)
        data["key"] = definition.key
        data["options"], data["disqualifying"] = definition.options, definition.disqualifying
        return data

    def save(self, commit: bool = True) -> Question:
        question = super().save(commit=False)
        question.survey = self.survey
        question.key = self.cleaned_data["key"]
        question.options = self.cleaned_data["options"]
        question.disqualifying = self.cleaned_data["disqualifying"]
        if question.pk is None:
            last = self.survey.questions.order_by("-order").values_list("order", flat=True).first()
            question.order = (last or 0) + 1
            if commit:
                question.save()
        elif commit:
            question.save(update_fields=[*self.Meta.fields, "key", "options", "disqualifying"])
        return question


class InvitationsForm(forms.Form):
    people = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="One external id or e-mail address per line.",
    )
    file = forms.FileField(
        required=False, help_text="Or a text/CSV file with one per line (first column)."
    )


class ResponseImportForm(forms.Form):
    file = forms.FileField(help_text="Wide CSV: one row per respondent.")
    id_column = forms.CharField(initial="respondent_id", max_length=100)
    importance_pattern = forms.CharField(initial="imp_{code}", max_length=100)
    satisfaction_pattern = forms.CharField(initial="sat_{code}", max_length=100)
    profile_columns = forms.CharField(
        required=False,
        max_length=2000,
        help_text="Comma-separated column names kept as profile answers.",
    )


class EraseRespondentForm(forms.Form):
    respondent = forms.CharField(
        label="E-mail, external id, link token or respondent id",
        max_length=254,
        help_text="Blanks the person's invitation, replaces their respondent id by a "
        "pseudonym in responses, results and exports, and removes what they typed (short-text "
        "answers, “something else”). Their ratings and chosen answers stay in the analysis.",
    )


class EraseSurveyForm(forms.Form):
    """Erasing everyone needs the survey's title typed out, so it is never one stray click."""

    confirm = forms.CharField(
        label="Type the survey's title to confirm",
        max_length=200,
        help_text="Blanks every invitation e-mail address and external id, replaces every "
        "respondent id by a pseudonym and removes every typed answer (short text, “something "
        "else”). Ratings, chosen answers and scores stay. This cannot be undone.",
    )

    def __init__(self, *args, survey: Survey, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.survey = survey

    def clean_confirm(self) -> str:
        value = self.cleaned_data["confirm"]
        if not title_confirms(self.survey, value):
            raise forms.ValidationError(
                f"That is not the survey's title; type “{self.survey.title}” exactly."
            )
        return value
