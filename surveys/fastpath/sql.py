"""INSERT statements written by hand for the few rows stored on every respondent's submission.

Compiling a statement through the ORM costs more CPU than the database needs to run it; on the
submission path that decides how many respondents a server takes. The statements are still
built from the models' own field definitions (columns, defaults, `auto_now_add`, JSON
adaptation), so they follow every migration.

On PostgreSQL they run on a `prepared_cursor`: planning the submission's statement cost
PostgreSQL more than running it, and a statement prepared on a connection is parsed once there
and, after its first few runs, no longer planned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.db import connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.fields import NOT_PROVIDED


@dataclass(frozen=True)
class Insert:
    """One row's INSERT in parts, to use whole (`sql`) or inside a larger statement."""

    table: str
    columns: str  # quoted, comma-separated
    placeholders: str  # "%s, %s, …", one per column (cast on PostgreSQL: "%s::bigint, …")
    params: list

    @property
    def sql(self) -> str:
        return f"INSERT INTO {self.table} ({self.columns}) VALUES ({self.placeholders})"

    def where(self, condition: str) -> str:
        """The INSERT of the row only where an SQL `condition` holds (else of nothing); the
        condition's parameters follow the row's."""
        return (
            f"INSERT INTO {self.table} ({self.columns}) "
            f"SELECT {self.placeholders} WHERE {condition}"
        )


def insert_of(obj: models.Model, connection: BaseDatabaseWrapper) -> Insert:
    """The INSERT that `obj.save()` would run for a new row with an automatic primary key: every
    other concrete field, its value prepared by the field (`pre_save` sets `auto_now_add` values
    on `obj`, as saving does)."""
    table, fields, columns, placeholders = _statement_parts(type(obj), connection.alias)
    return Insert(
        table=table,
        columns=columns,
        placeholders=placeholders,
        params=[f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields],
    )


@cache
def _statement_parts(
    model: type[models.Model], alias: str
) -> tuple[str, tuple[models.Field, ...], str, str]:
    """What does not change between rows: read once per model and database."""
    connection = connections[alias]
    quote = connection.ops.quote_name
    fields = tuple(f for f in model._meta.concrete_fields if not f.primary_key)
    # Values the database computes are not written by the ORM either; this module would send
    # the expression itself. None of the models stored this way has one.
    computed = [f.name for f in fields if f.generated or f.db_default is not NOT_PROVIDED]
    if computed:
        raise TypeError(f"{model.__name__}: database-computed fields {computed} are not supported")
    return (
        quote(model._meta.db_table),
        fields,
        ", ".join(quote(f.column) for f in fields),
        ", ".join(_placeholder(f, connection) for f in fields),
    )


def _placeholder(field: models.Field, connection: BaseDatabaseWrapper) -> str:
    """`%s`, cast to the column's type on PostgreSQL, where `prepared_cursor` sends every value
    as untyped text: the cast gives it its type, and reads it with that type's own rules (an
    out-of-range number or a malformed value is refused, as storing it through the ORM is).
    `varchar(n)` is cast to `varchar`: a cast to the length would cut a long value short, while
    the column itself refuses it. Other types with a modifier (`char(n)`, `numeric(p, s)`) would
    change the value in the cast and are not supported; none of these models has one."""
    if connection.vendor != "postgresql":
        return "%s"
    db_type = field.db_type(connection)
    if db_type is None:  # a field with no column of its own (none of these models has one)
        raise TypeError(f"{field}: has no column type")
    db_type = re.sub(r"^varchar\(\d+\)$", "varchar", db_type)
    if "(" in db_type:
        raise TypeError(f"{field}: a column of type {db_type} is not supported")
    return f"%s::{db_type}"


def prepared_cursor(connection: BaseDatabaseWrapper) -> Any:
    """A cursor (Django's wrapper, as `connection.cursor()` returns) for the statements run on
    every submission. On PostgreSQL, unless DB_PREPARED_STATEMENTS is off, each statement is
    prepared on its first run on a connection: PostgreSQL parses it once per connection and,
    after its first few runs, reuses one plan instead of planning every run (prepared again
    after a rollback on that connection, when psycopg forgets what it prepared). Django's
    other cursors never prepare. Elsewhere, or with preparing off, the same statements run on
    Django's own cursor, unprepared."""
    if (
        connection.vendor != "postgresql"
        or connection.settings_dict["OPTIONS"].get("prepare_threshold") is None
    ):
        return connection.cursor()
    # What `connection.cursor()` does (BaseDatabaseWrapper._cursor), with our own cursor class.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        # Django's internals, not in django-stubs (the same call BaseDatabaseWrapper._cursor makes).
        return connection._prepare_cursor(  # type: ignore[attr-defined]
            _text_parameters_cursor()(connection.connection)
        )


@cache
def _text_parameters_cursor() -> type:
    # ServerBindingCursor is defined only where psycopg 3 is installed: django-stubs omits it.
    from django.db.backends.postgresql.base import ServerBindingCursor  # type: ignore[attr-defined]
    from psycopg import Binary
    from psycopg.abc import Transformer as TransformerType  # the protocol both kinds implement
    from psycopg.adapt import PyFormat, Transformer

    class TextParametersCursor(ServerBindingCursor):
        """Binds on the server (which can prepare) and sends every parameter as untyped text,
        written by psycopg's own adapters; the statement's casts give the types. Typed values
        would make a statement per combination of NULL and non-NULL values and of integer
        sizes (psycopg prepares per parameter types), and psycopg packs Django's Int4 and
        Int2 values into four or two bytes without checking that they fit."""

        def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
            if params is not None:
                if not isinstance(params, list | tuple):
                    raise TypeError("positional parameters (%s) only")
                tx = Transformer(self)
                params = [_as_text(v, tx) for v in params]
            return super().execute(query, params, **kwargs)

    def _as_text(value: Any, tx: TransformerType) -> str | None:
        if value is None or type(value) is str:
            return value
        if isinstance(value, Binary | bytes | bytearray | memoryview):
            # bytea's hex input, written here: psycopg's text form of bytes is escaped for a
            # quoted literal, which doubles the backslash when standard_conforming_strings
            # is off, and would then be stored as the characters themselves.
            raw: Any = value.obj if isinstance(value, Binary) else value  # Binary holds any buffer
            return "\\x" + bytes(raw).hex()
        text = tx.get_dumper(value, PyFormat.TEXT).dump(value)
        assert text is not None  # a dumper gives None only for None, answered above
        return bytes(text).decode()

    return TextParametersCursor


def mark_saved(obj: models.Model, pk: int, using: str) -> None:
    """Make `obj` what `save()` leaves behind: its new primary key, and known to be stored (a
    later `save()` updates instead of inserting again)."""
    obj.pk = pk
    obj._state.adding = False
    obj._state.db = using
