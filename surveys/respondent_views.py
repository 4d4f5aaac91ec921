"""The respondent's web survey: public pages, no account, nothing beyond the one survey.

Works without JavaScript. A respondent reaches a survey by its public link (one response per
browser, remembered by a signed cookie) or a personal invitation link.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect

from surveys import design, flow, length, ratings, services
from surveys.models import Invitation, Response, ResponseStatus, Survey

COOKIE_SALT = "survey-browser"
COOKIE_MAX_AGE = 60 * 60 * 24 * 180


def _cookie_name(survey: Survey) -> str:
    return f"oe_r{survey.pk}"


def _status_page(request: HttpRequest, template: str, status: int, survey=None) -> HttpResponse:
    return render(request, f"surveys/respond/{template}.html", {"survey": survey}, status=status)


@never_cache
@csrf_protect
def public_survey(request: HttpRequest, token: str) -> HttpResponse:
    survey = Survey.objects.filter(public_token=token).select_related("current_version").first()
    if survey is None or survey.current_version is None:
        return _status_page(request, "not_found", 404)
    key = request.get_signed_cookie(_cookie_name(survey), default=None, salt=COOKIE_SALT)
    response = Response.objects.filter(survey=survey, browser_key=key).first() if key else None
    return _answer(
        request, survey, response, start=lambda: services.response_for_browser(survey, key)
    )


@never_cache
@csrf_protect
def invitation_survey(request: HttpRequest, token: str) -> HttpResponse:
    invitation = (
        Invitation.objects.filter(token=token).select_related("survey__current_version").first()
    )
    if invitation is None or invitation.survey.current_version is None:
        return _status_page(request, "not_found", 404)
    survey = invitation.survey
    response = Response.objects.filter(invitation=invitation).first()
    return _answer(
        request, survey, response, start=lambda: services.response_for_invitation(invitation)
    )


def _answer(request: HttpRequest, survey: Survey, response: Response | None, start) -> HttpResponse:
    if response is not None and response.status == ResponseStatus.COMPLETED:
        # Right after finishing (and for a repeated final submit) the respondent sees the thanks;
        # coming back later, that the survey is already completed.
        done = request.GET.get("done") == "1" or request.method == "POST"
        return _status_page(request, "thanks" if done else "already_completed", 200, survey)
    if response is not None and response.status == ResponseStatus.SCREENED_OUT:
        return _status_page(request, "screened_out", 200, survey)
    if not survey.is_accepting():
        return _status_page(request, "closed", 410, survey)

    version = response.version if response else survey.current_version
    assert version is not None  # a survey that accepts responses is published
    content = version.content
    if response is not None:
        pages = flow.build_pages(content, response.shown_order)
    else:  # not assigned yet: count the pages of a typical subset
        pages = flow.build_pages(content, subset=design.typical_subset(content))
    page_index = response.page if response else 0
    problems: list[flow.Problem] = []
    posted = None
    set_cookie = None

    if request.method == "POST":
        try:
            posted_index = int(request.POST.get("page", "-1"))
        except ValueError:
            posted_index = -1
        if request.POST.get("go") == "back":
            # Back saves what the page holds and shows the page before; without a response
            # there is nothing to go back from (and nothing is created).
            if response is not None:
                services.go_back(
                    response_id=response.pk, page_index=posted_index, data=request.POST
                )
            return redirect(request.path)
        if response is None:
            # The first page creates the response only when it is valid, so bots and people
            # who never start leave nothing behind.
            _, problems = flow.read_page(pages[0], content, request.POST)
            if not problems and posted_index == 0:
                try:
                    response = start()
                except services.AlreadyAnswered:
                    return _status_page(request, "already_completed", 200, survey)
                if response.browser_key:
                    set_cookie = response.browser_key
        if response is not None:
            result = services.submit_page(
                response_id=response.pk, page_index=posted_index, data=request.POST
            )
            response, problems = result.response, result.problems
            pages = flow.build_pages(content, response.shown_order)
            if not problems:
                finished = response.status != ResponseStatus.IN_PROGRESS
                http = redirect(request.path + ("?done=1" if finished else ""))
                if set_cookie:
                    http.set_signed_cookie(
                        _cookie_name(survey),
                        set_cookie,
                        salt=COOKIE_SALT,
                        max_age=COOKIE_MAX_AGE,
                        httponly=True,
                        samesite="Lax",
                        secure=request.is_secure(),
                    )
                return http
            page_index = response.page
        posted = request.POST

    page = pages[page_index]
    context = _page_context(survey, content, pages, page, page_index, response, problems, posted)
    # The page says how long the survey takes, unless the researcher's welcome already does
    # (texts written before the estimate existed said "about 10 minutes").
    if page.kind == "welcome" and "minute" not in content.get("welcome_text", "").lower():
        context["minutes"] = length.expected_minutes(version)
    return render(request, "surveys/respond/page.html", context, status=200)


def _page_context(survey, content, pages, page, page_index, response, problems, posted) -> dict:
    statements = {o["code"]: o["statement"] for s in content["steps"] for o in s["outcomes"]}
    saved: dict[str, tuple[int | None, int | None]] = {}
    if response is not None and response.ratings:
        saved = ratings.decode_answers(response.ratings, response.version.outcome_codes)
    order = list(page.outcome_codes)  # already in the order this respondent sees them
    items = []
    for code in order:
        imp, sat = saved.get(code, (None, None))
        if posted is not None:
            imp = posted.get(f"imp-{code}") or None
            sat = posted.get(f"sat-{code}") or None
        items.append(
            {
                "code": code,
                "statement": statements[code],
                "imp": _form_value(imp),
                "sat": _form_value(sat),
            }
        )
    values = posted if posted is not None else _saved_values(content, response)
    questions = []
    for q in page.questions:
        name = f"q-{q['key']}"
        if posted is not None:
            chosen = posted.getlist(name) if q["kind"] == "multiple" else [posted.get(name, "")]
        else:
            kept = (response.profile if response else {}).get(q["key"])
            chosen = kept if isinstance(kept, list) else ([] if kept is None else [str(kept)])
        questions.append(
            {
                "q": q,
                "name": name,
                "chosen": chosen,
                "value": chosen[0] if chosen else "",
                "error": next((p.message for p in problems if p.field == name), ""),
            }
        )
    return {
        "questions": questions,
        "survey": survey,
        "content": content,
        "page": page,
        "page_index": page_index,
        "page_count": len(pages),
        "percent": round(100 * page_index / len(pages)),
        "items": items,
        "problems": problems,
        "problem_fields": {p.field for p in problems},
        "problem_messages": {p.field: p.message for p in problems},
        "values": values,
        "imp_scale": list(enumerate(content["importance_labels"], start=1)),
        "sat_scale": list(enumerate(content["satisfaction_labels"], start=1)),
        "not_applicable": bool(content.get("not_applicable")),
        "nps_scale": range(0, 11),
        "ces_scale": range(1, 8),
        "profile": response.profile if response else {},
        "response": response,
    }


def _form_value(rating: object) -> str:
    """A saved or posted rating as the form's radio value ("na" for not applicable)."""
    if rating == ratings.NOT_APPLICABLE:
        return flow.NOT_APPLICABLE_VALUE
    return str(rating or "")


def _saved_values(content: Mapping, response: Response | None) -> dict[str, object]:
    """The answers outside the outcome and question lists, as the form fields hold them, from
    what the response saved: a page shown again (after Back, or on resuming) keeps them."""
    if response is None:
        return {}
    values: dict[str, object] = {"consent": response.page > 0}
    solution = response.current_solution
    options = (content.get("current_solution") or {}).get("options") or []
    if solution:
        inside = solution in options
        values["current_solution"] = solution if inside else "__other__"
        values["current_solution_other"] = "" if inside else solution
    for name in ("nps", "ces"):
        if getattr(response, name) is not None:
            values[name] = str(getattr(response, name))
    if response.attention_passed:
        values["attention"] = str(flow.ATTENTION_TARGET)
    return values
