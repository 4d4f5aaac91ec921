"""Protections the libraries do not give us: a per-address rate limit on the public survey
endpoints, a cap on the size of a request body, the shared cache the limit counts in (Redis in
production), which fails open, and the nonce on the app's own inline <style>.

Counting lives in the cache so every gunicorn worker (and every web machine) sees the same
numbers. A counter is only a brake: when Redis is unreachable the limits stop applying, with a
warning in the log, and respondents and researchers carry on as if nothing happened.

The Content-Security-Policy itself is django-csp's (CONTENT_SECURITY_POLICY in settings) and the
sign-in lockout django-axes' (workspaces/auth.py); docs/security.md says why the rest is ours.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import re
import time
from collections.abc import Callable
from typing import Any, ClassVar

from django import template
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.html import conditional_escape
from django.utils.safestring import SafeData, mark_safe

logger = logging.getLogger(__name__)

# --- The nonce of the app's own inline <style> ------------------------------------------------

# Loaded in templates as {% load style_nonce %} (TEMPLATES["OPTIONS"]["libraries"] in settings).
register = template.Library()

_STYLE_TAG = re.compile(r"<style(?=[\s>])")


@register.simple_tag(takes_context=True)
def nonce_styles(context: template.Context, markup: Any) -> SafeData:
    """Trusted markup (already marked safe) with the request's CSP nonce on its <style> elements.

    django-csp makes the nonce when this first reads it, and only then names it in the header's
    style-src. Only for markup the app builds itself with all text escaped, such as the
    landscape chart: untrusted text is escaped here and never gets a nonce."""
    if not isinstance(markup, SafeData):
        return conditional_escape(markup)
    request = getattr(context, "request", None)
    nonce = getattr(request, "csp_nonce", None)
    if nonce is None:
        return markup
    return mark_safe(_STYLE_TAG.sub(f'<style nonce="{nonce}"', str(markup)))


# --- The shared cache -------------------------------------------------------------------------


class FailOpenRedisCache(RedisCache):
    """Django's Redis cache for counters (the public rate limit, DRF throttles): while
    Redis is unreachable every read misses and every write is dropped, instead of raising.

    After a failure the cache is skipped for a few seconds, so an outage costs one short
    connection attempt per few seconds per process, not one per request."""

    retry_after_failure = 5.0
    # Per server, shared by the threads of a process (each has its own cache object).
    _down_until: ClassVar[dict[tuple[str, ...], float]] = {}
    # Set by RedisCache (its server list, and its client as a cached property); django-stubs
    # does not declare these internals.
    _servers: list[str]
    _cache: RedisCacheClient

    def _guard(self, call: Callable[[], Any], default: Any) -> Any:
        from redis.exceptions import RedisError

        servers = tuple(self._servers)
        if time.monotonic() < self._down_until.get(servers, 0.0):
            return default
        try:
            return call()
        except (RedisError, OSError) as exc:
            # One warning per retry: every few seconds per process while the outage lasts.
            logger.warning("Cache at %s unreachable (%s); limits are off.", self._servers, exc)
            self._down_until[servers] = time.monotonic() + self.retry_after_failure
            return default

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        return self._guard(
            lambda: super(FailOpenRedisCache, self).get(key, default, version), default
        )

    def set(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> None:
        self._guard(lambda: super(FailOpenRedisCache, self).set(key, value, timeout, version), None)

    def add(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> bool:
        return self._guard(
            lambda: super(FailOpenRedisCache, self).add(key, value, timeout, version), False
        )

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        # 0 reads as "nothing counted": while Redis is away no limit applies.
        return self._guard(lambda: super(FailOpenRedisCache, self).incr(key, delta, version), 0)

    def delete(self, key: Any, version: int | None = None) -> bool:
        return self._guard(lambda: super(FailOpenRedisCache, self).delete(key, version), False)

    def hit(self, key: str, *, window: int) -> int:
        """Count one hit on ``key`` (which expires ``window`` seconds after its first hit) and
        return the count, in one command; 0 while Redis is unreachable.

        Every public survey request passes here, so it avoids the two round trips of add + incr
        and the client object Django's cache builds for each call."""
        full_key = self.make_and_validate_key(key)
        count = self._counter_script()
        return self._guard(lambda: int(count(keys=[full_key], args=[window])), 0)

    def _counter_script(self) -> Any:
        # One client per cache object (one per thread); its connection pool is Django's own.
        if not hasattr(self, "_count"):
            self._count = self._cache.get_client(write=True).register_script(COUNT_HIT)
        return self._count


# The first hit creates the counter with its expiry; later ones keep it. A script runs whole
# or not at all, so no counter is ever left without an expiry (INCR then EXPIRE as two commands
# could be cut off between them), and it is one command where SET NX + INCR took two.
COUNT_HIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""


def counter_cache() -> Any:
    return caches["default"]


def count_hit(key: str, *, window: int) -> int | None:
    """Add one to the counter ``key``, which lives ``window`` seconds from its first hit, and
    return the new count; None when the cache cannot be reached (the caller lets the request
    through)."""
    cache = counter_cache()
    if isinstance(cache, FailOpenRedisCache):
        count = cache.hit(key, window=window)
        return count or None  # 0: Redis unreachable, nothing counted
    try:
        cache.add(key, 0, timeout=window)
        try:
            return cache.incr(key)
        except ValueError:
            # Expired between the two calls: this hit starts a new window.
            cache.set(key, 1, timeout=window)
            return 1
    except Exception as exc:  # any backend's connection error; never the request's problem
        logger.warning("Rate counter %s not counted, cache unreachable: %s", key, exc)
        return None


# --- Client address ---------------------------------------------------------------------------


def client_address(request: HttpRequest) -> str:
    """The address of the client: REMOTE_ADDR, or with TRUSTED_PROXY_COUNT = n proxies in front
    the n-th address from the right of X-Forwarded-For (each proxy appends the address that
    connected to it, so anything further left was written by the client and can be forged)."""
    remote = request.META.get("REMOTE_ADDR", "") or "unknown"
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    if len(forwarded) < proxies:
        # Not through every proxy (or a misconfigured one): only the socket can be trusted.
        return remote
    candidate = forwarded[-proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote


# --- Rate limit on the public survey endpoints ------------------------------------------------

PUBLIC_PATHS = re.compile(
    r"^/(?:s|i)/[^/]+/$|^/api/public/surveys/[^/]+/(?:responses|assignment)/$"
)
RATE_WINDOW = 60  # seconds: RATE_LIMIT_PUBLIC counts requests per minute


def _rate_limited(request: HttpRequest, retry_after: int) -> HttpResponse:
    minutes = "a minute" if retry_after > 30 else f"{retry_after} seconds"
    if request.path_info.startswith("/api/"):
        response: HttpResponse = JsonResponse(
            {"detail": f"Too many requests from your address; try again in {minutes}."},
            status=429,
        )
    else:
        html = render_to_string("surveys/respond/rate_limited.html", {"wait": minutes})
        response = HttpResponse(html, status=429)
    response["Retry-After"] = str(retry_after)
    response["Cache-Control"] = "no-store"
    return response


class PublicRateLimitMiddleware:
    """At most RATE_LIMIT_PUBLIC requests a minute per client address to the respondent pages
    (/s/<token>/, /i/<token>/) and the public submission API, counted in the shared cache."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.RATE_LIMIT_PUBLIC
        if limit > 0 and PUBLIC_PATHS.match(request.path_info):
            now = time.time()
            window = int(now // RATE_WINDOW)
            key = f"ratelimit:public:{client_address(request)}:{window}"
            count = count_hit(key, window=RATE_WINDOW)
            if count is not None and count > limit:
                retry_after = max(1, math.ceil((window + 1) * RATE_WINDOW - now))
                return _rate_limited(request, retry_after)
        return self.get_response(request)


# --- Request body size ------------------------------------------------------------------------


def _human(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.0f} MB"
    return f"{math.ceil(size / 1024)} KB"


class RequestSizeLimitMiddleware:
    """Refuses a request body larger than UPLOAD_MAX_BYTES (DATA_UPLOAD_MAX_MEMORY_SIZE) with
    413 before anything reads it. Django itself caps only non-file form data and streams larger
    files to a temporary file, and DRF reads JSON bodies of any size, so this is the one cap
    that holds for every upload endpoint. (A multipart body is the file plus a few hundred bytes
    of framing, so a file must stay that much under the limit.)"""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if limit is not None and length > limit:
            return _too_large(request, limit)
        return self.get_response(request)


def _too_large(request: HttpRequest, limit: int) -> HttpResponse:
    message = f"The upload is too large: files of up to {_human(limit)} are accepted."
    if request.path_info.startswith("/api/"):
        return JsonResponse({"detail": message, "limit_bytes": limit}, status=413)
    return HttpResponse(render_to_string("413.html", {"message": message}), status=413)
