from django.apps import AppConfig


class DavConfig(AppConfig):
    name = "feeds.dav"
    label = "dav"
    verbose_name = "CalDAV server"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from feeds.dav import signals  # noqa: F401  (connects the appointment tombstones)
