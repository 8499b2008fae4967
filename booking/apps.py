from django.apps import AppConfig


class BookingConfig(AppConfig):
    name = "booking"
    verbose_name = "Booking"

    def ready(self) -> None:
        from booking import gdpr
        from calsync.ops.gdpr import gdpr_source_register

        gdpr_source_register("booking", export=gdpr.export, purge=gdpr.purge)
