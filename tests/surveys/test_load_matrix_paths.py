"""`load_matrix` reads the same matrix on its fast path (surveys/matrix_sql.py: one statement,
binary results) and on its plain reference path (one ORM query per version): versions with
different outcome codes, a `responses=` queryset, the missing codes 6 and 7, nothing to read.
Each case is also checked against the matrix written out by hand or from the stored rows.

Runs on SQLite, where `load_matrix` always takes the reference path (so the two calls must still
agree and match the expectation), and, with DATABASE_URL set, on PostgreSQL, where the fast path
runs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surveys import ratings, services
from surveys.models import Response, ResponseStatus, Survey, SurveyVersion

pytestmark = pytest.mark.django_db

NA, NOT_SHOWN = ratings.NOT_APPLICABLE, ratings.NOT_SHOWN


def add_version(survey: Survey, codes: Sequence[str]) -> SurveyVersion:
    """A published version asking `codes`, made the current one (only its codes matter here)."""
    number = survey.versions.count() + 1
    content = {"outcome_codes": list(codes)}
    version = SurveyVersion.objects.create(
        survey=survey, number=number, content=content, content_hash=f"test-{number}"
    )
    Survey.objects.filter(pk=survey.pk).update(current_version=version)
    survey.refresh_from_db()
    return version


def store(
    version: SurveyVersion,
    rid: str,
    packed: Sequence[int],
    *,
    status: str = ResponseStatus.COMPLETED,
    flags: Sequence[str] = (),
    include: bool | None = None,
) -> Response:
    """A response with its ratings as stored: `packed` holds importance then satisfaction."""
    return Response.objects.create(
        survey=version.survey,
        version=version,
        respondent_id=rid,
        status=status,
        ratings=bytes(packed),
        flags=list(flags),
        include_override=include,
    )


def both_paths(survey: Survey, **kwargs) -> ratings.RatingMatrix:
    """The matrix both paths read, after checking they read the same one."""
    fast = ratings.load_matrix(survey, **kwargs)
    reference = ratings.load_matrix(survey, path="reference", **kwargs)
    assert fast.codes == reference.codes
    assert fast.respondent_ids == reference.respondent_ids
    assert fast.response_ids.dtype == reference.response_ids.dtype == np.int64
    assert fast.response_ids.tolist() == reference.response_ids.tolist()
    for name in ("importance", "satisfaction"):
        got, want = getattr(fast, name), getattr(reference, name)
        assert got.dtype == want.dtype == np.uint8
        assert got.shape == want.shape
        assert np.array_equal(got, want), name
    return fast


@pytest.fixture
def survey(workspace, job) -> Survey:
    return services.create_survey(workspace=workspace, job=job, title="Paths")


def test_both_paths_join_versions_with_different_codes_by_code(survey, workspace, job):
    v1 = add_version(survey, ["A", "B", "C"])
    v2 = add_version(survey, ["C", "B", "D"])  # A no longer asked, order changed, D new
    v3 = add_version(survey, ["D", "E"])
    late = store(v1, "v1-late", [1, 2, 3, 5, 4, 3])  # stored before v2's rows, listed with v1
    store(v3, "v3", [4, 5, 1, 2])
    store(v2, "v2", [3, 2, 1, 0, 5, 4])
    store(v1, "v1-early", [5, 5, 5, 1, 1, 1])
    store(v1, "unfinished", [1] * 6, status=ResponseStatus.IN_PROGRESS)
    store(v2, "flagged", [1] * 6, flags=["speeder"])
    store(v2, "kept", [2] * 6, flags=["speeder"], include=True)
    other = services.create_survey(workspace=workspace, job=job, title="Other")
    store(add_version(other, ["A", "B", "C"]), "elsewhere", [3] * 6)

    matrix = both_paths(survey)

    # The current version's codes, then older versions' codes no longer asked.
    assert matrix.codes == ["D", "E", "A", "B", "C"]
    # Version by version, by id within a version.
    assert matrix.respondent_ids == ["v1-late", "v1-early", "v2", "kept", "v3"]
    assert matrix.response_ids[0] == late.pk
    assert matrix.importance.tolist() == [
        [0, 0, 1, 2, 3],
        [0, 0, 5, 5, 5],
        [1, 0, 0, 2, 3],
        [2, 0, 0, 2, 2],
        [4, 5, 0, 0, 0],
    ]
    assert matrix.satisfaction.tolist() == [
        [0, 0, 5, 4, 3],
        [0, 0, 1, 1, 1],
        [4, 0, 0, 5, 0],
        [2, 0, 0, 2, 2],
        [1, 2, 0, 0, 0],
    ]


def test_both_paths_read_no_rating_for_not_applicable_and_not_shown(survey):
    version = add_version(survey, ["A", "B", "C"])
    store(version, "r1", [4, NA, NOT_SHOWN, 2, 0, NOT_SHOWN])
    store(version, "r2", [NOT_SHOWN, NOT_SHOWN, 5, NA, NOT_SHOWN, 1])
    matrix = both_paths(survey)
    assert matrix.importance.tolist() == [[4, 0, 0], [0, 0, 5]]
    assert matrix.satisfaction.tolist() == [[2, 0, 0], [0, 0, 1]]


def test_both_paths_read_only_the_responses_given_in_the_columns_given(survey):
    v1 = add_version(survey, ["A", "B"])
    v2 = add_version(survey, ["B", "C"])
    store(v1, "a", [1, 2, 3, 4])
    store(v1, "b", [5, 4, 3, 2])
    store(v2, "c", [2, 2, 5, 5])
    # The queryset given replaces the analysable filter: an unfinished response can be read.
    store(v2, "d", [3, 1, 4, 1], status=ResponseStatus.IN_PROGRESS)
    given_rows = Response.objects.filter(survey=survey, respondent_id__in=["b", "c", "d"])

    matrix = both_paths(survey, responses=given_rows, codes=["C", "Z", "A"])

    assert matrix.codes == ["C", "Z", "A"]
    assert matrix.respondent_ids == ["b", "c", "d"]
    assert matrix.importance.tolist() == [[0, 0, 5], [2, 0, 0], [1, 0, 0]]
    assert matrix.satisfaction.tolist() == [[0, 0, 3], [5, 0, 0], [1, 0, 0]]


def test_both_paths_read_nothing_as_an_empty_matrix_of_the_right_width(survey):
    unpublished = both_paths(survey)
    assert unpublished.codes == [] and unpublished.importance.shape == (0, 0)

    version = add_version(survey, ["A", "B", "C"])
    assert both_paths(survey).importance.shape == (0, 3)

    store(version, "r1", [1, 2, 3, 4, 5, 1], status=ResponseStatus.IN_PROGRESS)
    for responses in (None, Response.objects.none(), Response.objects.filter(pk__in=[])):
        matrix = both_paths(survey, responses=responses)
        assert matrix.importance.shape == matrix.satisfaction.shape == (0, 3)
        assert matrix.respondent_ids == [] and matrix.response_ids.tolist() == []


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the fast path runs on PostgreSQL only"
)
def test_on_postgresql_the_fast_path_reads_all_versions_with_one_logged_statement(survey):
    for i, codes in enumerate((["A", "B"], ["B", "C"], ["C"])):
        store(add_version(survey, codes), f"r{i}", [3] * (2 * len(codes)))

    def statements_reading_responses(path: str) -> int:
        with CaptureQueriesContext(connection) as queries:
            ratings.load_matrix(survey, path=path)
        return sum('FROM "surveys_response"' in q["sql"] for q in queries.captured_queries)

    assert statements_reading_responses("fast") == 1
    assert statements_reading_responses("reference") == 3


CODE_POOL = ["A", "B", "C", "D", "E"]
version_codes = st.lists(st.sampled_from(CODE_POOL), min_size=1, max_size=4, unique=True)
response_kinds = st.sampled_from(["analysable", "unfinished", "flagged", "kept"])


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data(), versions=st.lists(version_codes, min_size=1, max_size=3))
def test_both_paths_agree_with_the_stored_rows_for_any_versions_and_ratings(survey, data, versions):
    with transaction.atomic():  # each example's rows go again at its end
        expected: list[tuple[str, dict[str, tuple[int, int]]]] = []
        for number, codes in enumerate(versions, start=1):
            version = add_version(survey, codes)
            k = len(codes)
            rows = data.draw(
                st.lists(
                    st.tuples(response_kinds, st.lists(st.integers(0, 7), min_size=2 * k)),
                    max_size=4,
                )
            )
            for j, (kind, values) in enumerate(rows):
                packed, rid = values[: 2 * k], f"v{number}-{j}"
                store(
                    version,
                    rid,
                    packed,
                    status=ResponseStatus.IN_PROGRESS
                    if kind == "unfinished"
                    else ResponseStatus.COMPLETED,
                    flags=["speeder"] if kind in ("flagged", "kept") else [],
                    include=True if kind == "kept" else None,
                )
                if kind in ("analysable", "kept"):
                    as_rated = [v if 1 <= v <= 5 else 0 for v in packed]
                    pairs = zip(as_rated[:k], as_rated[k:], strict=True)
                    expected.append((rid, dict(zip(codes, pairs, strict=True))))

        matrix = both_paths(survey)

        # The current (last) version's codes, then the others' in version order.
        columns = list(dict.fromkeys([*versions[-1], *(c for codes in versions for c in codes)]))
        assert matrix.codes == columns
        assert matrix.respondent_ids == [rid for rid, _ in expected]
        for i, (_, answers) in enumerate(expected):
            for j, code in enumerate(columns):
                imp, sat = answers.get(code, (0, 0))
                assert (matrix.importance[i, j], matrix.satisfaction[i, j]) == (imp, sat)
        transaction.set_rollback(True)
