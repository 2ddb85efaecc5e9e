"""Full-text search for search's free words (mail.search.MessageWords, FileWords).

Each message gets a stored, generated column `words`: its words (subject, people, body)
as a tsvector, with a GIN index. It is stored, not an expression index alone, because
a search that walks the newest threads checks messages one by one, and reading a
stored tsvector is a hundred times cheaper than making one from the body each time.
Django's model does not declare it: no page loads it, PostgreSQL fills it in on every
write, and mail.search reads it by name. File names get an expression index.

Adding a stored column rewrites mail_message once, under a lock (seconds per 100k
messages); the indexes are built CONCURRENTLY, so a mirror keeps syncing meanwhile. A
later migration that changes the type of a column the expression reads must drop
`words` first and add it again (PostgreSQL refuses otherwise).
PostgreSQL only; on SQLite, the embedded default, search reads every message instead.
"""

from django.db import migrations

# The first 100,000 characters of a message's text: a tsvector holds at most 1 MB, and a
# longer message must still be stored. Words are runs of letters and digits (`\W+` is
# every other run), as Gmail and the emulator read them, in the `simple` configuration:
# lower case, no stemming, no stop words.
MESSAGE_WORDS = (
    "strip(to_tsvector('simple'::regconfig, regexp_replace(left("
    """"subject" || ' ' || "sender" || ' ' || "to" || ' ' || "cc" || ' ' || "bcc" """
    """|| ' ' || "body_text", 100000), '\\W+', ' ', 'g')))"""
)
# mail.search.FileWords compiles to exactly this, or the index goes unused
# (tests/mail/test_search_words.py reads the plans).
FILE_WORDS = """to_tsvector('simple'::regconfig, regexp_replace("filename", '\\W+', ' ', 'g'))"""


def add_column(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "ALTER TABLE mail_message ADD COLUMN IF NOT EXISTS words tsvector "
            f"GENERATED ALWAYS AS ({MESSAGE_WORDS}) STORED"
        )


def drop_column(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE mail_message DROP COLUMN IF EXISTS words")


def add_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS mail_message_words ON mail_message "
        "USING gin (words)"
    )
    schema_editor.execute(
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS mail_attachment_words ON mail_attachment "
        f"USING gin (({FILE_WORDS}))"
    )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS mail_message_words")
        schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS mail_attachment_words")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [("mail", "0020_draft_body_html")]

    operations = [
        migrations.RunPython(add_column, drop_column),
        migrations.RunPython(add_indexes, drop_indexes),
    ]
