"""Snooze and mute, which Tern keeps (Gmail's API has neither): what Gmail ends up
holding (the emulator's state after the outbox flushes) and what the lists show."""

import datetime as dt
import re
import threading
from zoneinfo import ZoneInfo

import pytest
from django.db import connections
from django.urls import reverse
from django.utils import timezone

from mail import services
from mail.models import Mute, OutboxAction, Snooze, Thread
from mail.views.actions import BadRequest, snooze_time
from support.mailbox import sync_until_done as sync
from sync.outbox import outbox_flush
from tests.sync.helpers import deliver, raw_message

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_celery")]

UNDO = re.compile(r'name="undo" value="([^"]+)"')
PARIS = ZoneInfo("Europe/Paris")


def flushed(mailbox):
    assert outbox_flush(account_id=mailbox.pk).retry_at is None
    assert not OutboxAction.objects.filter(account=mailbox).exists(), "Gmail refused it"


def a_thread(gmail, mailbox, subject="Quarterly budget"):
    sent = deliver(gmail, raw_message(to=mailbox.email, subject=subject), ("INBOX",))
    sync(mailbox)
    return Thread.objects.get(account=mailbox, gmail_id=sent["threadId"])


def a_reply(gmail, mailbox, thread):
    first = (
        gmail.users()
        .messages()
        .get(userId="me", id=thread.messages.first().gmail_id, format="metadata")
        .execute()
    )
    message_id = next(h["value"] for h in first["payload"]["headers"] if h["name"] == "Message-ID")
    reply = raw_message(to=mailbox.email, subject=f"Re: {thread.subject}", reply_to_id=message_id)
    sent = deliver(gmail, reply, ("INBOX", "UNREAD"))
    assert sent["threadId"] == thread.gmail_id
    sync(mailbox)


def labels_of(emulator, mailbox, thread):
    messages = emulator.state(mailbox.email)["messages"].values()
    return [set(m["labelIds"]) for m in messages if m["threadId"] == thread.gmail_id]


def page(client, url):
    return client.get(url).content.decode()


def test_a_snoozed_thread_leaves_the_inbox_and_is_listed_under_snoozed(
    client, emulator, mailbox, gmail
):
    thread = a_thread(gmail, mailbox)
    client.force_login(mailbox.user)

    response = client.post(
        reverse("mail:snooze"),
        {"thread": thread.pk, "until": "tomorrow", "tz": "Europe/Paris", "next": "/mail/"},
        follow=True,
    )

    text = response.content.decode()
    assert "Conversation snoozed until" in text and "08:00" in text
    assert thread.get_absolute_url() not in text  # the inbox it went back to
    snoozed = page(client, reverse("mail:folder", args=["SNOOZED"]))
    assert thread.get_absolute_url() in snoozed and "until" in snoozed
    until = Snooze.objects.get(thread=thread).until.astimezone(PARIS)
    assert (until.hour, until.minute) == (8, 0)
    assert until.date() == timezone.localtime(timezone.now(), PARIS).date() + dt.timedelta(days=1)
    flushed(mailbox)
    assert all("INBOX" not in labels for labels in labels_of(emulator, mailbox, thread))


def test_it_comes_back_on_time_unread_and_only_once(emulator, mailbox, gmail):
    thread = a_thread(gmail, mailbox)
    until = timezone.now() + dt.timedelta(hours=2)
    services.thread_snooze(thread=thread, until=until)
    flushed(mailbox)

    assert services.snoozes_wake(now=until - dt.timedelta(seconds=1)) == 0
    assert services.snoozes_wake(now=until) == 1
    assert services.snoozes_wake(now=until + dt.timedelta(minutes=1)) == 0

    flushed(mailbox)
    assert all({"INBOX", "UNREAD"} <= labels for labels in labels_of(emulator, mailbox, thread))
    assert not Snooze.objects.exists()


def test_a_missed_beat_still_brings_it_back(emulator, mailbox, gmail):
    thread = a_thread(gmail, mailbox)
    until = timezone.now() - dt.timedelta(days=3)  # due while Tern was down
    Snooze.objects.create(thread=thread, until=until)
    services.thread_archive(thread=thread)
    flushed(mailbox)

    assert services.snoozes_wake(now=timezone.now()) == 1

    flushed(mailbox)
    assert all("INBOX" in labels for labels in labels_of(emulator, mailbox, thread))


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_bring_it_back_once(emulator, mailbox, gmail):
    threads = [a_thread(gmail, mailbox, subject=f"Thread {n}") for n in range(30)]
    now = timezone.now()
    for thread in threads:
        Snooze.objects.create(thread=thread, until=now - dt.timedelta(minutes=1))
    counts = []
    start = threading.Barrier(2)

    def run():
        try:
            start.wait()
            counts.append(services.snoozes_wake(now=now))
        finally:
            connections.close_all()

    runners = [threading.Thread(target=run) for _ in range(2)]
    for runner in runners:
        runner.start()
    for runner in runners:
        runner.join()

    assert sum(counts) == 30, (counts, Snooze.objects.count(), OutboxAction.objects.count())
    inbox_actions = OutboxAction.objects.filter(kind="inbox")
    assert inbox_actions.count() == 30  # one per thread: none came back twice


def test_new_mail_brings_a_snoozed_thread_back_early(emulator, mailbox, gmail):
    thread = a_thread(gmail, mailbox)
    services.thread_snooze(thread=thread, until=timezone.now() + dt.timedelta(days=2))
    flushed(mailbox)

    a_reply(gmail, mailbox, thread)

    assert not Snooze.objects.exists()
    assert thread.thread_labels.filter(label_gmail_id="INBOX").exists()


def test_a_muted_thread_stays_out_of_the_inbox_when_a_reply_arrives(
    client, emulator, mailbox, gmail
):
    thread = a_thread(gmail, mailbox)
    client.force_login(mailbox.user)
    client.post(reverse("mail:act"), {"action": "mute", "thread": thread.pk})
    flushed(mailbox)
    assert Mute.objects.filter(thread=thread).exists()

    a_reply(gmail, mailbox, thread)
    flushed(mailbox)

    labels = labels_of(emulator, mailbox, thread)
    assert len(labels) == 2 and all("INBOX" not in each for each in labels)
    assert thread.get_absolute_url() not in page(client, "/mail/")
    assert "Unmute" in page(client, thread.get_absolute_url())


def test_undo_of_a_snooze_puts_it_back_and_forgets_the_time(client, emulator, mailbox, gmail):
    thread = a_thread(gmail, mailbox)
    client.force_login(mailbox.user)
    response = client.post(
        reverse("mail:snooze"),
        {"thread": thread.pk, "until": "later", "next": "/mail/"},
        follow=True,
    )
    token = UNDO.search(response.content.decode())[1]

    client.post(reverse("mail:undo"), {"undo": token, "next": "/mail/"})

    assert not Snooze.objects.exists()
    flushed(mailbox)
    assert all("INBOX" in labels for labels in labels_of(emulator, mailbox, thread))


def test_undo_of_a_snooze_from_a_label_leaves_it_out_of_the_inbox(client, emulator, mailbox, gmail):
    sent = deliver(gmail, raw_message(to=mailbox.email, subject="Receipts"), ())
    sync(mailbox)
    thread = Thread.objects.get(account=mailbox, gmail_id=sent["threadId"])
    client.force_login(mailbox.user)
    response = client.post(
        reverse("mail:snooze"), {"thread": thread.pk, "until": "tomorrow"}, follow=True
    )
    token = UNDO.search(response.content.decode())[1]

    client.post(reverse("mail:undo"), {"undo": token})

    assert not Snooze.objects.exists()
    flushed(mailbox)
    assert all("INBOX" not in labels for labels in labels_of(emulator, mailbox, thread))


def test_unsnooze_brings_it_back_now(client, emulator, mailbox, gmail):
    thread = a_thread(gmail, mailbox)
    services.thread_snooze(thread=thread, until=timezone.now() + dt.timedelta(days=3))
    client.force_login(mailbox.user)
    assert "Unsnooze" in page(client, thread.get_absolute_url())

    client.post(reverse("mail:act"), {"action": "unsnooze", "thread": thread.pk})

    assert not Snooze.objects.exists()
    flushed(mailbox)
    assert all("INBOX" in labels for labels in labels_of(emulator, mailbox, thread))
    assert "Unsnooze" not in page(client, thread.get_absolute_url())


def test_moving_a_snoozed_thread_to_the_inbox_ends_the_snooze(client, emulator, mailbox, gmail):
    thread = a_thread(gmail, mailbox)
    services.thread_snooze(thread=thread, until=timezone.now() + dt.timedelta(days=1))
    client.force_login(mailbox.user)

    client.post(reverse("mail:act"), {"action": "inbox", "thread": thread.pk})

    assert not Snooze.objects.exists()


def test_another_user_s_thread_cannot_be_snoozed(client, emulator, mailbox, gmail, bob):
    thread = a_thread(gmail, mailbox)
    client.force_login(bob)

    response = client.post(reverse("mail:snooze"), {"thread": thread.pk, "until": "tomorrow"})

    assert response.status_code == 404 and not Snooze.objects.exists()


NOW = dt.datetime(2026, 12, 3, 16, 20, tzinfo=PARIS)  # a Thursday


@pytest.mark.parametrize(
    ("preset", "chosen", "expected"),
    [
        ("later", "", dt.datetime(2026, 12, 3, 19, 0, tzinfo=PARIS)),
        ("tomorrow", "", dt.datetime(2026, 12, 4, 8, 0, tzinfo=PARIS)),
        ("next_week", "", dt.datetime(2026, 12, 7, 8, 0, tzinfo=PARIS)),
        ("at", "2026-12-24T09:30", dt.datetime(2026, 12, 24, 9, 30, tzinfo=PARIS)),
    ],
)
def test_snooze_times_are_the_reader_s_local_times(preset, chosen, expected):
    assert snooze_time(preset, chosen, zone=PARIS, now=NOW) == expected


@pytest.mark.parametrize(
    ("preset", "chosen", "problem"),
    [
        ("at", "2026-12-01T09:30", "in the future"),
        ("at", "next tuesday", "Choose a date and a time"),
        ("whenever", "", "Choose when"),
    ],
)
def test_a_bad_snooze_time_is_refused_with_a_reason(preset, chosen, problem):
    with pytest.raises(BadRequest, match=problem):
        snooze_time(preset, chosen, zone=PARIS, now=NOW)


def test_a_bad_snooze_time_changes_nothing(client, emulator, mailbox, gmail):
    thread = a_thread(gmail, mailbox)
    client.force_login(mailbox.user)

    response = client.post(
        reverse("mail:snooze"), {"thread": thread.pk, "until": "at", "until_at": "2001-01-01T00:00"}
    )

    assert response.status_code == 400 and "in the future" in response.content.decode()
    assert not Snooze.objects.exists() and not OutboxAction.objects.exists()


def test_a_conversation_in_trash_cannot_be_snoozed(client, emulator, mailbox, gmail):
    sent = deliver(gmail, raw_message(to=mailbox.email, subject="Old"), ("TRASH",))
    sync(mailbox)
    thread = Thread.objects.get(account=mailbox, gmail_id=sent["threadId"])
    client.force_login(mailbox.user)
    assert "<summary>Snooze</summary>" not in page(client, thread.get_absolute_url())
    assert "<summary>Snooze</summary>" not in page(client, "/mail/label/TRASH/")

    response = client.post(reverse("mail:snooze"), {"thread": thread.pk, "until": "tomorrow"})

    assert response.status_code == 400
    assert "cannot be snoozed: restore them first" in response.content.decode()
    assert not Snooze.objects.exists() and not OutboxAction.objects.exists()


def test_a_snoozed_thread_trashed_in_gmail_meanwhile_stays_in_the_trash(emulator, mailbox, gmail):
    thread = a_thread(gmail, mailbox)
    services.thread_snooze(thread=thread, until=timezone.now() + dt.timedelta(hours=1))
    flushed(mailbox)
    gmail.users().threads().trash(userId="me", id=thread.gmail_id).execute()
    sync(mailbox)

    returned = services.snoozes_wake(now=timezone.now() + dt.timedelta(hours=2))

    assert returned == 0 and not Snooze.objects.exists()
    assert not OutboxAction.objects.exists()
    assert all(
        "TRASH" in labels and "INBOX" not in labels
        for labels in labels_of(emulator, mailbox, thread)
    )


def test_trashing_a_snoozed_thread_ends_the_snooze(client, emulator, mailbox, gmail):
    thread = a_thread(gmail, mailbox)
    services.thread_snooze(thread=thread, until=timezone.now() + dt.timedelta(days=1))
    client.force_login(mailbox.user)

    client.post(reverse("mail:act"), {"action": "trash", "thread": thread.pk})

    assert not Snooze.objects.exists()
    assert thread.get_absolute_url() not in page(client, "/mail/label/SNOOZED/")
