"""Migration operations that exist on PostgreSQL only.

The double-booking exclusion constraint needs ``btree_gist`` and range types; SQLite has neither
and serialises writers instead (``transaction_mode=IMMEDIATE``). The migration state holds the
constraint on every vendor, so ``makemigrations`` stays quiet; only the SQL is skipped.
"""

from __future__ import annotations

from django.db import migrations


class AddConstraintOnPostgres(migrations.AddConstraint):
    def database_forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
