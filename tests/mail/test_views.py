import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mail.mirror_version import mirror_changed
from mail.models import OutboxAction
from tests.accounts.factories import GmailAccountFactory
from tests.mail.factories import MessageFactory, ThreadFactory

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


def a_mailbox_of(account, threads):
    """`threads` threads with two messages each, in the inbox, some under a user label."""
    for n in range(threads):
        labels = ["INBOX", "Label_1"] if n % 3 else ["INBOX", "IMPORTANT"]
        thread = ThreadFactory(account=account, label_ids=labels, message_count=2)
        MessageFactory(thread=thread, sender="Ann <ann@acme.example>")
        MessageFactory(thread=thread, sender=f"Me <{account.email}>")


def queries_for(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response.content.decode()


def rows_of(page):
    return page.split('<ol class="threads"', 1)[1].split("</ol>", 1)[0]


@pytest.mark.parametrize("url", ["/mail/", "/mail/label/Label_1/", "/mail/label/ALL/"])
def test_a_list_page_costs_the_same_queries_whatever_the_mailbox_or_page(
    client, alice, alice_mailbox, url
):
    work = GmailAccountFactory(user=alice, email="alice@work.example")
    a_mailbox_of(alice_mailbox, 10)
    a_mailbox_of(work, 2)
    client.force_login(alice)
    # The factories write past mail.mirror: say what it would, that the mailboxes changed
    # (the sidebar and the page's rows are made again, their queries counted each time).
    changed = [alice_mailbox.pk, work.pk]
    mirror_changed(account_ids=changed)
    small, _ = queries_for(client, url)

    a_mailbox_of(alice_mailbox, 160)
    a_mailbox_of(work, 20)
    mirror_changed(account_ids=changed)
    large, first = queries_for(client, url)
    older = re.search(r'<a href="([^"]+)" rel="next">', first)[1]
    mirror_changed(account_ids=changed)
    second, page = queries_for(client, older)

    assert first.count('<li class="thread') == page.count('<li class="thread') == 50
    assert small == large == second
    assert large <= 10
    # Nothing changed: the sidebar and the page's rows from the cache.
    warm, kept = queries_for(client, older)
    assert warm == 3  # the session, the user, the accounts: the page is kept
    assert rows_of(kept) == rows_of(page)
