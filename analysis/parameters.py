"""Parameters of an analysis run: the defaults, and the checks a request's parameters pass.

A run stores its parameters as checked here, so the run can be repeated exactly (same seed, same
segmentation mode) and re-analysis after new responses carries a researcher's choice over.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError

DEFAULT_PARAMETERS: dict[str, Any] = {
    "segments": "auto",  # "auto", "off" or a number of segments k ≥ 2
    "seed": 20240501,
    "include_flagged": False,  # True: use flagged responses too, unless excluded by hand
    "k_range": [2, 8],
    "n_resamples": 1000,
    "small_group": 100,
}
MAX_K = 20


def parse_segments(value: object) -> str | int:
    """'auto', 'off' or k ≥ 2 (int or digits); anything else raises ValidationError."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("auto", "off"):
            return text
        if text.isdigit():
            value = int(text)
    if isinstance(value, int) and not isinstance(value, bool) and 2 <= value <= MAX_K:
        return value
    raise ValidationError(
        {"segments": f"{value!r} is not 'auto', 'off' or a number of segments from 2 to {MAX_K}."}
    )


def clean_parameters(raw: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The defaults overlaid with `raw`, checked; raises ValidationError naming each problem."""
    raw = dict(raw or {})
    unknown = sorted(set(raw) - set(DEFAULT_PARAMETERS))
    if unknown:
        raise ValidationError({k: "Unknown analysis parameter." for k in unknown})
    params = {**DEFAULT_PARAMETERS, **raw}
    errors: dict[str, str | list[str]] = {}
    try:
        params["segments"] = parse_segments(params["segments"])
    except ValidationError as exc:
        errors.update(exc.message_dict)

    def whole(name: str, lo: int, hi: int) -> None:
        value = params[name]
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            errors[name] = f"Give a whole number from {lo} to {hi}."

    whole("seed", 0, 2**32 - 1)
    whole("n_resamples", 1000, 20000)
    whole("small_group", 1, 1_000_000)
    if not isinstance(params["include_flagged"], bool):
        errors["include_flagged"] = "Give true or false."
    k_range = params["k_range"]
    if (
        not isinstance(k_range, list | tuple)
        or len(k_range) != 2
        or not all(isinstance(k, int) and not isinstance(k, bool) for k in k_range)
        or not 2 <= k_range[0] <= k_range[1] <= MAX_K
    ):
        errors["k_range"] = f"Give [lowest, highest] with 2 ≤ lowest ≤ highest ≤ {MAX_K}."
    else:
        params["k_range"] = [int(k_range[0]), int(k_range[1])]
    if errors:
        raise ValidationError(errors)
    return params
