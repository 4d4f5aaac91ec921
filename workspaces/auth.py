"""Sign-in lockout, by django-axes: repeated failures lock the username, and separately the
client address, for LOGIN_LOCKOUT_SECONDS.

Axes' database handler records failed sign-ins as rows (AccessAttempt: username, address, user
agent, failures, time of the latest), so every process sees the same counts and the lockout
holds while Redis is down. Axes' backend, first in AUTHENTICATION_BACKENDS, refuses a locked
username or address before the password is checked, so even the right password is refused and a
guesser learns nothing. Added here, where axes has no setting for it:

- a limit per scope: LOGIN_LOCKOUT_FAILURES for a username, LOGIN_LOCKOUT_ADDRESS_FAILURES for an
  address (higher, as an office shares one); axes has one limit for every scope;
- a successful sign-in forgets the username's failures only; axes would forget the address's
  too, and an attacker with an account of their own could then reset it between guesses;
- the sign-in page answers a lock itself, with 429 and a message saying what is locked and for
  how long.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.exceptions import ValidationError
from django.db.models import Max, Sum
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

LOCKED = "locked"
USER = "user"
ADDRESS = "address"


@dataclass(frozen=True)
class Lock:
    scope: str  # USER or ADDRESS
    until: datetime

    def message(self, now: datetime) -> str:
        minutes = max(1, math.ceil((self.until - now).total_seconds() / 60))
        wait = f"{minutes} minute{'s' if minutes != 1 else ''}"
        who = "for this account" if self.scope == USER else "from your network address"
        return f"Too many failed sign-ins {who}; try again in {wait}."


def lockout_duration(request: HttpRequest | None = None) -> timedelta:
    """AXES_COOLOFF_TIME: how long a lock lasts, and how long failures are remembered after the
    latest one. Read on every sign-in, so LOGIN_LOCKOUT_SECONDS has one home."""
    return timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS)


def locks(request: HttpRequest, username: str | None) -> list[Lock]:
    """The locks on this username and on the request's client address (axes has set the
    request's ``axes_ip_address`` and ``axes_attempt_time``), username first.

    A scope is locked when its failures remembered by axes (those of rows whose latest failure
    is under LOGIN_LOCKOUT_SECONDS old) reach its limit, until LOGIN_LOCKOUT_SECONDS after its
    latest failure; failures while locked are not recorded, so that is when the lock started."""
    recent = AccessAttempt.objects.filter(attempt_time__gte=get_cool_off_threshold(request))
    scopes = (
        (USER, "username", username, settings.LOGIN_LOCKOUT_FAILURES),
        (
            ADDRESS,
            "ip_address",
            request.axes_ip_address,  # type: ignore[attr-defined]  # set by axes, undeclared
            settings.LOGIN_LOCKOUT_ADDRESS_FAILURES,
        ),
    )
    found = []
    for scope, field, value, allowed in scopes:
        if allowed <= 0 or not value:
            continue
        counted = recent.filter(**{field: value}).aggregate(
            failures=Sum("failures_since_start"), latest=Max("attempt_time")
        )
        if (counted["failures"] or 0) >= allowed:
            found.append(Lock(scope, counted["latest"] + lockout_duration(request)))
    return found


class LockoutHandler(AxesDatabaseHandler):
    """AXES_HANDLER: axes' database handler with a limit per scope."""

    def get_failures(self, request: HttpRequest, credentials: dict | None = None) -> int:
        """How many scopes (the username, the address) have reached their own limit. Axes locks
        when this reaches AXES_FAILURE_LIMIT, which is 1."""
        return len(locks(request, get_client_username(request, credentials)))

    def reset_user_attempts(self, request: HttpRequest, credentials: dict | None = None) -> int:
        """After a successful sign-in: forget the failures of this username, from any address,
        and nobody else's."""
        username = get_client_username(request, credentials)
        deleted, _ = AccessAttempt.objects.filter(username=username).delete()
        return deleted


def locked_response(
    request: HttpRequest, original_response: HttpResponse, credentials: dict | None = None
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the sign-in page as the view rendered it (its form says what is
    locked and for how long), with 429 so that clients and logs can tell a lock apart."""
    original_response.status_code = 429
    return original_response


class LockoutMixin:
    """For an AuthenticationForm: when axes refused or locked this sign-in, say so instead of
    "wrong username or password"."""

    request: HttpRequest | None
    cleaned_data: dict[str, Any]
    lockout_message: str = ""  # the sign-in page shows it in place of "didn't match"

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean()  # type: ignore[misc]
        except ValidationError:
            lock = self._lock()
            if lock is None:
                raise
            self.lockout_message = lock.message(timezone.now())
            raise ValidationError(self.lockout_message, code=LOCKED) from None

    def _lock(self) -> Lock | None:
        if self.request is None or not getattr(self.request, "axes_locked_out", False):
            return None
        found = locks(self.request, self.cleaned_data.get("username"))
        return found[0] if found else None


class LockoutAuthenticationForm(LockoutMixin, AuthenticationForm):
    pass


class LockoutAdminAuthenticationForm(LockoutMixin, AdminAuthenticationForm):
    """The admin's sign-in form (admin.site.login_form in config/urls.py)."""


class SignInView(LoginView):
    authentication_form = LockoutAuthenticationForm
