"""INSERT statements written by hand for the few rows stored on every respondent's submission.

Compiling a statement through the ORM costs more CPU than the database needs to run it; on the
submission path that decides how many respondents a server takes. The statements are still
built from the models' own field definitions (columns, defaults, `auto_now_add`, JSON
adaptation), so they follow every migration.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from django.db import connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.fields import NOT_PROVIDED


@dataclass(frozen=True)
class Insert:
    """One row's INSERT in parts, to use whole (`sql`) or inside a larger statement."""

    table: str
    columns: str  # quoted, comma-separated
    placeholders: str  # "%s, %s, …", one per column
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
    quote = connections[alias].ops.quote_name
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
        ", ".join(["%s"] * len(fields)),
    )


def mark_saved(obj: models.Model, pk: int, using: str) -> None:
    """Make `obj` what `save()` leaves behind: its new primary key, and known to be stored (a
    later `save()` updates instead of inserting again)."""
    obj.pk = pk
    obj._state.adding = False
    obj._state.db = using
