from __future__ import annotations

from django import forms

from analysis.parameters import MAX_K


class StartAnalysisForm(forms.Form):
    segments = forms.ChoiceField(
        label="Segments",
        choices=[
            ("auto", "Find them automatically"),
            ("off", "No segmentation"),
            ("k", "A set number"),
        ],
        initial="auto",
    )
    k = forms.IntegerField(
        label="Number of segments",
        min_value=2,
        max_value=MAX_K,
        required=False,
        help_text=f"Only with “A set number”: 2 to {MAX_K}.",
    )
    seed = forms.IntegerField(
        min_value=0,
        max_value=2**32 - 1,
        initial=2026,
        help_text="The same seed and data give the same intervals and segments.",
    )
    include_flagged = forms.BooleanField(
        required=False,
        label="Include responses flagged for quality",
    )

    def clean(self) -> dict:
        super().clean()
        data = self.cleaned_data
        if data.get("segments") == "k" and not data.get("k"):
            self.add_error("k", "Give the number of segments.")
        return data

    def parameters(self) -> dict:
        data = self.cleaned_data
        segments = data["k"] if data["segments"] == "k" else data["segments"]
        return {
            "segments": segments,
            "seed": data["seed"],
            "include_flagged": data["include_flagged"],
        }
