"""A list's rows as HTML, each rendered once and then taken from the cache.

Rendering 50 rows through the template engine is most of a list page's time. A row's
HTML is a pure function of what it shows, so each row is described by a flat dict of
plain values (`row_context`: the thread's id, its texts, markers, senders, chips, the
dates as shown today), the template `mail/_row.html` sees only that dict, and the
cache key is a hash of it. A row whose thread changed, or whose date reads differently
today, has another key: there is nothing to invalidate, and no row can be shown stale.
Two people with the same thread id cannot share a row either: the id is in the key.
"""

import hashlib
import json

from django.core.cache import cache
from django.template.loader import get_template
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from mail.selectors import Row
from mail.templatetags.mail_format import iso, short_date

ROW_TEMPLATE = "mail/_row.html"
# Part of every key: bump it when mail/_row.html changes, so no old markup is served.
ROW_VERSION = 1
ROW_TTL_S = 24 * 60 * 60


def row_context(row: Row, *, folder: str, unified: bool) -> dict[str, object]:
    """Everything `mail/_row.html` shows of one row, as plain values."""
    thread = row.thread
    snooze = getattr(thread, "snooze", None) if folder == "SNOOZED" else None
    return {
        "pk": thread.pk,
        "url": row.url,
        "subject": thread.subject,
        "snippet": thread.snippet,
        "is_unread": thread.is_unread,
        "is_starred": thread.is_starred,
        "is_important": row.is_important,
        "has_attachments": thread.has_attachments,
        "message_count": thread.message_count,
        "participants": thread.participants,
        "senders": [[sender.name, sender.is_me] for sender in row.senders],
        "chips": [[chip.name, chip.color] for chip in row.chips],
        "account": row.account.email if unified and row.account else "",
        "color": row.color if unified else "",
        "date_iso": iso(thread.last_message_at),
        "date": short_date(thread.last_message_at),
        "until_iso": iso(snooze.until) if snooze else "",
        "until": f"{timezone.localtime(snooze.until):%a %b %-d, %H:%M}" if snooze else "",
    }


def rendered_rows(rows: list[Row], *, folder: str, unified: bool) -> list[SafeString]:
    """The rows' HTML, in order: from the cache where a row is there, else rendered and
    kept. One cache round trip to read, one to write what was missing."""
    contexts = [row_context(row, folder=folder, unified=unified) for row in rows]
    keys = [_key(context) for context in contexts]
    found = cache.get_many(keys)
    template = get_template(ROW_TEMPLATE)
    made = {}
    html = []
    for key, context in zip(keys, contexts, strict=True):
        row_html = found.get(key)
        if row_html is None:
            row_html = made[key] = str(template.render(context))
        html.append(mark_safe(row_html))  # noqa: S308 - the template's own escaped output
    if made:
        cache.set_many(made, ROW_TTL_S)
    return html


def _key(context: dict[str, object]) -> str:
    data = json.dumps(context, sort_keys=True, separators=(",", ":"))
    return f"mail:row:{ROW_VERSION}:{hashlib.sha256(data.encode()).hexdigest()}"
