"""A thread's row in a list follows the messages that list shows, as in Gmail: Trash and
Spam messages count only in Trash and Spam, drafts only in Drafts (issue 10, item 13)."""

import base64

import pytest

from mail.models import Message, ThreadLabel
from mail.selectors import thread_list
from support.mailbox import sync_until_done as sync
from tests.sync.helpers import deliver, raw_message

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_celery")]

ALICE = "alice@example.com"


@pytest.fixture
def conversation(emulator, mailbox, gmail):
    """Carol writes (read), then writes again (unread), a minute later: one thread."""
    first = deliver(gmail, raw_message(to=ALICE, subject="Lunch", body="Noon at the cafe?"))
    gmail.users().messages().modify(
        userId="me", id=first["id"], body={"removeLabelIds": ["UNREAD"]}
    ).execute()
    emulator.advance_clock(60)
    sync(mailbox)
    parent = Message.objects.get(gmail_id=first["id"])
    reply = raw_message(
        to=ALICE, subject="Re: Lunch", body="Or one o'clock?", reply_to_id=parent.rfc822_message_id
    )
    second = deliver(gmail, reply)
    assert second["threadId"] == first["threadId"]
    sync(mailbox)
    return first, second


def inbox_row(user):
    [thread] = thread_list(user=user, label_gmail_id="INBOX")
    return thread.snippet, thread.last_message_at, thread.is_unread


def row_in(label_gmail_id, thread_gmail_id):
    return ThreadLabel.objects.get(label_gmail_id=label_gmail_id, thread__gmail_id=thread_gmail_id)


def test_the_inbox_row_follows_the_newest_message(mailbox, conversation):
    _, second = conversation
    newest = Message.objects.get(gmail_id=second["id"])

    assert inbox_row(mailbox.user) == ("Or one o'clock?", newest.internal_date, True)


def test_a_trashed_newest_message_leaves_the_inbox_row_to_the_one_before(
    client, mailbox, gmail, conversation
):
    first, second = conversation
    gmail.users().messages().trash(userId="me", id=second["id"]).execute()

    sync(mailbox)

    earlier = Message.objects.get(gmail_id=first["id"])
    assert inbox_row(mailbox.user) == ("Noon at the cafe?", earlier.internal_date, False)
    client.force_login(mailbox.user)
    page = client.get("/mail/").content.decode()
    assert "Noon at the cafe?" in page and "one o&#x27;clock" not in page
    assert 'class="thread unread"' not in page
    # In Trash, the trashed message is what counts.
    trash = row_in("TRASH", first["threadId"])
    trashed = Message.objects.get(gmail_id=second["id"])
    assert (trash.snippet, trash.last_message_at, trash.is_unread) == (
        "Or one o'clock?",
        trashed.internal_date,
        True,
    )


def test_a_spam_message_does_not_count_in_the_inbox(mailbox, gmail, conversation):
    first, second = conversation
    body = {"addLabelIds": ["SPAM"], "removeLabelIds": ["INBOX"]}
    gmail.users().messages().modify(userId="me", id=second["id"], body=body).execute()

    sync(mailbox)

    assert inbox_row(mailbox.user)[0] == "Noon at the cafe?"
    assert row_in("SPAM", first["threadId"]).snippet == "Or one o'clock?"


def test_a_draft_reply_does_not_change_the_inbox_row(emulator, mailbox, gmail, conversation):
    first, second = conversation
    before = inbox_row(mailbox.user)
    emulator.advance_clock(60)
    parent = Message.objects.get(gmail_id=second["id"])
    draft = raw_message(
        to="carol@elsewhere.example",
        subject="Re: Lunch",
        body="One is fine",
        reply_to_id=parent.rfc822_message_id,
    )
    raw = base64.urlsafe_b64encode(draft.as_bytes()).decode()
    gmail.users().drafts().create(
        userId="me", body={"message": {"raw": raw, "threadId": first["threadId"]}}
    ).execute()

    sync(mailbox)

    assert Message.objects.filter(thread__gmail_id=first["threadId"]).count() == 3
    assert inbox_row(mailbox.user) == before
    drafts = row_in("DRAFT", first["threadId"])
    assert drafts.snippet == "One is fine"
    assert drafts.last_message_at > before[1]
