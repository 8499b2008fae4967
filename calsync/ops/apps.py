from django.apps import AppConfig


class OpsConfig(AppConfig):
    """The ground floor every app may use: audit, GDPR, health, heartbeats, the project commands.

    It imports no app: apps register their audited models and their GDPR contributions from their
    own ``AppConfig.ready()``.
    """

    name = "calsync.ops"
    label = "ops"
    verbose_name = "Operations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from calsync.ops import audit  # noqa: F401  (registers the audit purge task)
