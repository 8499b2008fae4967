"""A command-line sync loads what it uses: no admin modules, no URLconf, no views."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from django.conf import settings

PROBE = """
import json, sys
from django.core.management import execute_from_command_line
try:
    execute_from_command_line(["manage.py", "sync_accounts", "--source", "nobody", "--destination", "nowhere"])
except SystemExit:
    pass
ours = [name for name in sys.modules if name.split(".")[0] in ("calsync", "accounts", "jobs", "booking", "feeds")]
print(json.dumps(sorted(n for n in ours if n.endswith((".admin", ".views", ".urls")) or ".views." in n)))
"""


def test_sync_accounts_imports_no_admin_views_or_urlconf(tmp_path):
    env = {
        **os.environ,
        "CALSYNC_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "calsync.settings",
    }
    env.pop("DATABASE_URL", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=settings.BASE_DIR, env=env, check=True)

    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, check=True
    )

    assert "no account named" in result.stderr.lower() or "nobody" in result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
