"""The table of user actions, checked entry by entry: each kind's service makes the
table's effect in the mirror at once, and its Gmail call gives Gmail the same labels."""

import base64

import pytest
from googleapiclient.errors import HttpError

from mail import services
from mail.actions import ACTIONS, Call, Effect, Kind
from mail.models import Message, OutboxAction, Thread
from support.mailbox import sync_until_done as sync
from sync.outbox import outbox_flush
from tests.sync.helpers import a_conversation, assert_mirror_equals_gmail, deliver, raw_message

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_celery")]

ALICE = "alice@example.com"
# One service function per kind (the recipe of docs/architecture.md).
SERVICES = {
    Kind.READ: services.thread_mark_read,
    Kind.UNREAD: services.thread_mark_unread,
    Kind.STAR: services.thread_star,
    Kind.UNSTAR: services.thread_unstar,
    Kind.IMPORTANT: services.thread_mark_important,
    Kind.NOT_IMPORTANT: services.thread_mark_not_important,
    Kind.ARCHIVE: services.thread_archive,
    Kind.MOVE_TO_INBOX: services.thread_move_to_inbox,
    Kind.SPAM: services.thread_spam,
    Kind.NOT_SPAM: services.thread_not_spam,
    Kind.TRASH: services.thread_trash,
    Kind.UNTRASH: services.thread_untrash,
    Kind.DELETE: services.thread_delete_forever,
}
LABEL_KINDS = [kind for kind, action in ACTIONS.items() if action.effect == Effect.LABELS]


def test_every_kind_but_the_free_ones_has_its_service():
    # LABELS takes the user's labels; SEND takes a message, and the drafts' kinds a draft
    # (tests/mail/test_compose.py): they have their own tests.
    free = {Kind.LABELS, Kind.SEND, Kind.DRAFT_SAVE, Kind.DRAFT_DELETE}
    assert set(SERVICES) | free == set(Kind)


@pytest.mark.parametrize("kind", [k for k in LABEL_KINDS if k != Kind.LABELS])
def test_each_label_action_makes_its_entry_s_effect_here_and_at_gmail(
    kind, emulator, mailbox, gmail
):
    # Two messages in one thread, so "newest message only" shows.
    thread_id = a_conversation(gmail, to=ALICE, replies=1)
    sync(mailbox)
    first, second = Message.objects.filter(thread__gmail_id=thread_id).order_by(
        "internal_date", "id"
    )
    ids = [first.gmail_id, second.gmail_id]
    for label in ACTIONS[kind].remove:  # give the action something to remove
        if label == "TRASH":  # Gmail puts messages in Trash only by messages.trash
            for gmail_id in ids:
                gmail.users().messages().trash(userId="me", id=gmail_id).execute()
        else:
            body = {"ids": ids, "addLabelIds": [label]}
            gmail.users().messages().batchModify(userId="me", body=body).execute()
    sync(mailbox)
    thread = Thread.objects.get(gmail_id=thread_id)
    spec = ACTIONS[kind]

    SERVICES[kind](thread=thread)

    targets = [second] if spec.newest_message_only else [first, second]
    for message in targets:
        labels = set(Message.objects.get(pk=message.pk).labels.values_list("gmail_id", flat=True))
        assert set(spec.add) <= labels and not set(spec.remove) & labels, (kind, labels)
    assert outbox_flush(account_id=mailbox.pk).retry_at is None
    assert not OutboxAction.objects.exists()
    at_gmail = emulator.state(ALICE)["messages"]
    for message in targets:
        labels = set(at_gmail[message.gmail_id]["labelIds"])
        assert set(spec.add) <= labels and not set(spec.remove) & labels, (kind, labels)


def test_consecutive_actions_that_coalesce_share_one_call(emulator, mailbox, gmail):
    for n in range(3):
        deliver(gmail, raw_message(to=ALICE, subject=f"thread {n}"))
    sync(mailbox)
    threads = list(Thread.objects.filter(account=mailbox))
    services.thread_archive(thread=threads[0])
    services.thread_labels_change(thread=threads[1], remove=["INBOX"])  # the same change
    services.thread_trash(thread=threads[2])  # does not coalesce
    before = emulator.stats()["users"][ALICE]["methods"]

    outbox_flush(account_id=mailbox.pk)

    after = emulator.stats()["users"][ALICE]["methods"]

    def calls(method):
        return after[method]["calls"] - before.get(method, {"calls": 0})["calls"]

    assert ACTIONS[Kind.ARCHIVE].call == ACTIONS[Kind.LABELS].call == Call.BATCH_MODIFY
    assert calls("users.messages.batchModify") == 1
    assert calls("users.messages.trash") == 1
    assert_mirror_equals_gmail(emulator, mailbox)


# --- what Gmail refuses (issue 10, item 15) -------------------------------------------
# The emulator refuses what Gmail refuses: two of INBOX/SPAM/TRASH added at once, SENT,
# DRAFT or CHAT added or removed, a label on a draft. No action of the table may ask it.
MODIFY_KINDS = [kind for kind in LABEL_KINDS if kind != Kind.LABELS] + [Kind.LABELS]
USER_LABEL = "Projects"


def _act(kind, thread, label_id):
    if kind == Kind.LABELS:
        return services.thread_labels_change(thread=thread, add=[label_id])
    return SERVICES[kind](thread=thread)


@pytest.fixture
def thread_with_a_draft(mailbox, gmail):
    """A two-message thread with a draft reply in it, and a user label, mirrored."""
    thread_id = a_conversation(gmail, to=ALICE, replies=1)
    sync(mailbox)
    parent = Message.objects.filter(thread__gmail_id=thread_id).last()
    draft = raw_message(
        to="carol@elsewhere.example",
        subject="Re: Lunch plans",
        reply_to_id=parent.rfc822_message_id,
    )
    reply = base64.urlsafe_b64encode(draft.as_bytes()).decode()
    body = {"message": {"raw": reply, "threadId": thread_id}}
    gmail.users().drafts().create(userId="me", body=body).execute()
    label = gmail.users().labels().create(userId="me", body={"name": USER_LABEL}).execute()
    sync(mailbox)
    thread = Thread.objects.get(gmail_id=thread_id)
    assert thread.messages.filter(labels__gmail_id="DRAFT").count() == 1
    return thread, label["id"]


@pytest.mark.parametrize("kind", MODIFY_KINDS)
def test_no_label_action_labels_the_thread_s_draft(kind, emulator, mailbox, thread_with_a_draft):
    thread, label_id = thread_with_a_draft

    _act(kind, thread, label_id)
    outbox_flush(account_id=mailbox.pk)

    assert not OutboxAction.objects.filter(state=OutboxAction.State.FAILED).exists(), [
        a.last_error for a in OutboxAction.objects.all()
    ]
    assert not OutboxAction.objects.exists()
    assert_mirror_equals_gmail(emulator, mailbox)


@pytest.mark.parametrize("second", [*MODIFY_KINDS, Kind.TRASH, Kind.UNTRASH])
@pytest.mark.parametrize("first", [*MODIFY_KINDS, Kind.TRASH, Kind.UNTRASH])
def test_every_pair_of_actions_reaches_gmail_in_one_flush(
    first, second, emulator, mailbox, thread_with_a_draft
):
    thread, label_id = thread_with_a_draft
    _act(first, thread, label_id)
    _act(second, thread, label_id)
    coalesced = OutboxAction.objects.order_by("id")
    shared = (
        all(action.spec.coalesces for action in coalesced)
        and coalesced[0].label_delta() == coalesced[1].label_delta()
    )
    before = emulator.stats()["users"][ALICE]["methods"]

    outbox_flush(account_id=mailbox.pk)

    errors = [a.last_error for a in OutboxAction.objects.all()]
    assert not errors, (first, second, errors)
    assert_mirror_equals_gmail(emulator, mailbox)
    if shared:
        after = emulator.stats()["users"][ALICE]["methods"]
        method = "users.messages.batchModify"
        calls = after[method]["calls"] - before.get(method, {"calls": 0})["calls"]
        assert calls == 1, (first, second)


@pytest.mark.parametrize(
    ("add", "remove"),
    [
        (["SENT"], []),
        ([], ["DRAFT"]),
        (["CHAT"], []),
        (["INBOX", "TRASH"], []),
        (["SPAM", "INBOX"], []),
    ],
)
def test_a_label_change_gmail_would_refuse_is_refused_here_with_a_reason(
    add, remove, emulator, mailbox, gmail
):
    deliver(gmail, raw_message(to=ALICE, subject="Hello"))
    sync(mailbox)
    thread = Thread.objects.get()
    message_id = thread.messages.get().gmail_id
    body = {"ids": [message_id], "addLabelIds": add, "removeLabelIds": remove}
    with pytest.raises(HttpError):  # what Gmail (the emulator) would answer
        gmail.users().messages().batchModify(userId="me", body=body).execute()

    with pytest.raises(ValueError, match=r"Only Gmail|only one of"):
        services.thread_labels_change(thread=thread, add=add, remove=remove)

    assert not OutboxAction.objects.exists()
