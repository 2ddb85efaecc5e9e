"""Sending through the outbox: exactly once, whatever dies when, even though Gmail may
replace the Message-ID Tern chose (so no retry can find a send by it)."""

import email.message

import pytest

from gmail.api import GmailClient
from mail import services
from mail.models import OutboxAction, Thread
from support.mailbox import sync_until_done as sync
from sync.outbox import outbox_flush
from tests.sync.chaos import WorkerKilled
from tests.sync.helpers import deliver, raw_message

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_celery")]

ALICE = "alice@example.com"
BOB = "bob@example.com"
SENDS = {"drafts.send", "messages.send"}  # either way Tern may send


@pytest.fixture
def bob(emulator):
    emulator.create_user(BOB, "Bob Example")
    return emulator.gmail(BOB)


@pytest.fixture
def rewriting(emulator):
    emulator.set_config(send_replaces_message_id=True)


def a_message(subject="Dinner?"):
    message = email.message.EmailMessage()
    message["To"] = BOB
    message["Subject"] = subject
    message.set_content("Are you free on Friday?")
    return message


def subjects_at(gmail, subject, **listing):
    listed = gmail.users().messages().list(userId="me", **listing).execute()
    found = []
    for ref in listed.get("messages", []):
        got = (
            gmail.users()
            .messages()
            .get(userId="me", id=ref["id"], format="metadata", metadataHeaders=["Subject"])
            .execute()
        )
        found += [h["value"] for h in got["payload"]["headers"] if h["value"] == subject]
    return found


def crash_at(monkeypatch, methods, when):
    """The worker dies just `when` ("before"/"after") Gmail answers one of `methods`."""
    real_call = GmailClient.call
    armed = [True]

    def call(self, method, request, **kwargs):
        hit = armed[0] and method in methods
        if hit and when == "before":
            armed[0] = False
            raise WorkerKilled
        answer = real_call(self, method, request, **kwargs)
        if hit:
            armed[0] = False
            raise WorkerKilled
        return answer

    monkeypatch.setattr(GmailClient, "call", call)
    return armed


CRASHES = {
    "before drafts.create": ({"drafts.create"}, "before"),
    "after drafts.create, before its id is stored": ({"drafts.create"}, "after"),
    "after the draft id is stored, before drafts.send": ({"drafts.send"}, "before"),
    "after Gmail sent it, before the outbox knew": (SENDS, "after"),
}


@pytest.mark.parametrize("crash", list(CRASHES), ids=list(CRASHES))
def test_a_send_whose_worker_dies_is_delivered_exactly_once(
    emulator, mailbox, gmail, bob, rewriting, monkeypatch, crash
):
    services.message_send(account=mailbox, message=a_message())
    armed = crash_at(monkeypatch, *CRASHES[crash])

    with pytest.raises(WorkerKilled):
        outbox_flush(account_id=mailbox.pk)
    assert not armed[0], "the crash point was never reached"
    outbox_flush(account_id=mailbox.pk)

    assert not OutboxAction.objects.exists()
    assert subjects_at(bob, "Dinner?") == ["Dinner?"]
    assert subjects_at(gmail, "Dinner?", labelIds=["SENT"]) == ["Dinner?"]
    assert gmail.users().drafts().list(userId="me").execute().get("drafts", []) == []


def test_a_send_gmail_failed_with_a_5xx_is_delivered_once_when_retried(
    emulator, mailbox, gmail, bob, rewriting
):
    services.message_send(account=mailbox, message=a_message())
    emulator.set_faults(error_rate=1.0, statuses=[503], methods=["users.drafts.send"])

    assert outbox_flush(account_id=mailbox.pk).retry_at is not None
    emulator.set_faults(error_rate=0.0)
    assert outbox_flush(account_id=mailbox.pk).retry_at is None

    assert subjects_at(bob, "Dinner?") == ["Dinner?"]
    assert not OutboxAction.objects.exists()


def test_a_send_whose_draft_was_discarded_elsewhere_is_failed_not_sent_twice(
    emulator, mailbox, gmail, bob, monkeypatch
):
    action = services.message_send(account=mailbox, message=a_message())
    crash_at(monkeypatch, {"drafts.send"}, "before")
    with pytest.raises(WorkerKilled):
        outbox_flush(account_id=mailbox.pk)
    monkeypatch.undo()
    draft_id = OutboxAction.objects.get(pk=action.pk).draft_gmail_id
    gmail.users().drafts().delete(userId="me", id=draft_id).execute()  # the user, in Gmail

    outbox_flush(account_id=mailbox.pk)

    failed = OutboxAction.objects.get(pk=action.pk)
    assert failed.state == OutboxAction.State.FAILED
    assert "check Sent" in failed.last_error
    assert subjects_at(bob, "Dinner?") == []


def test_a_reply_carries_its_thread_id_in_reply_to_and_references(emulator, mailbox, gmail, bob):
    """Gmail threads a reply by all three (and the recipient's mail program by the two
    headers): the outbox adds the headers a reply lacks, from the thread's newest message."""
    first = raw_message(to=ALICE, sender=BOB, subject="Plans")
    second = raw_message(to=ALICE, sender=BOB, subject="Re: Plans", reply_to_id=first["Message-ID"])
    deliver(gmail, first)
    deliver(gmail, second)
    sync(mailbox)
    thread = Thread.objects.get(account=mailbox)

    services.message_send(account=mailbox, message=a_message("Re: Plans"), thread=thread)
    outbox_flush(account_id=mailbox.pk)

    sent = gmail.users().messages().list(userId="me", labelIds=["SENT"]).execute()["messages"]
    assert [m["threadId"] for m in sent] == [thread.gmail_id]
    at_bob = bob.users().messages().list(userId="me").execute()["messages"][0]
    got = (
        bob.users()
        .messages()
        .get(userId="me", id=at_bob["id"], format="metadata")
        .execute()["payload"]["headers"]
    )
    headers = {h["name"]: h["value"] for h in got}
    assert headers["In-Reply-To"] == second["Message-ID"]
    assert headers["References"].split() == [first["Message-ID"], second["Message-ID"]]


def test_a_send_gmail_refuses_for_good_leaves_no_draft_behind(emulator, mailbox, gmail, bob):
    message = a_message("Nobody")
    del message["To"]  # Gmail: 400 "Recipient address required"
    action = services.message_send(account=mailbox, message=message)

    outbox_flush(account_id=mailbox.pk)

    assert OutboxAction.objects.get(pk=action.pk).state == OutboxAction.State.FAILED
    assert gmail.users().drafts().list(userId="me").execute().get("drafts", []) == []


def test_a_sent_copy_that_cannot_be_looked_for_is_looked_for_again_not_failed(
    emulator, mailbox, gmail, bob, monkeypatch
):
    """The draft is gone (sent by a run that died before recording it) and the lookup of
    the sent copy is refused: marking the send refused could have the user send it twice."""
    action = services.message_send(account=mailbox, message=a_message())
    crash_at(monkeypatch, SENDS, "after")
    with pytest.raises(WorkerKilled):
        outbox_flush(account_id=mailbox.pk)
    monkeypatch.undo()
    emulator.set_faults(error_rate=1.0, statuses=[400], methods=["users.messages.list"])

    assert outbox_flush(account_id=mailbox.pk).retry_at is not None
    assert OutboxAction.objects.get(pk=action.pk).state == OutboxAction.State.PENDING
    emulator.set_faults(error_rate=0.0)
    outbox_flush(account_id=mailbox.pk)

    assert not OutboxAction.objects.exists()
    assert subjects_at(bob, "Dinner?") == ["Dinner?"]
