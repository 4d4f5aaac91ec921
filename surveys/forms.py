from __future__ import annotations

from typing import cast

from django import forms

from jtbd.models import Job
from surveys.erasure import title_confirms
from surveys.models import Question, QuestionKind, Survey


def _lines(text: str) -> list[str]:
    seen, out = set(), []
    for line in text.splitlines():
        item = line.strip()
        if item and item not in seen:
            seen.add(item)
            out.append(item[:200])
    return out


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
            "target_completes",
            "closes_at",
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
        return _lines(self.cleaned_data["solution_options"])

    def save(self, commit: bool = True) -> Survey:
        survey = super().save(commit=False)
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
                    "updated_at",
                ]
            )
        return survey


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
        kind = data.get("kind")
        options = _lines(data.get("options_text", ""))
        disqualifying = _lines(data.get("disqualifying_text", ""))
        if kind in (QuestionKind.SINGLE, QuestionKind.MULTIPLE) and len(options) < 2:
            self.add_error("options_text", "Give at least two options, one per line.")
        if kind not in (QuestionKind.SINGLE, QuestionKind.MULTIPLE):
            options = []
        unknown = [d for d in disqualifying if d not in options]
        if unknown:
            self.add_error("disqualifying_text", f"Not among the options: {', '.join(unknown)}.")
        if disqualifying and not data.get("screener"):
            self.add_error("screener", "Screen-out answers need the question to be a screener.")
        key, refused = self.instance.choose_key(
            survey=self.survey, given=data.get("key"), text=data.get("text") or ""
        )
        if refused:
            self.add_error("key", refused)
        lo, hi = data.get("minimum"), data.get("maximum")
        if lo is not None and hi is not None and lo > hi:
            self.add_error("maximum", "The maximum must not be below the minimum.")
        data["key"], data["options"], data["disqualifying"] = key, options, disqualifying
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
