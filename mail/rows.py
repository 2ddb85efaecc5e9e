"""A list's rows as HTML, each rendered once and then taken from the cache.

Rendering 50 rows through the template engine is most of a list page's time. A row's
HTML is a pure function of what it shows, so each row is described by a flat dict of
plain values (`row_context`: the thread's id, its texts, markers, senders, chips, the
dates as shown today), the template `mail/_row.html` sees only that dict, and the
cache key is a hash of it. A row whose thread changed, or whose date reads differently
today, has another key: there is nothing to invalidate, and no row can be shown stale
(mail.fragments). Two people with the same thread id cannot share a row either: the id
is in the key.

A whole page of rows is kept too (`listed_page`), under the versions of its accounts'
mirrors (mail.mirror_version) and what chose it (the list, the cursor, today's date in
the reader's time zone): while none of those accounts' labels or threads changed, the
page costs one cache round trip instead of its three queries and fifty rows.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.template.loader import get_template
from django.utils import timezone
from django.utils.safestring import SafeString

from mail.fragments import fragment_key, fragments, kept_page
from mail.selectors import Cursor, Row, ThreadPage
from mail.templatetags.mail_format import iso, short_date

ROW_TEMPLATES = ("mail/_row.html",)


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
    """The rows' HTML, in order, each from the cache where it is there."""
    contexts = [row_context(row, folder=folder, unified=unified) for row in rows]
    template = get_template(ROW_TEMPLATES[0])
    return fragments(
        contexts,
        keys=[fragment_key("row", ROW_TEMPLATES, context) for context in contexts],
        render=template.render,
    )


@dataclass(frozen=True)
class ListedPage:
    """A page of a thread list as the page shows it: its rows' HTML, in order, and the
    cursors of its neighbours."""

    rows_html: str
    count: int
    newer: Cursor | None = None
    older: Cursor | None = None


def listed_page(
    made_of: dict[str, object] | None,
    *,
    make: Callable[[], ThreadPage],
    folder: str,
    unified: bool,
) -> ListedPage:
    """The page `make` gives, its rows rendered; kept under `made_of` (everything that
    chose the page, with the mirror versions of its accounts, read before `make` runs)
    and taken from the cache while that is unchanged (mail.fragments.kept_page). None:
    made each time."""
    key = None
    if made_of is not None:
        made_of = {**made_of, "zone": timezone.get_current_timezone_name()}
        made_of["today"] = timezone.localdate().isoformat()
        key = fragment_key("list", ROW_TEMPLATES, made_of)

    def made() -> tuple[ListedPage, bool]:
        page = make()
        rows_html = "".join(rendered_rows(page.rows, folder=folder, unified=unified))
        return ListedPage(rows_html, len(page.rows), newer=page.newer, older=page.older), True

    return kept_page(key, made)
