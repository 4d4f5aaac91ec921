"""The fast path's request handling: a plain JSON submission answered without DRF's request
and response machinery, its body read in plain Python, the survey kept between requests (see
the package's docstring)."""

from __future__ import annotations

from collections.abc import Mapping

from django.http import HttpRequest, HttpResponse, JsonResponse

from config import inputs
from surveys import submission, versions
from surveys.fastpath.path import FAST


def _text_field(data: Mapping, name: str, max_length: int) -> tuple[str | None, list[str]]:
    """One optional `serializers.CharField(max_length=...)` of PublicSubmissionSerializer, as DRF
    reads it: (the trimmed value or None when absent, the field's error messages)."""
    if name not in data:
        return None, []
    value = data[name]
    if value == "" or str(value).strip() == "":
        return None, ["This field may not be blank."]
    if value is None:
        return None, ["This field may not be null."]
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None, ["Not a valid string."]
    value = str(value).strip()
    errors = []
    if len(value) > max_length:
        errors.append(f"Ensure this field has no more than {max_length} characters.")
    if "\x00" in value:
        errors.append("Null characters are not allowed.")
    surrogate = next((c for c in value if 0xD800 <= ord(c) <= 0xDFFF), None)
    if surrogate is not None:
        errors.append(f"Surrogate characters are not allowed: U+{ord(surrogate):X}.")
    return value, errors


def read_public_submission(data: object) -> tuple[dict, list[dict[str, str]]]:
    """PublicSubmissionSerializer's reading of a parsed JSON body, without DRF's per-field
    machinery (a third of a millisecond per submission): (its validated data, or its errors as
    the API lists them, `{"field", "message"}` in the serializer's field order).
    tests/surveys/test_submission_validation.py holds the two to the same answers. The body
    comes from DRF's strict JSON parser, so `answers`, when present and not null, is always
    valid JSON and needs no check of its own."""
    if data is None:
        return {}, [{"field": "body", "message": "No data provided"}]
    if not isinstance(data, Mapping):
        message = f"Invalid data. Expected a dictionary, but got {type(data).__name__}."
        return {}, [{"field": "body", "message": message}]
    values: dict = {}
    problems: list[dict[str, str]] = []
    for name, max_length in (("idempotency_key", 196), ("invitation", 64)):
        value, errors = _text_field(data, name, max_length)
        problems += [{"field": name, "message": m} for m in errors]
        if value is not None and not errors:
            values[name] = value
    if "answers" not in data:
        problems.append({"field": "answers", "message": "This field is required."})
    elif data["answers"] is None:
        problems.append({"field": "answers", "message": "This field may not be null."})
    else:
        values["answers"] = data["answers"]
    if not problems and not values.get("idempotency_key") and not values.get("invitation"):
        message = "Give an idempotency key or an invitation token."
        problems.append({"field": "idempotency_key", "message": message})
    return (values if not problems else {}), problems


def dispatch(request: HttpRequest, public_token: str) -> HttpResponse | None:
    """The answer to a POST whose body is a plain JSON object asking for JSON, without DRF's
    request and response machinery (negotiation, parsing, rendering: about a tenth of a
    submission's CPU time); None for everything else (other bodies or Accept headers), which
    DRF parses before `submit`."""
    body = _plain_json_object(request)
    return None if body is None else submit(body, public_token)


def submit(data: object, public_token: str) -> JsonResponse:
    """The answer to a parsed body. PublicSubmissionSerializer's rules are read without DRF's
    field machinery (the serializer still documents the body)."""
    values, malformed = read_public_submission(data)
    kept = versions.kept_target(public_token)
    if kept is not None:
        result, status, body = submission.answer(kept, values, malformed, FAST)
        # A response stored on the kept reading stands: its INSERT checked the survey in the
        # database. Any other answer is given only if the survey is still as kept.
        if result is not None and result.created:
            return _json(body, status)
        survey = versions.read_target(public_token)
        if versions.same_target(survey, kept) and not (result and result.stale):
            return _json(body, status)
    else:
        survey = versions.read_target(public_token)
    _, status, body = submission.answer(survey, values, malformed, FAST)
    return _json(body, status)


def _json(data: dict, status_code: int) -> JsonResponse:
    """JSON as DRF's renderer writes it (UTF-8, compact), for the quick path's answers."""
    return JsonResponse(
        data,
        status=status_code,
        json_dumps_params={"ensure_ascii": False, "separators": (",", ":")},
    )


# What the quick path answers: a client asking for JSON, or for anything (DRF would choose
# JSON too). Any other Accept header is DRF's to negotiate (406, the browsable API).
_QUICK_ACCEPT = frozenset({"", "*/*", "application/*", "application/json"})


def _plain_json_object(request: HttpRequest) -> dict | None:
    """The body, when it is a JSON object sent as UTF-8 `application/json` (what clients send)
    by a client that accepts JSON and names no `format`, read as DRF's parser reads it
    (`config.inputs.loads`); otherwise None."""
    if request.content_type != "application/json":
        return None
    if (request.content_params or {}).get("charset", "utf-8").lower() not in ("utf-8", "utf8"):
        return None
    # META, not request.headers or request.GET: those build a mapping of every header or
    # parameter first, on the busiest request there is.
    accept = request.META.get("HTTP_ACCEPT", "")
    if any(part.split(";")[0].strip() not in _QUICK_ACCEPT for part in accept.split(",")):
        return None
    if request.META.get("QUERY_STRING"):  # ?format=… is DRF's; the endpoint takes no other
        return None
    try:
        data = inputs.loads(request.body)
    except inputs.BadInput:  # DRF's parser reads it again and answers 400 with the reason
        return None
    return data if type(data) is dict else None
