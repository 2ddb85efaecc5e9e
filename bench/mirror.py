"""A synced mailbox written straight into PostgreSQL, in the shape the sync engine writes.

The rows are those `mail.mirror` would leave after a full sync of the same mailbox:
labels, threads with their derived fields (snippet of the last message, unread,
starred, participants, message count, last message time), messages, per-message labels
(`MessageLabel`) and per-thread labels (`ThreadLabel`, the union over the thread's
messages, with the copies of the owner, the label's Gmail id and the thread's last
message time). They go in with COPY, ids chosen here, so 100k messages take seconds.
"""

import time
from email.utils import formataddr

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import GmailAccount, User
from bench import corpus
from mail.models import Label, Message, MessageLabel, Thread, ThreadLabel
from sync.models import SyncStatus

MAX_PARTICIPANTS = 4


def _columns(model, *names):
    return [model._meta.get_field(name).column for name in names]


def _copy(cursor, model, names, rows):
    columns = ", ".join(f'"{column}"' for column in _columns(model, *names))
    with cursor.copy(f'COPY "{model._meta.db_table}" ({columns}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(row)


def _next_id(cursor, model):
    table = model._meta.db_table
    cursor.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}")
    return cursor.fetchone()[0]


def _sync_sequence(cursor, model):
    table = model._meta.db_table
    cursor.execute(
        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
        f"(SELECT coalesce(max(id), 1) FROM {table}))"
    )


def _gmail_id(message):
    return f"{(int(message.date.timestamp() * 1000) << 20) + message.index:x}"


def _participants(messages):
    names = []
    for message in messages:
        name, address = message.sender
        shown = (name or address.split("@")[0]).strip()
        if shown and shown not in names:
            names.append(shown)
    return ", ".join(names[-MAX_PARTICIPANTS:])[:512]


def mailbox_load(*, username, email, messages, seed):
    """A user with one connected, fully synced account holding about `messages` messages.

    Answers (user, account, figures) where figures say what was written and how fast.
    """
    started = time.monotonic()
    owner = ("Bench Owner", email)
    plan = corpus.conversations(owner=owner, count=messages, seed=seed)
    user = User.objects.create(username=username, email=email)
    account = GmailAccount.objects.create(
        user=user, email=email, google_sub=f"bench-{username}", display_name=owner[0]
    )
    label_ids = {name: name for name in corpus.SYSTEM_LABELS}
    label_ids |= {name: f"Label_{n}" for n, name in enumerate(corpus.USER_LABELS, start=1)}
    Label.objects.bulk_create(
        [
            Label(
                account=account,
                gmail_id=gmail_id,
                name=name,
                type=Label.Type.USER if gmail_id.startswith("Label_") else Label.Type.SYSTEM,
            )
            for name, gmail_id in label_ids.items()
        ]
    )
    label_pk = {
        name: Label.objects.get(account=account, gmail_id=gmail_id).pk
        for name, gmail_id in label_ids.items()
    }
    inbox_threads = 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit = off")
        thread_pk = _next_id(cursor, Thread)
        message_pk = _next_id(cursor, Message)
        thread_rows, message_rows, message_label_rows, thread_label_rows = [], [], [], []
        for thread in plan:
            msgs = thread.messages
            last = msgs[-1]
            labels_of_thread = {}
            for message in msgs:
                gmail_id = _gmail_id(message)
                message_rows.append(
                    (
                        message_pk,
                        account.pk,
                        thread_pk,
                        gmail_id,
                        message.rfc822_id,
                        message.references[-1] if message.references else "",
                        " ".join(message.references),
                        formataddr(message.sender),
                        formataddr(message.to),
                        "",
                        "",
                        "",
                        message.subject,
                        message.snippet,
                        message.date,
                        message.date,
                        len(message.body) + 600,
                        1000 + message.index,
                        None,
                        False,
                        message.body,
                        "",
                    )
                )
                for name in dict.fromkeys(message.labels):
                    message_label_rows.append((message_pk, label_pk[name]))
                    labels_of_thread[name] = label_pk[name]
                message_pk += 1
            all_labels = [name for m in msgs for name in m.labels]
            thread_rows.append(
                (
                    thread_pk,
                    account.pk,
                    _gmail_id(msgs[0]),
                    msgs[0].subject,
                    last.snippet,
                    last.date,
                    "UNREAD" in all_labels,
                    "STARRED" in all_labels,
                    False,
                    _participants(msgs),
                    len(msgs),
                    1000 + last.index,
                )
            )
            inbox_threads += "INBOX" in labels_of_thread
            for name, pk in labels_of_thread.items():
                thread_label_rows.append((thread_pk, pk, user.pk, label_ids[name], last.date))
            thread_pk += 1
        _copy(
            cursor,
            Thread,
            [
                "id",
                "account",
                "gmail_id",
                "subject",
                "snippet",
                "last_message_at",
                "is_unread",
                "is_starred",
                "has_attachments",
                "participants",
                "message_count",
                "history_id",
            ],
            thread_rows,
        )
        _copy(
            cursor,
            Message,
            [
                "id",
                "account",
                "thread",
                "gmail_id",
                "rfc822_message_id",
                "in_reply_to",
                "references",
                "sender",
                "to",
                "cc",
                "bcc",
                "reply_to",
                "subject",
                "snippet",
                "internal_date",
                "date_header",
                "size_estimate",
                "history_id",
                "full_sync_mark",
                "has_attachments",
                "body_text",
                "body_html",
            ],
            message_rows,
        )
        _copy(cursor, MessageLabel, ["message", "label"], message_label_rows)
        _copy(
            cursor,
            ThreadLabel,
            ["thread", "label", "user", "label_gmail_id", "last_message_at"],
            thread_label_rows,
        )
        for model in (Thread, Message, MessageLabel, ThreadLabel):
            _sync_sequence(cursor, model)
        counts = {
            "threads": len(thread_rows),
            "messages": len(message_rows),
            "message_labels": len(message_label_rows),
            "thread_labels": len(thread_label_rows),
            "inbox_threads": inbox_threads,
        }
    SyncStatus.objects.create(
        account=account,
        history_id=1000 + messages,
        full_sync_state=SyncStatus.FullSync.DONE,
        full_sync_messages_done=len(message_rows),
        last_full_sync_at=timezone.now(),
        last_incremental_sync_at=timezone.now(),
    )
    counts["load_s"] = round(time.monotonic() - started, 2)
    return user, account, counts


def analyze():
    """VACUUM ANALYZE the mirror's tables, as autovacuum would have in a settled database."""
    tables = [
        model._meta.db_table
        for model in (User, GmailAccount, SyncStatus, Label, Thread, ThreadLabel, Message)
    ] + [MessageLabel._meta.db_table, "django_session"]
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"VACUUM (ANALYZE) {table}")
