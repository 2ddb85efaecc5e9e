"""A list's rows come from the cache once rendered, keyed by everything they show: a
thread that changes (read, starred, new mail, a label) or a date that reads differently
shows its new row at once, and an unchanged row is not rendered again."""

import datetime as dt

import pytest
from django.core.cache import cache
from django.template.loader import get_template

from mail import rows as row_cache
from mail import services
from mail.fragments import fragment_key
from mail.models import Thread
from mail.selectors import Row
from support.mailbox import sync_until_done as sync
from tests.mail.test_list_pages import row_of
from tests.sync.helpers import deliver, raw_message

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_celery")]


@pytest.fixture
def renders(monkeypatch):
    """How many rows the template rendered (the real template, counted)."""
    count = []
    template = get_template(row_cache.ROW_TEMPLATES[0])
    real = template.render

    def counted(context=None, request=None):
        count.append(1)
        return real(context, request)

    monkeypatch.setattr(template, "render", counted)
    monkeypatch.setattr(row_cache, "get_template", lambda name: template)
    return count


def inbox(client):
    return client.get("/mail/").content.decode()


def test_an_unchanged_row_is_taken_from_the_cache(client, emulator, mailbox, gmail, renders):
    cache.clear()
    for n in range(3):
        deliver(gmail, raw_message(to=mailbox.email, subject=f"Note {n}"))
    sync(mailbox)
    client.force_login(mailbox.user)

    first = inbox(client)
    assert len(renders) == 3
    second = inbox(client)

    assert len(renders) == 3  # none rendered again
    assert second.count('<li class="thread') == 3
    assert row_of(first, "Note 1") == row_of(second, "Note 1")


def test_a_changed_thread_shows_its_new_row_at_once(client, emulator, mailbox, gmail, renders):
    cache.clear()
    deliver(gmail, raw_message(to=mailbox.email, subject="Budget"), ("INBOX", "UNREAD"))
    sync(mailbox)
    client.force_login(mailbox.user)
    assert '<li class="thread unread">' in inbox(client)
    thread = Thread.objects.get(account=mailbox)

    services.thread_mark_read(thread=thread)
    services.thread_star(thread=thread)

    row = row_of(inbox(client), "Budget")
    assert row.startswith('">') and "Unread," not in row  # no longer unread
    assert "Starred," in row
    assert len(renders) == 2


def test_the_key_holds_the_date_as_shown_today(client, emulator, mailbox, gmail):
    deliver(gmail, raw_message(to=mailbox.email, subject="Old news"))
    sync(mailbox)
    thread = Thread.objects.get(account=mailbox)
    row = Row(thread=thread, url="/mail/thread/1/")
    today = row_cache.row_context(row, folder="INBOX", unified=False)
    thread.last_message_at -= dt.timedelta(days=400)
    older = row_cache.row_context(row, folder="INBOX", unified=False)

    assert today["date"] != older["date"]
    templates = row_cache.ROW_TEMPLATES
    assert fragment_key("row", templates, today) != fragment_key("row", templates, older)
