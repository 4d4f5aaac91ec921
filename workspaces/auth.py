"""Sign-in with a lockout: repeated failures lock the username, and separately the client
address, for LOGIN_LOCKOUT_SECONDS.

While locked, a sign-in is refused before the password is checked (so even the right password
is refused, and a guesser learns nothing), with 429 and a message saying how long to wait. A
successful sign-in clears the username's failures; the address's are left to expire, or an
attacker with one account of their own could clear them between guesses.

Failures are counted in the shared cache (Redis in production). When it is unreachable nothing
is counted and nobody is locked: a cache outage must not lock everyone out.
"""

from __future__ import annotations

import hashlib
import math
import time
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse

from config.security import client_address, count_hit, forget_counter, read_counter, write_counter

LOCKED = "locked"


def _key(kind: str, scope: str, value: str) -> str:
    # Hashed: usernames may hold characters a cache key should not, and need not sit in Redis.
    digest = hashlib.sha256(value.encode()).hexdigest()[:32]
    return f"login:{kind}:{scope}:{digest}"


def _scopes(username: str, address: str | None) -> list[tuple[str, str, int]]:
    """(scope, value, failures allowed) for each counter a sign-in attempt touches."""
    scopes = []
    if username and settings.LOGIN_LOCKOUT_FAILURES > 0:
        scopes.append(("user", username.strip().casefold(), settings.LOGIN_LOCKOUT_FAILURES))
    if address and settings.LOGIN_LOCKOUT_ADDRESS_FAILURES > 0:
        scopes.append(("address", address, settings.LOGIN_LOCKOUT_ADDRESS_FAILURES))
    return scopes


def locked_for(username: str, address: str | None) -> tuple[str, int] | None:
    """(scope, seconds left) of a lock on this username or address, else None."""
    now = time.time()
    for scope, value, _allowed in _scopes(username, address):
        until = read_counter(_key("lock", scope, value))
        if until is not None and float(until) > now:
            return scope, math.ceil(float(until) - now)
    return None


def record_failure(username: str, address: str | None) -> tuple[str, int] | None:
    """Count a failed sign-in; the lock it starts, if it reaches the limit."""
    seconds = settings.LOGIN_LOCKOUT_SECONDS
    started = None
    for scope, value, allowed in _scopes(username, address):
        count = count_hit(_key("fail", scope, value), window=seconds)
        if count is not None and count >= allowed:
            write_counter(_key("lock", scope, value), time.time() + seconds, timeout=seconds)
            forget_counter(_key("fail", scope, value))
            started = started or (scope, seconds)
    return started


def record_success(username: str) -> None:
    for scope, value, _allowed in _scopes(username, None):
        forget_counter(_key("fail", scope, value))


def lock_message(scope: str, seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    wait = f"{minutes} minute{'s' if minutes != 1 else ''}"
    who = "for this account" if scope == "user" else "from your network address"
    return f"Too many failed sign-ins {who}; try again in {wait}."


class LockoutMixin:
    """For an AuthenticationForm: refuse locked usernames and addresses, count failures."""

    request: HttpRequest | None
    cleaned_data: dict[str, Any]
    user_cache: Any
    lockout_message: str = ""

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username") or ""
        password = self.cleaned_data.get("password")
        address = client_address(self.request) if self.request is not None else None
        lock = locked_for(username, address)
        if lock is not None:
            raise self._locked(*lock)
        try:
            cleaned = super().clean()  # type: ignore[misc]
        except ValidationError as exc:
            if username and password and getattr(exc, "code", None) == "invalid_login":
                lock = record_failure(username, address)
                if lock is not None:
                    raise self._locked(*lock) from None
            raise
        if self.user_cache is not None:
            record_success(username)
        return cleaned

    def _locked(self, scope: str, seconds: int) -> ValidationError:
        self.lockout_message = lock_message(scope, seconds)
        return ValidationError(self.lockout_message, code=LOCKED)


class LockoutAuthenticationForm(LockoutMixin, AuthenticationForm):
    pass


class LockoutAdminAuthenticationForm(LockoutMixin, AdminAuthenticationForm):
    pass


def _locked_status(response: HttpResponse) -> HttpResponse:
    """429 for a sign-in page that shows a lock, so clients and logs can tell it apart."""
    form = (getattr(response, "context_data", None) or {}).get("form")
    if getattr(form, "lockout_message", ""):
        response.status_code = 429
    return response


class SignInView(LoginView):
    authentication_form = LockoutAuthenticationForm

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        return _locked_status(super().form_invalid(form))


def admin_login(request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
    """The admin's own sign-in page, with the same lockout (admin.site.login_form is set to
    LockoutAdminAuthenticationForm in config/urls.py)."""
    return _locked_status(admin.site.login(request, extra_context))
