from django.apps import AppConfig


class TimesheetsConfig(AppConfig):
    name = "jobs.timesheets"
    label = "timesheets"
    verbose_name = "Time sheets"
