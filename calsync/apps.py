from django.apps import AppConfig
from django.contrib.admin.apps import SimpleAdminConfig


class CalsyncConfig(AppConfig):
    """Wiring only: registers the system checks. No models live here."""

    name = "calsync"

    def ready(self) -> None:
        from calsync import checks  # noqa: F401  (registers the checks)


class CalsyncAdminConfig(SimpleAdminConfig):
    """The admin with calsync's site (branding, sections); like SimpleAdminConfig, it does not
    autodiscover at start-up: calsync/urls.py does, so a command-line sync loads no admin module."""

    default_site = "calsync.admin_site.CalsyncAdminSite"
