from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.factories import (
    JobFactory,
    MembershipFactory,
    UserFactory,
    WorkspaceFactory,
    add_outcomes,
)
from workspaces.models import Role

OUTCOMES = [
    "Minimize the time it takes to find who on the team has not started using the tool",
    "Minimize the likelihood that team members revert to the old way of working",
    "Minimize the number of questions the team asks about where to find information",
]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Fixture users get passwords; the production hasher would dominate the suite's run time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _analyses_in_the_request(settings):
    """Without a broker the app runs an analysis in a thread of its own (ANALYSIS_IN_THREAD);
    tests run it in the request, so it has finished when the request returns. The thread is
    tested on its own (tests/analysis/test_pages.py)."""
    settings.ANALYSIS_IN_THREAD = False


@pytest.fixture(autouse=True)
def _fresh_counters():
    """The public rate limit counts in the cache, which outlives a test: without this the
    public pages would start answering 429 partway through the suite."""
    from django.core.cache import caches

    caches["default"].clear()
    yield
    caches["default"].clear()


@pytest.fixture(autouse=True)
def _forget_broker_connections():
    """Celery keeps a producer pool for the process even for in-process tasks; drop it after each
    test so a test that points the app at another broker cannot leak into the next one."""
    yield
    from config.celery import app

    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def workspace(db):
    return WorkspaceFactory(name="Acme")


@pytest.fixture
def other_workspace(db):
    return WorkspaceFactory(name="Globex")


def _member(workspace, role, username):
    user = UserFactory(username=username)
    MembershipFactory(workspace=workspace, user=user, role=role)
    return user


@pytest.fixture
def owner(workspace):
    return _member(workspace, Role.OWNER, "owner")


@pytest.fixture
def researcher(workspace):
    return _member(workspace, Role.RESEARCHER, "researcher")


@pytest.fixture
def viewer(workspace):
    return _member(workspace, Role.VIEWER, "viewer")


@pytest.fixture
def outsider(other_workspace):
    """A researcher of another workspace."""
    return _member(other_workspace, Role.RESEARCHER, "outsider")


@pytest.fixture
def job(workspace):
    job = JobFactory(
        workspace=workspace, statement="Get a newly purchased tool adopted across my team"
    )
    add_outcomes(job, OUTCOMES)
    return job


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def api_as(api):
    def login(user):
        api.force_authenticate(user)
        return api

    return login


DATABASE_FIXTURES = {
    "db",
    "transactional_db",
    "django_db_reset_sequences",
    "django_db_serialized_rollback",
}


def pytest_collection_modifyitems(config, items):
    """On the second pass (`dev.py test` sets TEST_DATABASE_ONLY against PostgreSQL) run only
    what the database can change: a test that touches no database, and is not one of the
    conditional tests that need PostgreSQL or Redis, has already run in the SQLite pass."""
    import os

    if os.environ.get("TEST_DATABASE_ONLY") != "1":
        return
    keep, drop = [], []
    for item in items:
        needs_database = (
            DATABASE_FIXTURES & set(getattr(item, "fixturenames", ()))
            or item.get_closest_marker("django_db")
            or item.get_closest_marker("skipif")
            or "/integration/" in str(item.path)
        )
        (keep if needs_database else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
