from django.apps import AppConfig


class BulkConfig(AppConfig):
    """Bulk migrations: a whole organisation's mailboxes from one server to another (issue 17)."""

    name = "jobs.bulk"
    label = "bulk"
    verbose_name = "Bulk migrations"
