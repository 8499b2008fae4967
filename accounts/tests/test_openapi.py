from __future__ import annotations

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

# SpectacularAPIView answers YAML unless JSON is asked for, whatever the URL's suffix.
JSON = "application/vnd.oai.openapi+json"


def test_the_schema_lists_the_account_and_health_paths(admin_user):
    client = APIClient()
    client.force_authenticate(admin_user)

    response = client.get("/api/openapi.json", HTTP_ACCEPT=JSON)

    assert response.status_code == 200
    paths = {path.rstrip("/") for path in response.json()["paths"]}
    assert {
        "/api/accounts",
        "/api/accounts/{id}",
        "/api/accounts/{id}/test",
        "/api/accounts/{id}/collections",
        "/api/health",
        "/api/health/detailed",
    } <= paths


def test_the_schema_marks_the_password_write_only(admin_user):
    client = APIClient()
    client.force_authenticate(admin_user)

    schemas = client.get("/api/openapi.json", HTTP_ACCEPT=JSON).json()["components"]["schemas"]

    assert schemas["Account"]["properties"]["password"]["writeOnly"] is True
    assert schemas["PatchedAccount"]["properties"]["password"]["writeOnly"] is True


def test_the_schema_generates_without_warnings_or_errors(tmp_path, capsys):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))

    assert "Warning" not in capsys.readouterr().err
