from django.apps import AppConfig


class CalsyncConfig(AppConfig):
    """Wiring only: registers the system checks. No models live here."""

    name = "calsync"

    def ready(self) -> None:
        from calsync import checks  # noqa: F401  (registers the checks)
