"""Users' actions: the mirror changes at once, Gmail gets the change from the outbox."""

import email.message

import pytest

from accounts.selectors import gmail_accounts_of
from mail import services
from mail.models import Message, OutboxAction, Thread
from mail.selectors import sidebar, thread_list
from support.mailbox import sync_until_done as sync
from sync.outbox import outbox_flush
from tests.sync.helpers import (
    assert_mirror_equals_gmail,
    believe_delete_allowed,
    deliver,
    raw_message,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_celery")]

ALICE = "alice@example.com"
BOB = "bob@example.com"


@pytest.fixture
def three_threads(gmail, mailbox):
    for n in range(3):
        deliver(gmail, raw_message(to=ALICE, subject=f"thread {n}"))
    sync(mailbox)
    return list(Thread.objects.filter(account=mailbox).order_by("subject"))


def inbox_subjects(user):
    return [t.subject for t in thread_list(user=user, label_gmail_id="INBOX")]


def test_archiving_shows_at_once_and_reaches_gmail(emulator, mailbox, three_threads):
    services.thread_archive(thread=three_threads[0])

    assert inbox_subjects(mailbox.user) == ["thread 2", "thread 1"]
    assert OutboxAction.objects.filter(account=mailbox).count() == 1

    assert outbox_flush(account_id=mailbox.pk).retry_at is None

    assert not OutboxAction.objects.exists()
    gmail_labels = emulator.state(ALICE)["messages"][three_threads[0].messages.get().gmail_id]
    assert "INBOX" not in gmail_labels["labelIds"]
    assert_mirror_equals_gmail(emulator, mailbox)


def test_consecutive_label_changes_become_one_batch_modify(emulator, mailbox, three_threads):
    for thread in three_threads:
        services.thread_mark_read(thread=thread)
    before = emulator.stats()["users"][ALICE]["methods"]

    outbox_flush(account_id=mailbox.pk)

    after = emulator.stats()["users"][ALICE]["methods"]
    modifies = (
        after["users.messages.batchModify"]["calls"]
        - before.get("users.messages.batchModify", {"calls": 0})["calls"]
    )
    assert modifies == 1
    assert not any("UNREAD" in m["labelIds"] for m in emulator.state(ALICE)["messages"].values())


def test_incoming_history_never_undoes_a_waiting_action(emulator, mailbox, gmail, three_threads):
    thread = three_threads[1]
    message_id = thread.messages.get().gmail_id
    services.thread_archive(thread=thread)
    # Meanwhile, in Gmail (another client), the same message is starred, and the history
    # expires, so the next sync fetches every message whole, still in INBOX at Gmail.
    gmail.users().messages().modify(
        userId="me", id=message_id, body={"addLabelIds": ["STARRED"]}
    ).execute()
    emulator.expire_history(ALICE)

    sync(mailbox)

    thread.refresh_from_db()
    assert thread.is_starred
    assert "thread 1" not in inbox_subjects(mailbox.user)
    outbox_flush(account_id=mailbox.pk)
    sync(mailbox)
    assert_mirror_equals_gmail(emulator, mailbox)


def test_a_refused_action_is_shown_and_the_mirror_shows_gmail_again(
    emulator, mailbox, three_threads
):
    thread = three_threads[2]
    believe_delete_allowed(mailbox)
    thread.refresh_from_db()
    services.thread_delete_forever(thread=thread)  # gmail.modify may not delete for good
    assert not Message.objects.filter(thread_id=thread.pk).exists()

    outbox_flush(account_id=mailbox.pk)
    sync(mailbox)  # the sync that the refusal asked for fetches Gmail's truth again

    failed = sidebar(
        user=mailbox.user, accounts=gmail_accounts_of(user=mailbox.user)
    ).failed_actions
    assert [a.kind for a in failed] == ["Delete forever"]
    assert "still in Gmail" in failed[0].last_error and failed[0].account_email == mailbox.email
    assert Message.objects.filter(account=mailbox, subject="thread 2").exists()
    assert_mirror_equals_gmail(emulator, mailbox)


def test_a_transient_failure_keeps_the_action_until_gmail_takes_it(
    emulator, mailbox, three_threads
):
    services.thread_star(thread=three_threads[0])
    emulator.set_faults(error_rate=1.0, statuses=[503], methods=["users.messages.batchModify"])

    retry_at = outbox_flush(account_id=mailbox.pk).retry_at

    assert retry_at is not None
    action = OutboxAction.objects.get()
    assert action.state == OutboxAction.State.PENDING and action.attempts == 1
    emulator.set_faults(error_rate=0.0)
    assert outbox_flush(account_id=mailbox.pk).retry_at is None
    assert not OutboxAction.objects.exists()
    assert_mirror_equals_gmail(emulator, mailbox)


def test_sending_delivers_once_even_when_retried(emulator, mailbox, alice):
    emulator.create_user(BOB, "Bob")
    message = email.message.EmailMessage()
    message["To"] = BOB
    message["Subject"] = "Dinner?"
    message.set_content("Are you free on Friday?")

    action = services.message_send(account=mailbox, message=message)
    outbox_flush(account_id=mailbox.pk)
    # As if the worker died after Gmail accepted it but before the outbox knew.
    action.pk = None
    action.attempts = 1
    action.save()
    outbox_flush(account_id=mailbox.pk)

    assert not OutboxAction.objects.exists()
    assert len(emulator.state(BOB)["messages"]) == 1
    sync(mailbox)
    sent = Message.objects.get(account=mailbox, subject="Dinner?")
    assert "SENT" in sent.labels.values_list("gmail_id", flat=True)
