"""The public survey endpoints are rate limited per client address, counted in the shared cache,
and the limit fails open: a Redis outage never costs a respondent their survey."""

from __future__ import annotations

import logging
import time

import pytest
from django.test import Client, override_settings

from surveys.models import Invitation, Response, Survey
from tests.security.support import (
    answers,
    clear_counters,
    dead_cache,
    frozen_redis,
    nothing_listens_at_dead_redis,
    public_api_url,
    published_survey,
)

pytestmark = pytest.mark.django_db

LIMIT = 3


@pytest.fixture(autouse=True)
def _small_limit(settings):
    settings.RATE_LIMIT_PUBLIC = LIMIT
    clear_counters()  # the counts outlive a test
    yield
    clear_counters()


@pytest.fixture
def survey(job) -> Survey:
    return published_survey(job)


@pytest.fixture
def invitation(survey) -> Invitation:
    return Invitation.objects.create(survey=survey, external_id="person-1")


def client_from(address: str) -> Client:
    return Client(REMOTE_ADDR=address)


def test_the_survey_page_answers_429_in_the_respondent_layout_above_the_limit(survey):
    client = client_from("203.0.113.7")
    statuses = [client.get(survey.public_path()).status_code for _ in range(LIMIT + 1)]
    assert statuses == [200] * LIMIT + [429]
    response = client.get(survey.public_path())
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    html = response.content.decode()
    assert "Please wait a moment" in html
    assert "css/survey.css" in html  # the respondent's layout, not the app's


def test_invitation_pages_are_limited_too(invitation):
    client = client_from("203.0.113.8")
    statuses = [client.get(invitation.path()).status_code for _ in range(LIMIT + 1)]
    assert statuses[-1] == 429
    assert "Retry-After" in client.get(invitation.path())


def test_the_public_api_answers_json_429_with_retry_after(survey):
    client = client_from("203.0.113.9")
    url = public_api_url(survey)
    statuses = [
        client.post(
            url, {"idempotency_key": f"k{i}", **answers(survey)}, content_type="application/json"
        ).status_code
        for i in range(LIMIT + 1)
    ]
    assert statuses == [201] * LIMIT + [429]
    refused = client.post(url, {"idempotency_key": "late"}, content_type="application/json")
    assert refused.status_code == 429
    assert refused["Content-Type"] == "application/json"
    assert "try again" in refused.json()["detail"]
    assert int(refused["Retry-After"]) >= 1
    assert Response.objects.count() == LIMIT


def test_other_addresses_are_not_affected(survey):
    noisy = client_from("198.51.100.1")
    for _ in range(LIMIT + 1):
        noisy.get(survey.public_path())
    assert noisy.get(survey.public_path()).status_code == 429
    assert client_from("198.51.100.2").get(survey.public_path()).status_code == 200


def test_pages_outside_the_public_endpoints_are_not_counted(client, owner, survey):
    client.force_login(owner)
    statuses = {client.get(f"/surveys/{survey.pk}/").status_code for _ in range(LIMIT + 3)}
    assert statuses == {200}


def test_zero_turns_the_limit_off(settings, survey):
    settings.RATE_LIMIT_PUBLIC = 0
    client = client_from("203.0.113.10")
    statuses = {client.get(survey.public_path()).status_code for _ in range(LIMIT * 3)}
    assert statuses == {200}


def test_a_forged_forwarded_for_header_does_not_escape_the_limit(survey):
    # No proxy is trusted by default: X-Forwarded-For is the client's own text.
    client = client_from("203.0.113.11")
    statuses = [
        client.get(survey.public_path(), HTTP_X_FORWARDED_FOR=f"10.0.0.{i}").status_code
        for i in range(LIMIT + 1)
    ]
    assert statuses[-1] == 429


def test_behind_a_trusted_proxy_the_forwarded_client_address_is_counted(settings, survey):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = client_from("10.0.0.1")  # every request arrives from the proxy

    def get(real: str, forged: str = "1.2.3.4"):
        # The proxy appends the address that connected to it; anything left of it is forged.
        return proxy.get(survey.public_path(), HTTP_X_FORWARDED_FOR=f"{forged}, {real}")

    statuses = [get("192.0.2.1", forged=f"1.2.3.{i}").status_code for i in range(LIMIT + 1)]
    assert statuses[-1] == 429
    assert get("192.0.2.2").status_code == 200


def test_the_limit_fails_open_quickly_when_redis_is_unreachable(survey, caplog):
    assert nothing_listens_at_dead_redis()
    client = client_from("203.0.113.12")
    with dead_cache(), caplog.at_level(logging.WARNING, logger="config.security"):
        started = time.monotonic()
        statuses = [client.get(survey.public_path()).status_code for _ in range(LIMIT + 2)]
        elapsed = time.monotonic() - started
    assert statuses == [200] * (LIMIT + 2)
    assert elapsed < 3, elapsed
    assert "cache unreachable" in caplog.text


def test_the_production_cache_fails_open_for_the_public_api(survey):
    # The settings' Redis cache with Redis down: the limit must not turn the outage into an
    # error for a respondent submitting through the API.
    assert nothing_listens_at_dead_redis()
    client = client_from("203.0.113.13")
    with dead_cache("config.security.FailOpenRedisCache"):
        started = time.monotonic()
        response = client.post(
            public_api_url(survey),
            {"idempotency_key": "during-outage", **answers(survey)},
            content_type="application/json",
        )
        elapsed = time.monotonic() - started
    assert response.status_code == 201, response.content
    assert elapsed < 2, elapsed
    assert Response.objects.count() == 1


def test_a_redis_that_stops_answering_costs_one_timeout_not_one_per_request(survey):
    # After the first timeout the cache is skipped for a few seconds: a hung Redis must not add
    # its timeout to every respondent's request (that would take 8 x 0.25 s here).
    client = client_from("203.0.113.14")
    with frozen_redis() as url, dead_cache("config.security.FailOpenRedisCache", url):
        started = time.monotonic()
        statuses = [client.get(survey.public_path()).status_code for _ in range(8)]
        elapsed = time.monotonic() - started
    assert statuses == [200] * 8
    assert elapsed < 1.2, elapsed


def _live_redis_answers() -> bool:
    import redis

    try:
        return bool(redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


LIVE_REDIS = "redis://127.0.0.1:6379/10"


@pytest.mark.skipif(not _live_redis_answers(), reason="needs Redis answering at 127.0.0.1:6379")
def test_the_count_is_shared_by_every_process_through_redis(survey):
    """Two gunicorn workers are two cache objects on the same Redis: hits through either count
    toward one limit, and the counter expires with its window."""
    import redis
    from django.core.cache.backends.redis import RedisCache

    from config.security import FailOpenRedisCache

    params = {"KEY_PREFIX": "oe-test", "OPTIONS": {"socket_timeout": 0.5}}
    worker_a = FailOpenRedisCache(LIVE_REDIS, params)
    worker_b = FailOpenRedisCache(LIVE_REDIS, params)
    key = f"ratelimit:public:198.51.100.1:{time.time_ns()}"
    try:
        assert [worker_a.hit(key, window=60), worker_b.hit(key, window=60)] == [1, 2]
        assert worker_a.hit(key, window=60) == 3
        # Django's own cache API reads the same counter, and it expires with its window.
        assert RedisCache(LIVE_REDIS, params).get(key) == 3
        server = redis.Redis.from_url(LIVE_REDIS)
        ttl = server.ttl(worker_a.make_and_validate_key(key))
        assert 0 < ttl <= 60
        # A restarted Redis has forgotten the counting script: it is loaded again, not lost.
        server.script_flush()
        assert worker_b.hit(key, window=60) == 4
        # Later hits keep the first hit's expiry (the window does not slide).
        server.expire(worker_a.make_and_validate_key(key), 30)
        assert worker_a.hit(key, window=60) == 5
        assert 0 < server.ttl(worker_a.make_and_validate_key(key)) <= 30
        # Connections the server closed (a restart, an idle timeout) are replaced, not fatal.
        for client in server.client_list():
            if client["db"] == "10" and int(client["id"]) != server.client_id():
                server.client_kill_filter(_id=client["id"])
        assert [worker_a.hit(key, window=60), worker_b.hit(key, window=60)] == [6, 7]
    finally:
        redis.Redis.from_url(LIVE_REDIS).flushdb()

    cache_settings = {
        "default": {
            "BACKEND": "config.security.FailOpenRedisCache",
            "LOCATION": LIVE_REDIS,
            **params,
        }
    }
    try:
        with override_settings(CACHES=cache_settings):
            client = client_from("198.51.100.2")
            statuses = [client.get(survey.public_path()).status_code for _ in range(LIMIT + 1)]
        assert statuses == [200] * LIMIT + [429]
    finally:
        redis.Redis.from_url(LIVE_REDIS).flushdb()
