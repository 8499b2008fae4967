from django.apps import AppConfig


class TimesheetsConfig(AppConfig):
    name = "jobs.timesheets"
    label = "timesheets"
    verbose_name = "Time sheets"

    def ready(self) -> None:
        from jobs.timesheets.webhook import webhook_followup_connect

        webhook_followup_connect()
