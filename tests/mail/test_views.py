import pytest
from django.urls import reverse

from mail.models import OutboxAction
from tests.mail.factories import ThreadFactory

pytestmark = pytest.mark.django_db


def test_a_signed_in_visitor_of_the_landing_page_goes_to_the_inbox(client, alice):
    client.force_login(alice)

    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"] == "/mail/"


def test_the_landing_page_offers_google_sign_in(client):
    response = client.get("/")

    assert response.status_code == 200
    assert "Sign in with Google" in response.text
    assert 'action="/accounts/google/login/' in response.text


def test_the_inbox_shows_only_the_users_own_threads(client, alice_mailbox, bob_mailbox):
    ThreadFactory(account=alice_mailbox, subject="Lunch on Friday?", label_ids=["INBOX"])
    ThreadFactory(account=bob_mailbox, subject="Bob's secret", label_ids=["INBOX"])
    client.force_login(alice_mailbox.user)

    response = client.get(reverse("mail:inbox"))

    assert "Lunch on Friday?" in response.text
    assert "Bob&#x27;s secret" not in response.text and "Bob's secret" not in response.text


def test_the_inbox_needs_a_signed_in_user(client):
    response = client.get(reverse("mail:inbox"))

    assert response.status_code == 302
    assert response["Location"].startswith("/?next=")


def test_an_action_gmail_refused_is_shown_until_dismissed(client, alice_mailbox, bob_mailbox):
    refused = OutboxAction.objects.create(
        account=alice_mailbox,
        kind=OutboxAction.Kind.DELETE,
        state=OutboxAction.State.FAILED,
        last_error="Gmail did not allow deleting forever.",
    )
    bobs = OutboxAction.objects.create(
        account=bob_mailbox, kind=OutboxAction.Kind.DELETE, state=OutboxAction.State.FAILED
    )
    client.force_login(alice_mailbox.user)

    page = client.get(reverse("mail:inbox")).content.decode()
    assert "Delete forever" in page and "did not allow deleting forever" in page

    assert client.post(reverse("mail:dismiss_failed_action", args=[bobs.pk])).status_code == 404
    client.post(reverse("mail:dismiss_failed_action", args=[refused.pk]))
    assert "did not allow" not in client.get(reverse("mail:inbox")).content.decode()
    assert OutboxAction.objects.filter(pk=bobs.pk).exists()
