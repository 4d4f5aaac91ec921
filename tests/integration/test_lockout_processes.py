"""The sign-in lockout is one for every web process and holds while Redis is down: two gunicorn
servers (two web machines) share the database, their Redis does not answer, and failures on one
lock the account on the other.

Skipped unless the suite runs on PostgreSQL (DATABASE_URL=postgres://…): the servers share
pytest-django's test database (committed data, hence transaction=True).
"""

from __future__ import annotations

from tests.factories import UserFactory
from tests.integration.servers import (
    SHARES_POSTGRES,
    Browser,
    Gunicorn,
    Reply,
    read_form,
)
from tests.security.support import DEAD_REDIS, nothing_listens_at_dead_redis

pytestmark = SHARES_POSTGRES

PASSWORD = "a-long-enough-test-password"


def sign_in(browser: Browser, username: str, password: str) -> Reply:
    page = browser.get("/accounts/login/")
    inputs = read_form(page.text)
    hidden = [(i["name"], i.get("value", "")) for i in inputs if i.get("type") == "hidden"]
    fields = [*hidden, ("username", username), ("password", password)]
    return browser.post_form("/accounts/login/", fields)


def test_failures_on_one_server_lock_the_account_on_another_while_redis_is_down(settings, tmp_path):
    # The servers check passwords with the production hasher, not the suite's fast one.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    UserFactory(username="alice", password=PASSWORD)
    UserFactory(username="bob", password=PASSWORD)
    assert nothing_listens_at_dead_redis()
    env = {"REDIS_URL": DEAD_REDIS, "LOGIN_LOCKOUT_FAILURES": "3"}
    first = Gunicorn(tmp_path, workers=1, threads=1, **env)
    try:
        second = Gunicorn(tmp_path, workers=1, threads=1, **env)
        try:
            on_first, on_second = Browser(first.port), Browser(second.port)
            statuses = [sign_in(on_first, "alice", "wrong-password").status for _ in range(3)]
            assert statuses == [200, 200, 429], first.log()
            refused = sign_in(on_second, "alice", PASSWORD)
            assert refused.status == 429, second.log()
            assert "Too many failed sign-ins for this account" in refused.text
            # The other server signs other people in as usual.
            assert sign_in(on_second, "bob", PASSWORD).status == 302, second.log()
        finally:
            second.stop()
    finally:
        first.stop()
