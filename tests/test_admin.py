"""Every model is in Django admin, and its changelist renders for a superuser."""

import pytest
from django.contrib import admin
from django.urls import reverse

from mail.models import OutboxAction, Thread
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
        account=alice_mailbox, kind=OutboxAction.Kind.MODIFY, message_ids=[message.gmail_id]
    )
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
    }


@pytest.mark.parametrize("model", APP_MODELS, ids=lambda m: m.__name__)
def test_the_changelist_renders_with_a_row(admin_client, mailbox_with_mail, model):
    meta = model._meta
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")

    response = admin_client.get(url, {"q": ""})

    assert response.status_code == 200
    assert response.context["cl"].result_count >= 1


def test_the_thread_changelist_shows_subjects_and_searches_them(admin_client, mailbox_with_mail):
    ThreadFactory(account=mailbox_with_mail, subject="Holiday plans")
    url = reverse("admin:mail_thread_changelist")

    response = admin_client.get(url, {"q": "budget"})

    assert [t.subject for t in response.context["cl"].result_list] == ["Budget 2027"]
    assert "Budget 2027" in response.text


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
