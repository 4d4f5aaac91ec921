"""Repeated failed sign-ins lock the username (and, separately, the client address) for a while,
on the app's sign-in page and the admin's; the lock refuses even the right password. The
failures are rows in the database (django-axes), so the lock holds while Redis is down."""

from __future__ import annotations

import time

import pytest
from django.test import Client

from tests.factories import UserFactory
from tests.security.support import dead_cache, nothing_listens_at_dead_redis

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tests"
LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"


@pytest.fixture(autouse=True)
def _lockout(settings):
    settings.LOGIN_LOCKOUT_FAILURES = 5
    settings.LOGIN_LOCKOUT_ADDRESS_FAILURES = 20
    settings.LOGIN_LOCKOUT_SECONDS = 900


@pytest.fixture
def alice(db):
    return UserFactory(username="alice")


def sign_in(client: Client, username: str, password: str, url: str = LOGIN):
    return client.post(url, {"username": username, "password": password})


def fail(client: Client, username: str, times: int, url: str = LOGIN) -> list[int]:
    return [sign_in(client, username, "wrong-password", url).status_code for _ in range(times)]


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_five_failures_lock_the_account_and_refuse_even_the_right_password(alice):
    client = Client()
    statuses = fail(client, "alice", 5)
    assert statuses == [200, 200, 200, 200, 429]
    response = sign_in(client, "alice", PASSWORD)
    assert response.status_code == 429
    html = response.content.decode()
    assert "Too many failed sign-ins for this account; try again in 15 minutes." in html
    assert not signed_in(client)


def test_the_lock_holds_for_a_client_at_another_address(alice):
    fail(Client(REMOTE_ADDR="198.51.100.1"), "alice", 5)
    other = Client(REMOTE_ADDR="198.51.100.2")
    assert sign_in(other, "alice", PASSWORD).status_code == 429
    assert not signed_in(other)


def test_the_account_unlocks_after_the_lockout_period_which_attempts_do_not_extend(settings, alice):
    settings.LOGIN_LOCKOUT_SECONDS = 2
    client = Client()
    fail(client, "alice", 5)
    locked_at = time.monotonic()
    time.sleep(1)
    # Refused while locked, and not counted: the lock still ends 2 s after the fifth failure.
    assert sign_in(client, "alice", PASSWORD).status_code == 429
    assert "try again in 1 minute." in sign_in(client, "alice", PASSWORD).content.decode()
    time.sleep(max(0.0, locked_at + 2.2 - time.monotonic()))
    response = sign_in(client, "alice", PASSWORD)
    assert response.status_code == 302
    assert signed_in(client)


def test_other_users_are_not_affected(alice):
    UserFactory(username="bob")
    client = Client()
    fail(client, "alice", 5)
    assert sign_in(client, "bob", PASSWORD).status_code == 302
    assert signed_in(client)


def test_a_successful_sign_in_resets_the_count(alice):
    client = Client()
    fail(client, "alice", 4)
    assert sign_in(client, "alice", PASSWORD).status_code == 302
    client.logout()
    assert fail(client, "alice", 4) == [200] * 4
    assert sign_in(client, "alice", PASSWORD).status_code == 302


def test_many_usernames_from_one_address_lock_the_address(settings, alice):
    settings.LOGIN_LOCKOUT_ADDRESS_FAILURES = 6
    attacker = Client(REMOTE_ADDR="203.0.113.66")
    for n in range(6):
        sign_in(attacker, f"guess{n}", "wrong-password")
    response = sign_in(attacker, "alice", PASSWORD)
    assert response.status_code == 429
    assert "from your network address" in response.content.decode()
    # alice herself, elsewhere, is not locked out by someone else's address
    assert sign_in(Client(REMOTE_ADDR="192.0.2.5"), "alice", PASSWORD).status_code == 302


def test_signing_in_to_an_account_of_ones_own_does_not_reset_the_address_count(settings, alice):
    settings.LOGIN_LOCKOUT_ADDRESS_FAILURES = 6
    UserFactory(username="mallory")
    attacker = Client(REMOTE_ADDR="203.0.113.67")
    for n in range(5):
        sign_in(attacker, f"guess{n}", "wrong-password")
    assert sign_in(attacker, "mallory", PASSWORD).status_code == 302
    attacker.logout()
    assert sign_in(attacker, "guess5", "wrong-password").status_code == 429
    response = sign_in(attacker, "mallory", PASSWORD)
    assert response.status_code == 429
    assert "from your network address" in response.content.decode()


def test_behind_a_trusted_proxy_the_forwarded_client_address_is_locked(settings, alice):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.LOGIN_LOCKOUT_ADDRESS_FAILURES = 6
    proxy = Client(REMOTE_ADDR="10.0.0.1")  # every request arrives from the proxy

    def attempt(username: str, password: str, real: str, forged: str = "1.2.3.4"):
        # The proxy appends the address that connected to it; anything left of it is forged.
        return proxy.post(
            LOGIN,
            {"username": username, "password": password},
            HTTP_X_FORWARDED_FOR=f"{forged}, {real}",
        )

    statuses = [
        attempt(f"guess{n}", "wrong-password", "192.0.2.1", forged=f"1.2.3.{n}").status_code
        for n in range(6)
    ]
    assert statuses == [200] * 5 + [429]
    assert attempt("alice", PASSWORD, "192.0.2.1").status_code == 429
    # Another client behind the same proxy is not locked out with the first.
    assert attempt("alice", PASSWORD, "192.0.2.2").status_code == 302


def test_the_lockout_can_be_turned_off(settings, alice):
    settings.LOGIN_LOCKOUT_FAILURES = 0
    settings.LOGIN_LOCKOUT_ADDRESS_FAILURES = 0
    client = Client()
    assert set(fail(client, "alice", 8)) == {200}
    assert sign_in(client, "alice", PASSWORD).status_code == 302


def test_the_admin_sign_in_is_locked_too(alice):
    staff = UserFactory(username="root")
    staff.is_staff = staff.is_superuser = True
    staff.save(update_fields=["is_staff", "is_superuser"])
    client = Client()
    statuses = fail(client, "root", 5, url=ADMIN_LOGIN)
    assert statuses[-1] == 429
    response = sign_in(client, "root", PASSWORD, url=ADMIN_LOGIN)
    assert response.status_code == 429
    assert "Too many failed sign-ins for this account" in response.content.decode()
    assert not signed_in(client)
    # the app's own page shares the count: the same account is locked there
    assert sign_in(client, "root", PASSWORD).status_code == 429


def test_the_admin_signs_in_normally_without_failures():
    staff = UserFactory(username="root")
    staff.is_staff = staff.is_superuser = True
    staff.save(update_fields=["is_staff", "is_superuser"])
    client = Client()
    response = sign_in(client, "root", PASSWORD, url=ADMIN_LOGIN + "?next=/admin/")
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_the_lockout_holds_and_others_sign_in_while_redis_is_unreachable(alice):
    UserFactory(username="bob")
    assert nothing_listens_at_dead_redis()
    client = Client()
    with dead_cache("config.security.FailOpenRedisCache"):
        started = time.monotonic()
        assert fail(client, "alice", 5) == [200, 200, 200, 200, 429]
        assert sign_in(client, "alice", PASSWORD).status_code == 429
        assert not signed_in(client)
        assert sign_in(client, "bob", PASSWORD).status_code == 302
        elapsed = time.monotonic() - started
    assert signed_in(client)
    assert elapsed < 3, elapsed
