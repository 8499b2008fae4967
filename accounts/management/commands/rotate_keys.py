"""Re-encrypt every stored secret with the newest key in settings.FERNET_KEYS.

Rotation: prepend a new key to CALSYNC_ENCRYPTION_KEYS (old keys still decrypt), restart, run
this command, then drop the old key.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.services import UndecryptableValue, encryption_keys_rotate


class Command(BaseCommand):
    help = "Re-encrypt every encrypted value with the newest key in settings.FERNET_KEYS."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500, help="Rows per transaction (default 500).")

    def handle(self, *args: Any, batch_size: int, **options: Any) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        try:
            counts = encryption_keys_rotate(batch_size=batch_size)
        except UndecryptableValue as exc:
            raise CommandError(str(exc)) from None
        for count in counts:
            self.stdout.write(f"{count.label}: {count.values} values in {count.rows} rows ({', '.join(count.fields)})")
        values = sum(count.values for count in counts)
        rows = sum(count.rows for count in counts)
        self.stdout.write(
            self.style.SUCCESS(
                f"Re-encrypted {values} values in {rows} rows of {len(counts)} models "
                f"with the newest of {len(settings.FERNET_KEYS)} keys."
            )
        )
