"""Trigram indexes for search (mail.search): `~*` on these columns walks an index
instead of reading every message. PostgreSQL only (pg_trgm, a trusted extension the
database's owner may create); on SQLite, the embedded default, nothing happens."""

from django.db import migrations

COLUMNS = [
    ("mail_message", "subject"),
    ("mail_message", "sender"),
    ("mail_message", "to"),
    ("mail_message", "cc"),
    ("mail_message", "bcc"),
    ("mail_message", "body_text"),
    ("mail_attachment", "filename"),
]


def _index(table, column):
    return f"{table}_{column}_trgm"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for table, column in COLUMNS:
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{_index(table, column)}" '
            f'ON "{table}" USING gin ("{column}" gin_trgm_ops)'
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, column in COLUMNS:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{_index(table, column)}"')


class Migration(migrations.Migration):
    dependencies = [("mail", "0016_threadlabel_unread_index")]

    operations = [migrations.RunPython(create, drop)]
