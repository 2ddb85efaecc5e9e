"""Delete forever: messages.batchDelete needs the full scope https://mail.google.com/
(GMAIL_SCOPES); under gmail.modify alone Gmail answers 403, so Tern neither offers nor
queues it."""

import datetime as dt

import pytest

from accounts.credentials import tokens_store
from accounts.models import GmailAccount
from mail import services
from mail.actions import ACTIONS, ActionNotAllowed, Kind
from mail.models import Message, OutboxAction, Thread
from support.mailbox import sync_until_done as sync
from sync.outbox import outbox_flush
from tests.sync.helpers import FULL_SCOPES, assert_mirror_equals_gmail, deliver, raw_message

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_celery")]

ALICE = "alice@example.com"


def connect_with(emulator, user, scopes):
    """Alice's mailbox connected with tokens the emulator issued for `scopes`."""
    identity = emulator.create_user(ALICE, "Alice Example")
    tokens = emulator.issue_tokens(ALICE, scopes)
    account = GmailAccount.objects.create(user=user, email=ALICE, google_sub=identity["sub"])
    tokens_store(
        account=account,
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
        expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=tokens["expires_in"]),
        scopes=tokens["scope"].split(),
    )
    return account


def one_thread(emulator, account, subject):
    gmail = emulator.gmail_issued(ALICE, FULL_SCOPES)
    deliver(gmail, raw_message(to=ALICE, subject=subject))
    sync(account)
    return Thread.objects.get(account=account, subject=subject)


def test_with_the_full_scope_delete_forever_is_offered_and_deletes_at_gmail(emulator, alice):
    account = connect_with(emulator, alice, FULL_SCOPES)
    thread = one_thread(emulator, account, "Gone for good")

    assert account.can_delete_forever
    services.thread_delete_forever(thread=thread)
    outbox_flush(account_id=account.pk)
    sync(account)

    assert emulator.state(ALICE)["messages"] == {}  # not in Trash: gone
    assert not Message.objects.filter(account=account).exists()
    assert not OutboxAction.objects.exists()  # accepted, nothing failed
    assert_mirror_equals_gmail(emulator, account)


def test_without_it_delete_forever_is_refused_before_it_is_queued(emulator, alice, mailbox):
    thread = one_thread(emulator, mailbox, "Keep me")

    assert not mailbox.can_delete_forever
    with pytest.raises(ActionNotAllowed) as refused:
        services.thread_delete_forever(thread=thread)

    assert "does not include deleting forever" in str(refused.value)
    assert "Trash" in str(refused.value)
    assert not OutboxAction.objects.exists()
    assert Message.objects.filter(account=mailbox, subject="Keep me").exists()
    assert len(emulator.state(ALICE)["messages"]) == 1
    assert_mirror_equals_gmail(emulator, mailbox)


def test_the_table_names_the_scope_delete_forever_needs():
    delete = ACTIONS[Kind.DELETE]

    assert not delete.allowed_with({"https://www.googleapis.com/auth/gmail.modify"})
    assert delete.allowed_with({"https://mail.google.com/"})
    assert all(
        action.allowed_with(set()) for kind, action in ACTIONS.items() if kind != Kind.DELETE
    )
