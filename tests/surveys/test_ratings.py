"""The packed ratings codec: one byte string per response, joined across versions by code."""

from __future__ import annotations

import numpy as np
import pytest

from jtbd.models import JobStep
from surveys import ratings, services
from surveys.models import Response, ResponseStatus
from tests.factories import add_outcomes


def test_encode_packs_importance_then_satisfaction_with_zero_for_unanswered():
    assert ratings.encode([5, None, 1], [2, 3, None]) == bytes([5, 0, 1, 2, 3, 0])


def test_encode_decode_round_trip():
    rng = np.random.default_rng(7)
    for k in (1, 2, 17, 100):
        imp = rng.integers(0, 6, k)
        sat = rng.integers(0, 6, k)
        blob = ratings.encode([int(v) or None for v in imp], [int(v) or None for v in sat])
        assert len(blob) == 2 * k
        got_imp, got_sat = ratings.decode(blob, k)
        assert got_imp.dtype == np.uint8
        np.testing.assert_array_equal(got_imp, imp)
        np.testing.assert_array_equal(got_sat, sat)


def test_empty_survey_encodes_to_empty_bytes():
    assert ratings.encode([], []) == b""
    imp, sat = ratings.decode(b"", 0)
    assert imp.size == sat.size == 0


def test_decode_accepts_memoryview_as_the_database_returns_it():
    imp, sat = ratings.decode(memoryview(bytes([1, 2, 3, 4])), 2)
    assert imp.tolist() == [1, 2]
    assert sat.tolist() == [3, 4]


def test_encode_refuses_sequences_of_different_lengths():
    with pytest.raises(ValueError, match="same length"):
        ratings.encode([1, 2], [3])


@pytest.mark.parametrize("bad", [8, -1, 255, 256])
def test_encode_refuses_values_outside_one_to_five_and_the_missing_codes(bad):
    with pytest.raises(ValueError, match="1–5"):
        ratings.encode([bad], [3])
    with pytest.raises(ValueError, match="1–5"):
        ratings.encode([3], [bad])


@pytest.mark.parametrize(("blob", "k"), [(b"\x01\x02\x03", 2), (b"\x01\x02", 2), (b"", 1)])
def test_decode_refuses_a_blob_of_the_wrong_length(blob, k):
    with pytest.raises(ValueError, match=f"expected {2 * k} bytes"):
        ratings.decode(blob, k)


def test_answers_by_code_round_trip_in_the_order_of_the_codes():
    codes = ["O1", "O2", "O3"]
    blob = ratings.encode_answers(codes, {"O3": (5, 1), "O1": (2, None)})
    assert blob == bytes([2, 0, 5, 0, 0, 1])
    assert ratings.decode_answers(blob, codes) == {
        "O1": (2, None),
        "O2": (None, None),
        "O3": (5, 1),
    }


def test_encode_arrays_matches_encode_row_by_row():
    rng = np.random.default_rng(3)
    imp = rng.integers(0, 6, (20, 7)).astype(np.uint8)
    sat = rng.integers(0, 6, (20, 7)).astype(np.uint8)
    blobs = ratings.encode_arrays(imp, sat)
    assert len(blobs) == 20
    for i, blob in enumerate(blobs):
        expected = ratings.encode(
            [int(v) or None for v in imp[i]], [int(v) or None for v in sat[i]]
        )
        assert blob == expected


def test_assemble_joins_versions_by_code_and_fills_missing_codes_with_zero():
    v1 = (["A", "B", "C"], [10, 11], ["r10", "r11"], [bytes([1, 2, 3, 4, 5, 1]), bytes(6)])
    # Version 2 dropped B, reordered, and added D.
    v2 = (["D", "C", "A"], [12], ["r12"], [bytes([5, 4, 3, 1, 2, 3])])
    matrix = ratings.assemble(["A", "B", "C", "D"], [v1, v2])
    assert matrix.codes == ["A", "B", "C", "D"]
    assert matrix.respondent_ids == ["r10", "r11", "r12"]
    assert matrix.response_ids.tolist() == [10, 11, 12]
    assert matrix.importance.tolist() == [[1, 2, 3, 0], [0, 0, 0, 0], [3, 0, 4, 5]]
    assert matrix.satisfaction.tolist() == [[4, 5, 1, 0], [0, 0, 0, 0], [3, 0, 2, 1]]
    assert matrix.importance.dtype == np.uint8


def test_assemble_drops_codes_not_asked_for_and_skips_empty_groups():
    groups = [(["A", "B"], [1], ["r1"], [bytes([1, 2, 3, 4])]), (["A"], [], [], [])]
    matrix = ratings.assemble(["B"], groups)
    assert matrix.importance.tolist() == [[2]]
    assert matrix.satisfaction.tolist() == [[4]]


def test_assemble_of_nothing_is_an_empty_matrix_of_the_right_width():
    matrix = ratings.assemble(["A", "B"], [])
    assert matrix.importance.shape == matrix.satisfaction.shape == (0, 2)
    assert matrix.respondent_ids == []


@pytest.mark.django_db
def test_load_matrix_reads_completed_rows_of_every_version_joined_by_code(workspace, job):
    survey = services.create_survey(workspace=workspace, job=job, title="S")
    v1 = services.publish_survey(survey=survey)
    codes1 = v1.outcome_codes
    assert len(codes1) == 3

    def store(version, rid, imp, sat, status=ResponseStatus.COMPLETED):
        return Response.objects.create(
            survey=survey,
            version=version,
            respondent_id=rid,
            status=status,
            ratings=ratings.encode(imp, sat),
        )

    a = store(v1, "a", [1, 2, 3], [5, 4, 3])
    store(v1, "unfinished", [1, 1, 1], [1, 1, 1], status=ResponseStatus.IN_PROGRESS)
    # Version 2: the first outcome is no longer asked, a new one (on another step) is.
    other = JobStep.objects.filter(job=job).order_by("-order").first()
    (new,) = add_outcomes(job, ["Minimize the likelihood of missing a deadline"], step=other)
    kept = list(job.outcomes.filter(code__in=codes1[1:]))
    services.set_outcomes(survey=survey, outcomes=[*kept, new])
    v2 = services.publish_survey(survey=survey)
    codes2 = v2.outcome_codes
    assert v2.number == 2
    assert sorted(codes2) == sorted([*codes1[1:], new.code])
    imp2 = {c: i + 1 for i, c in enumerate(codes2)}
    b = store(v2, "b", [imp2[c] for c in codes2], [None] * len(codes2))

    survey.refresh_from_db()  # publish_survey works on its own copy of the row
    matrix = ratings.load_matrix(survey)
    assert matrix.respondent_ids == ["a", "b"]
    assert matrix.response_ids.tolist() == [a.pk, b.pk]
    # The current version's codes first, then an older version's codes no longer asked.
    assert matrix.codes == [*codes2, codes1[0]]
    zeros = dict.fromkeys(matrix.codes, 0)
    row_a = dict(zip(matrix.codes, matrix.importance[0].tolist(), strict=True))
    assert row_a == {**zeros, **dict(zip(codes1, [1, 2, 3], strict=True))}
    sat_a = dict(zip(matrix.codes, matrix.satisfaction[0].tolist(), strict=True))
    assert sat_a == {**zeros, **dict(zip(codes1, [5, 4, 3], strict=True))}
    row_b = dict(zip(matrix.codes, matrix.importance[1].tolist(), strict=True))
    assert row_b == {**zeros, **imp2}
    assert matrix.satisfaction[1].tolist() == [0] * len(matrix.codes)

    narrowed = ratings.load_matrix(survey, codes=[codes1[0], new.code])
    assert narrowed.importance.tolist() == [[1, 0], [0, imp2[new.code]]]


@pytest.mark.django_db
def test_load_matrix_leaves_out_flagged_responses_unless_included_by_hand(workspace, job):
    survey = services.create_survey(workspace=workspace, job=job, title="S")
    version = services.publish_survey(survey=survey)
    blob = ratings.encode([3, 3, 3], [3, 3, 3])
    for rid, flags, override in [
        ("clean", [], None),
        ("flagged", ["speeder"], None),
        ("kept", ["speeder"], True),
        ("dropped", [], False),
    ]:
        Response.objects.create(
            survey=survey,
            version=version,
            respondent_id=rid,
            status=ResponseStatus.COMPLETED,
            ratings=blob,
            flags=flags,
            include_override=override,
        )
    assert ratings.load_matrix(survey).respondent_ids == ["clean", "kept"]


def test_the_missing_codes_are_kept_in_storage_and_are_no_rating_in_the_matrix():
    blob = ratings.encode(
        [4, ratings.NOT_APPLICABLE, ratings.NOT_SHOWN], [2, None, ratings.NOT_SHOWN]
    )
    groups = [(["A", "B", "C"], [1], ["r1"], [blob])]
    matrix = ratings.assemble(["A", "B", "C"], groups)
    assert matrix.importance.tolist() == [[4, 0, 0]] and matrix.satisfaction.tolist() == [[2, 0, 0]]
    kept = ratings.assemble(["A", "B", "C"], groups, codes_kept=True)
    assert kept.importance.tolist() == [[4, 6, 7]] and kept.satisfaction.tolist() == [[2, 0, 7]]
