from django.urls import re_path

from jobs.timesheets.views import GdprExportView, GdprPurgeView, ZammadWebhookView

urlpatterns = [
    re_path(r"^webhooks/zammad/(?P<token>[\w-]+)/?$", ZammadWebhookView.as_view(), name="zammad-webhook"),
    re_path(r"^gdpr/export/?$", GdprExportView.as_view(), name="gdpr-export"),
    re_path(r"^gdpr/purge/?$", GdprPurgeView.as_view(), name="gdpr-purge"),
]
