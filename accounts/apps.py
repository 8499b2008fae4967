from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from accounts import gdpr
        from accounts.lockout import connect_signals
        from accounts.models import Account
        from calsync.ops.audit import audit_track
        from calsync.ops.gdpr import gdpr_source_register

        connect_signals()
        audit_track(Account)
        gdpr_source_register("accounts", export=gdpr.export, purge=gdpr.purge, nested=False)
