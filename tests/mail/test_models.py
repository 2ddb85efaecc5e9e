import pytest
from django.db import IntegrityError, transaction

from accounts.models import GmailAccount
from mail.models import Attachment, Label, Message, MessageLabel, Thread, ThreadLabel
from sync.models import GmailWatch, SyncStatus
from tests.mail.factories import AttachmentFactory, LabelFactory, MessageFactory, ThreadFactory

pytestmark = pytest.mark.django_db


def message_fields(thread, **overrides):
    return {
        "thread": thread,
        "subject": "Quarterly report",
        "internal_date": thread.last_message_at,
        **overrides,
    }


def test_upserting_a_message_twice_by_gmail_id_keeps_one_row(alice_mailbox):
    thread = ThreadFactory(account=alice_mailbox)

    for subject in ("first", "second"):
        Message.objects.update_or_create(
            account=alice_mailbox,
            gmail_id="18f2a",
            defaults=message_fields(thread, subject=subject),
        )

    assert list(Message.objects.values_list("gmail_id", "subject")) == [("18f2a", "second")]


def test_bulk_upserts_by_gmail_id_are_idempotent(alice_mailbox):
    thread = ThreadFactory(account=alice_mailbox)

    def upsert(snippet):
        rows = [
            Message(
                account=alice_mailbox, gmail_id=f"m{i}", snippet=snippet, **message_fields(thread)
            )
            for i in range(3)
        ]
        Message.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["account", "gmail_id"],
            update_fields=["snippet"],
        )

    upsert("old")
    upsert("new")

    assert sorted(Message.objects.values_list("gmail_id", "snippet")) == [
        ("m0", "new"),
        ("m1", "new"),
        ("m2", "new"),
    ]


@pytest.mark.parametrize(
    ("model", "make"),
    [
        (Label, lambda account: LabelFactory.build(account=account, gmail_id="Label_1")),
        (Thread, lambda account: ThreadFactory.build(account=account, gmail_id="t1")),
    ],
)
def test_the_database_refuses_a_second_row_for_the_same_gmail_id(alice_mailbox, model, make):
    make(alice_mailbox).save()

    with pytest.raises(IntegrityError), transaction.atomic():
        make(alice_mailbox).save()

    assert model.objects.count() == 1


def test_the_same_gmail_id_may_exist_in_two_accounts(alice_mailbox, bob_mailbox):
    ThreadFactory(account=alice_mailbox, gmail_id="t1")
    ThreadFactory(account=bob_mailbox, gmail_id="t1")

    assert Thread.objects.filter(gmail_id="t1").count() == 2


def test_deleting_an_account_removes_its_mail_and_nothing_else(alice_mailbox, bob_mailbox):
    for account in (alice_mailbox, bob_mailbox):
        thread = ThreadFactory(account=account, label_ids=["INBOX", "Label_7"])
        message = MessageFactory(thread=thread, label_ids=["INBOX", "Label_7"])
        AttachmentFactory(message=message)
        SyncStatus.objects.create(account=account, history_id=100)
        GmailWatch.objects.create(account=account, topic="projects/p/topics/t")

    alice_mailbox.delete()

    for model in (Label, Thread, ThreadLabel, Message, MessageLabel, Attachment):
        assert (
            model.objects.count()
            == model.objects.filter(**owned_by(model, bob_mailbox)).count()
            > 0
        ), model
    assert list(GmailAccount.objects.all()) == [bob_mailbox]
    assert SyncStatus.objects.get().account == bob_mailbox
    assert GmailWatch.objects.get().account == bob_mailbox


def owned_by(model, account):
    return {
        Label: {"account": account},
        Thread: {"account": account},
        ThreadLabel: {"thread__account": account},
        Message: {"account": account},
        MessageLabel: {"message__account": account},
        Attachment: {"message__account": account},
    }[model]
