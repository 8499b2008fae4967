from django.urls import re_path

from jobs.timesheets.views import ZammadWebhookView

urlpatterns = [
    re_path(r"^webhooks/zammad/(?P<token>[\w-]+)/?$", ZammadWebhookView.as_view(), name="zammad-webhook"),
]
