"""Migration operations that exist on PostgreSQL only.

The double-booking exclusion constraint needs ``btree_gist`` and range types; SQLite has neither
and serialises writers instead (``transaction_mode=IMMEDIATE``). The migration state holds the
constraint on every vendor, so ``makemigrations`` stays quiet; only the SQL is skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.contrib.postgres.constraints import ExclusionConstraint
from django.db import migrations


class AddConstraintOnPostgres(migrations.AddConstraint):
    def database_forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


@contextmanager
def _postgres_only_constraints_hidden(*states: Any) -> Iterator[None]:
    saved = []
    for state in states:
        for model in state.apps.get_models():
            constraints = model._meta.constraints
            kept = [c for c in constraints if not isinstance(c, ExclusionConstraint)]
            if len(kept) != len(constraints):
                saved.append((model._meta, constraints))
                model._meta.constraints = kept
    try:
        yield
    finally:
        for meta, constraints in saved:
            meta.constraints = constraints


class AddFieldOutsidePostgresWithoutItsConstraints(migrations.AddField):
    """AddField, for a table that holds a PostgreSQL-only constraint in the migration state.

    SQLite adds a NOT NULL column by rebuilding the table from the state, which would emit the
    exclusion constraint's SQL there; the rebuild is done without it (it never existed there).
    """

    def database_forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if schema_editor.connection.vendor == "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        with _postgres_only_constraints_hidden(from_state, to_state):
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if schema_editor.connection.vendor == "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        with _postgres_only_constraints_hidden(from_state, to_state):
            super().database_backwards(app_label, schema_editor, from_state, to_state)
