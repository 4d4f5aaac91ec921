"""The fast path of `surveys.ratings.load_matrix`, on PostgreSQL with psycopg 3.

Loading the matrix was the slow part of plain scoring: the reference path (one ORM
`values_list` query per version, every row's blob joined in Python) took about twice as long
as merely fetching the same ratings. This path reads every version's rows with one statement
and takes the results in PostgreSQL's binary format:

- bytea arrives as the bytes themselves, not as hex text that psycopg decodes: fetching the
  ratings alone this way takes about 0.6× the time of Django's cursor (bench_analysis.py);
- one statement ordered by (version, id) scans the survey's rows once and reads them in one
  snapshot; a cut at each change of version splits them into the versions' blocks;
- each version's blobs are joined once and read by numpy in place (`np.frombuffer`).

The statement is the queryset's own SQL, compiled by the ORM with its parameters written in
exactly as Django's client-side cursor writes them, so a `responses=` queryset narrows it as it
narrows the ORM's queries. It runs on Django's cursor wrapper (query logging, execute wrappers,
database errors as Django's) around a psycopg cursor asking for binary results. Other
databases, and psycopg 2, take the reference path; tests/surveys/test_load_matrix_paths.py
holds the two equal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from itertools import pairwise
from typing import TYPE_CHECKING, Any

import numpy as np
from django.core.exceptions import EmptyResultSet
from django.db import connections

from surveys.ratings import VersionBlock

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from surveys.models import Response


def available(alias: str) -> bool:
    """Whether the database behind `alias` can take this path."""
    if connections[alias].vendor != "postgresql":
        return False
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    return bool(is_psycopg3)


def read_blocks(
    responses: QuerySet[Response], versions: Mapping[int, Sequence[str]]
) -> list[VersionBlock]:
    """The rows of `responses` in `versions` (id → outcome codes, in version order), one block
    per version that has any, in that order; rows by response id within a version."""
    if not versions:
        return []
    rows = (
        responses.filter(version_id__in=list(versions))
        .order_by("version_id", "id")
        .values_list("version_id", "id", "respondent_id", "ratings")
    )
    try:
        fetched = _fetch_binary(rows)
    except EmptyResultSet:  # the ORM's "no row can match" (`.none()`, `id__in=[]`)
        return []
    count = len(fetched)
    if not count:
        return []
    version_ids = np.fromiter((row[0] for row in fetched), dtype=np.int64, count=count)
    response_ids = np.fromiter((row[1] for row in fetched), dtype=np.int64, count=count)
    respondent_ids = [row[2] for row in fetched]
    blobs = [row[3] for row in fetched]
    del fetched
    # Rows come ordered by version: each change of version starts the next block.
    cuts = [0, *(np.flatnonzero(np.diff(version_ids)) + 1).tolist(), count]
    by_version: dict[int, VersionBlock] = {}
    for start, stop in pairwise(cuts):
        version_id = int(version_ids[start])
        codes = versions[version_id]
        data = np.frombuffer(b"".join(blobs[start:stop]), dtype=np.uint8)
        by_version[version_id] = VersionBlock(
            codes=codes,
            response_ids=response_ids[start:stop],
            respondent_ids=respondent_ids[start:stop],
            ratings=data.reshape(stop - start, 2 * len(codes)),
        )
    return [by_version[v] for v in versions if v in by_version]


def _fetch_binary(rows: QuerySet[Any]) -> list[tuple[Any, ...]]:
    """All rows of a queryset, fetched with binary results. Raises EmptyResultSet."""
    import psycopg

    connection = connections[rows.db]
    sql, params = rows.query.get_compiler(using=rows.db).as_sql()
    # What `connection.cursor()` does (BaseDatabaseWrapper._cursor), with a cursor class of
    # our own: Django's cursors bind parameters on the client, and psycopg refuses binary
    # results to those. The parameters are written into the statement by the same client-side
    # quoting, so the database receives the statement Django would send.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        statement = psycopg.ClientCursor(connection.connection).mogrify(sql, params)
        # Django's internals, not in django-stubs (the call BaseDatabaseWrapper._cursor makes).
        cursor = connection._prepare_cursor(  # type: ignore[attr-defined]
            _binary_results_cursor()(connection.connection)
        )
    with cursor:
        cursor.execute(statement)
        return cursor.fetchall()


@cache
def _binary_results_cursor() -> type:
    import psycopg

    class BinaryResultsCursor(psycopg.Cursor):
        """Asks for binary results and never prepares: with DB_PREPARED_STATEMENTS on, the
        connection prepares every statement a server-binding cursor runs, and each of these
        carries its own literals, so a prepared one would not be run again."""

        def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
            return super().execute(query, params, prepare=False, binary=True)

    return BinaryResultsCursor
