from django.apps import AppConfig


class BulkConfig(AppConfig):
    """Bulk migrations: a whole organisation's mailboxes from one server to another (issue 17)."""

    name = "jobs.bulk"
    label = "bulk"
    verbose_name = "Bulk migrations"

    def ready(self) -> None:
        from calsync.ops.gdpr import gdpr_source_register
        from jobs.bulk import gdpr
        from jobs.bulk.slicing import slice_task_for_members
        from jobs.runs import run_task_chooser_register

        run_task_chooser_register(slice_task_for_members)
        gdpr_source_register("bulk_migrations", export=gdpr.export, purge=gdpr.purge)
