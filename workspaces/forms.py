from __future__ import annotations

from django import forms


class SolutionWordsForm(forms.Form):
    solution_words = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8}),
        required=False,
        help_text="Product names, features and devices to flag in outcome statements, "
        "one per line.",
    )
