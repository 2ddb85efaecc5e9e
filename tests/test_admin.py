"""Every model is in Django admin, and its changelist renders for a superuser."""

import pytest
from django.contrib import admin
from django.urls import reverse

from mail.models import Attachment, Message, OutboxAction, SkippedMessage, Thread
from sync.models import GmailWatch, SyncStatus
from tests.mail.factories import AttachmentFactory, MessageFactory, ThreadFactory

pytestmark = pytest.mark.django_db

APP_MODELS = [
    model for model in admin.site._registry if model._meta.app_label in {"accounts", "mail", "sync"}
]


@pytest.fixture
def mailbox_with_mail(alice_mailbox):
    thread = ThreadFactory(account=alice_mailbox, subject="Budget 2027", label_ids=["INBOX"])
    message = MessageFactory(thread=thread, label_ids=["INBOX"])
    AttachmentFactory(message=message, filename="budget.xlsx")
    SyncStatus.objects.create(account=alice_mailbox, history_id=4242)
    GmailWatch.objects.create(account=alice_mailbox, topic="projects/tern/topics/gmail")
    OutboxAction.objects.create(
        account=alice_mailbox, kind=OutboxAction.Kind.LABELS, message_ids=[message.gmail_id]
    )
    SkippedMessage.objects.create(account=alice_mailbox, gmail_id="18c0ffee", error="DataError")
    return alice_mailbox


def test_every_model_of_ours_is_registered():
    names = {model.__name__ for model in APP_MODELS}

    assert names >= {
        "User",
        "GmailAccount",
        "Label",
        "Thread",
        "Message",
        "Attachment",
        "SyncStatus",
        "GmailWatch",
        "OutboxAction",
        "SkippedMessage",
    }


@pytest.mark.parametrize("model", APP_MODELS, ids=lambda m: m.__name__)
def test_the_changelist_renders_with_a_row(admin_client, mailbox_with_mail, model):
    meta = model._meta
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")

    response = admin_client.get(url, {"q": ""})

    assert response.status_code == 200
    assert response.context["cl"].result_count >= 1


@pytest.mark.parametrize("model", [Thread, Message, Attachment], ids=lambda m: m.__name__)
def test_operators_see_the_mirror_state_but_never_the_mail(admin_client, mailbox_with_mail, model):
    row = model.objects.first()
    meta = model._meta
    changelist = admin_client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
    change = admin_client.get(
        reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[row.pk])
    )
    searched = admin_client.get(
        reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"), {"q": "Budget"}
    )

    for response in (changelist, change):
        assert response.status_code == 200
        assert "Budget 2027" not in response.text
        assert "budget.xlsx" not in response.text
    assert "<textarea" not in change.text and 'name="subject"' not in change.text  # read-only
    assert searched.context["cl"].result_count == 0  # a subject is not searchable
    assert admin_client.post(change.request["PATH_INFO"], {}).status_code == 403


def test_the_account_page_never_shows_credentials(admin_client, mailbox_with_mail):
    mailbox_with_mail.encrypted_credentials = b"gAAAAA-secret-blob"
    mailbox_with_mail.save()
    url = reverse("admin:accounts_gmailaccount_change", args=[mailbox_with_mail.pk])

    response = admin_client.get(url)

    assert response.status_code == 200
    assert "secret-blob" not in response.text
    assert "credentials" not in response.text.lower()


def test_thread_admin_is_mounted():
    assert isinstance(admin.site._registry[Thread], admin.ModelAdmin)


def test_admin_login_is_locked_after_repeated_failures(client, db):
    from accounts.models import User

    User.objects.create_superuser("root", "root@example.com", "the-right-password-42")
    answers = [
        client.post("/admin/login/?next=/admin/", {"username": "root", "password": "a-guess"})
        for _ in range(5)
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 429]  # the 5th locks

    locked = client.post(
        "/admin/login/?next=/admin/", {"username": "root", "password": "the-right-password-42"}
    )

    assert locked.status_code == 429
    assert client.get("/admin/").status_code == 302  # still not signed in
