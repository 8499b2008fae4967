"""Move API tokens from rest_framework.authtoken (plain text) to django-rest-knox (hashed).

Each existing token is kept working: its knox row holds the SHA-512 digest of the same key and the
first 15 characters as the lookup prefix, exactly what knox computes when a client presents it.
Then the plain-text rows are deleted and their table dropped, so no key is left readable in the
database file; the authtoken app is no longer installed.
"""

from django.db import migrations

OLD_TABLE = "authtoken_token"


def hash_existing_tokens(apps, schema_editor):
    from knox.crypto import hash_token
    from knox.settings import CONSTANTS

    connection = schema_editor.connection
    if OLD_TABLE not in connection.introspection.table_names():
        return
    AuthToken = apps.get_model("knox", "AuthToken")
    with connection.cursor() as cursor:
        cursor.execute("SELECT key, user_id, created FROM authtoken_token")
        rows = cursor.fetchall()
    for key, user_id, created in rows:
        token = AuthToken.objects.create(
            digest=hash_token(key), token_key=key[: CONSTANTS.TOKEN_KEY_LENGTH], user_id=user_id, expiry=None
        )
        # auto_now_add set "now"; keep the token's real age for the admin list.
        AuthToken.objects.filter(pk=token.pk).update(created=created)
    schema_editor.execute("DELETE FROM authtoken_token")
    schema_editor.execute("DROP TABLE authtoken_token")
    schema_editor.execute("DELETE FROM django_migrations WHERE app = 'authtoken'")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_collection_item_count"),
        ("knox", "0009_extend_authtoken_field"),
    ]

    operations = [migrations.RunPython(hash_existing_tokens, migrations.RunPython.noop)]
