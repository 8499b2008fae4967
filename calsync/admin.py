"""Library admin pages nobody running calsync needs, taken out of the admin.

Imported by ``admin.autodiscover()`` after django_celery_beat's admin (calsync comes later in
INSTALLED_APPS). Schedules are intervals or crontabs; solar and one-off clocked schedules only
made the index longer. Periodic tasks, intervals and crontabs stay, under System.
"""

from django.contrib import admin
from django_celery_beat.models import ClockedSchedule, SolarSchedule

for model in (ClockedSchedule, SolarSchedule):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
