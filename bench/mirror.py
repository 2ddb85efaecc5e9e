"""A synced mailbox written straight into PostgreSQL, in the shape the sync engine writes.

The rows are those `mail.mirror` would leave after a full sync of the same mailbox:
labels, threads with their derived fields (snippet of the last message, unread,
starred, participants, message count, last message time), messages, per-message labels
(`MessageLabel`) and per-thread labels (`ThreadLabel`, the union over the thread's
messages, with the copies of the owner, the label's Gmail id and the thread's last
message time). They go in with COPY, ids chosen here, so 100k messages take seconds.
"""

import datetime as dt
import functools
import time
from email.utils import formataddr

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import GmailAccount, User
from bench import corpus
from mail.models import Label, Message, MessageLabel, Thread, ThreadLabel
from sync.models import SyncStatus

MAX_PARTICIPANTS = 4


@functools.cache
def _names(model):
    return tuple(field.name for field in model._meta.concrete_fields)


def _row(model, **values):
    """One row of `model`: a value for each of its concrete fields, in their order (a
    field missing is a KeyError, one it does not have a ValueError)."""
    names = _names(model)
    if extra := sorted(set(values) - set(names)):
        raise ValueError(f"{model.__name__} has no field {extra}")
    if missing := sorted(set(names) - set(values)):
        raise KeyError(f"{model.__name__} row without {missing}")
    return tuple(values[name] for name in names)


def _copy(cursor, model, rows, names=None):
    """COPY `rows` into the table of `model`: tuples in the order of `names` (by default
    every concrete field, as `_row` makes them)."""
    fields = [model._meta.get_field(name) for name in names or _names(model)]
    columns = ", ".join(f'"{field.column}"' for field in fields)
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
                    _row(
                        Message,
                        id=message_pk,
                        account=account.pk,
                        thread=thread_pk,
                        gmail_id=gmail_id,
                        rfc822_message_id=message.rfc822_id,
                        in_reply_to=message.references[-1] if message.references else "",
                        references=" ".join(message.references),
                        sender=formataddr(message.sender),
                        to=formataddr(message.to),
                        cc="",
                        bcc="",
                        reply_to="",
                        subject=message.subject,
                        snippet=message.snippet,
                        internal_date=message.date,
                        date_header=message.date,
                        size_estimate=len(message.body) + 600,
                        history_id=1000 + message.index,
                        full_sync_mark=None,
                        has_attachments=False,
                        body_text=message.body,
                        body_html="",
                        body_html_safe="",
                        body_html_safe_version=0,
                    )
                )
                for name in dict.fromkeys(message.labels):
                    message_label_rows.append((message_pk, label_pk[name]))
                    labels_of_thread[name] = label_pk[name]
                message_pk += 1
            all_labels = [name for m in msgs for name in m.labels]
            unread = "UNREAD" in all_labels
            thread_rows.append(
                _row(
                    Thread,
                    id=thread_pk,
                    account=account.pk,
                    gmail_id=_gmail_id(msgs[0]),
                    subject=msgs[0].subject,
                    snippet=last.snippet,
                    last_message_at=last.date,
                    is_unread="UNREAD" in all_labels,
                    is_starred="STARRED" in all_labels,
                    has_attachments=False,
                    participants=_participants(msgs),
                    message_count=len(msgs),
                )
            )
            inbox_threads += "INBOX" in labels_of_thread
            for name, pk in labels_of_thread.items():
                thread_label_rows.append(
                    (thread_pk, pk, user.pk, label_ids[name], last.date, last.snippet, unread)
                )
            thread_pk += 1
        _copy(cursor, Thread, thread_rows)
        _copy(cursor, Message, message_rows)
        _copy(cursor, MessageLabel, message_label_rows, ["message", "label"])
        _copy(
            cursor,
            ThreadLabel,
            thread_label_rows,
            [
                "thread",
                "label",
                "user",
                "label_gmail_id",
                "last_message_at",
                "snippet",
                "is_unread",
            ],
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


# A newsletter-like HTML mail: nested tables, inline styles, links, remote images and a
# tracking pixel, about 6 KB, as the thread page's benchmark shows twenty of them.
NEWSLETTER = """<div style="font-family:Arial,Helvetica,sans-serif;color:#222;background:#f4f4f4">
<table width="100%" cellpadding="0" cellspacing="0" role="presentation"
 style="border-collapse:collapse">
<tr><td align="center" style="padding:24px 0">
<table width="600" cellpadding="0" cellspacing="0" style="background:#ffffff;border:1px solid #ddd">
<tr><td style="padding:16px 24px">
<img src="https://cdn.news.example/logo-{n}.png" width="120" height="40" alt="News"></td></tr>
<tr><td style="padding:0 24px 16px;font-size:16px;line-height:1.5">
<h1 style="font-size:22px;margin:0 0 12px">Update {n}: what changed this week</h1>
{paragraphs}
<p><a href="https://news.example/read/{n}?utm_source=mail" style="color:#0b57d0">
Read the whole story</a></p>
</td></tr>
<tr><td style="padding:16px 24px;font-size:12px;color:#666;border-top:1px solid #eee">
You receive this because you subscribed. <a href="https://news.example/unsubscribe">Unsubscribe</a>.
<img src="https://t.news.example/open/{n}.gif" width="1" height="1" alt="">
</td></tr></table></td></tr></table></div>"""
PARAGRAPH = (
    '<p style="margin:0 0 12px">Paragraph {i} of update {n}: the team shipped <b>three</b> '
    'fixes, <i>two</i> experiments and one <a href="https://news.example/p/{i}">longer '
    "write-up</a>, with figures in the table below and a word on what comes next.</p>"
)


def html_thread_add(*, user, account, messages=20):
    """A conversation of `messages` newsletter-like HTML mails in the inbox, newest of all,
    unsanitised (the page sanitises each on its first view and keeps the result).
    Answers the thread."""
    now = timezone.now()
    inbox = Label.objects.get(account=account, gmail_id="INBOX")
    with transaction.atomic():
        thread = Thread.objects.create(
            account=account,
            gmail_id="bench-html-thread",
            subject="Weekly update",
            snippet="Update: what changed this week",
            last_message_at=now,
            participants="News",
            message_count=messages,
        )
        rows = [
            Message(
                account=account,
                thread=thread,
                gmail_id=f"bench-html-{n}",
                sender=formataddr(("News", "news@news.example")),
                to=account.email,
                subject="Weekly update",
                snippet=f"Update {n}: what changed this week",
                internal_date=now - dt.timedelta(hours=messages - n),
                body_text=f"Update {n}",
                body_html=NEWSLETTER.format(
                    n=n, paragraphs="".join(PARAGRAPH.format(i=i, n=n) for i in range(12))
                ),
            )
            for n in range(messages)
        ]
        Message.objects.bulk_create(rows)
        MessageLabel.objects.bulk_create(MessageLabel(message=m, label=inbox) for m in rows)
        ThreadLabel.objects.create(
            thread=thread,
            label=inbox,
            user=user,
            label_gmail_id="INBOX",
            last_message_at=now,
            snippet=thread.snippet,
        )
    return thread
