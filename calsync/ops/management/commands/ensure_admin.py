"""Create the first admin account, so a fresh install can be logged into at once."""

from __future__ import annotations

import os
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError, transaction

from calsync.env import env_raw

USERNAME = "admin"


class Command(BaseCommand):
    help = (
        "Create the superuser 'admin' if no superuser exists. The password comes from "
        "CALSYNC_ADMIN_PASSWORD (or CALSYNC_ADMIN_PASSWORD_FILE); otherwise one is generated and "
        "printed once. Does nothing when a superuser exists."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        if User.objects.filter(is_superuser=True).exists():
            self.stdout.write("ensure_admin: a superuser exists; nothing to do.")
            return
        if User.objects.filter(username=USERNAME).exists():
            # Promoting an existing ordinary account would hand it every permission silently.
            raise CommandError(
                f"A user named {USERNAME!r} exists but is not a superuser. Promote it or create a "
                "superuser with 'manage.py createsuperuser'."
            )

        given = env_raw("CALSYNC_ADMIN_PASSWORD") or None
        password = given or secrets.token_urlsafe(15)
        try:
            with transaction.atomic():
                User.objects.create_superuser(username=USERNAME, email="", password=password)
        except IntegrityError:
            # web replicas started together: another one created it a moment ago.
            self.stdout.write("ensure_admin: the admin account was created by another process.")
            return

        login_url = f"http://localhost:{os.environ.get('PORT') or 8000}/admin/"
        if given:
            # Never echo a password from the environment: it would end up in logs.
            self.stdout.write(
                self.style.SUCCESS(
                    f"ensure_admin: created superuser {USERNAME!r} with the password from "
                    f"CALSYNC_ADMIN_PASSWORD. Log in at {login_url}"
                )
            )
            return
        rule = "=" * 64
        self.stdout.write(
            "\n".join(
                [
                    rule,
                    "  calsync admin account created",
                    f"    log in at:  {login_url}",
                    f"    user:       {USERNAME}",
                    f"    password:   {password}",
                    "  It is shown only this once; change it in the admin.",
                    rule,
                ]
            )
        )
