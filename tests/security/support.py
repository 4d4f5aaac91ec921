"""Helpers of the rate-limit, lockout, CSRF and upload tests (fixtures stay in each module)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

from django.core.cache import caches
from django.test import override_settings

from surveys import services
from surveys.models import Survey


def _closed_port() -> tuple[socket.socket, int]:
    """A port of ours that is bound but never listens: connecting is refused at once, and no
    other process can start a server on it while the suite runs."""
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    return holder, holder.getsockname()[1]


# A real, unreachable Redis server address, not a mock.
_HOLDER, DEAD_PORT = _closed_port()
DEAD_REDIS = f"redis://127.0.0.1:{DEAD_PORT}/0"
QUICK = {"socket_connect_timeout": 0.25, "socket_timeout": 0.25}


def nothing_listens_at_dead_redis() -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", DEAD_PORT)) != 0


@contextmanager
def frozen_redis() -> Iterator[str]:
    """The URL of a Redis that accepts connections and never answers (a hung server, or one
    behind a dropped network path): every command waits for its timeout."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(64)  # the kernel completes connections; nothing ever reads them
        yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"


def dead_cache(
    backend: str = "django.core.cache.backends.redis.RedisCache", location: str = DEAD_REDIS
) -> AbstractContextManager:
    """The default cache pointed at an unreachable Redis, for the body of a `with` only (so
    nothing after the test tries to clear it)."""
    return override_settings(
        CACHES={
            "default": {
                "BACKEND": backend,
                "LOCATION": location,
                "KEY_PREFIX": "oe",
                "OPTIONS": QUICK,
            }
        }
    )


def clear_counters() -> None:
    caches["default"].clear()


def published_survey(job) -> Survey:
    """A published survey over the job's approved outcomes."""
    survey = services.create_survey(workspace=job.workspace, job=job, title="Adoption")
    services.publish_survey(survey=survey)
    return survey


def public_api_url(survey: Survey) -> str:
    return f"/api/public/surveys/{survey.public_token}/responses/"


def answers(survey: Survey) -> dict:
    codes = survey.current_version.outcome_codes
    return {"answers": {"ratings": {c: {"importance": 4, "satisfaction": 2} for c in codes}}}
