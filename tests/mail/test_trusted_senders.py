"""“Always show from this sender”: that sender's mail shows its images at once, through
the proxy; others' stay hidden; the list is the user's own and editable."""

import re

import pytest
from django.urls import reverse

from mail.models import Message, TrustedSender
from tests.mail.test_thread_page import synced_thread
from tests.sync.helpers import deliver, raw_message

pytestmark = pytest.mark.django_db

BANNER = '<p>Sale!</p><img src="https://cdn.shop.example/banner.png" alt="Banner">'
CAROL = "Carol Sender <Carol@Elsewhere.example>"


def a_thread(gmail, mailbox, sender=CAROL):
    sent = deliver(gmail, raw_message(to=mailbox.email, sender=sender, html=BANNER))
    return synced_thread(mailbox, sent["threadId"])


def srcdoc(client, thread):
    page = client.get(thread.get_absolute_url()).content.decode()
    return page, re.search(r'srcdoc="([^"]*)"', page).group(1)


def test_always_show_from_this_sender_shows_their_images_from_then_on(client, mailbox, gmail):
    thread = a_thread(gmail, mailbox)
    message = Message.objects.get(thread=thread)
    client.force_login(mailbox.user)
    page, document = srcdoc(client, thread)
    assert "Always show from this sender" in page and "/mail/image/" not in document

    response = client.post(reverse("mail:sender_trust"), {"message": message.pk})

    assert response.status_code == 303
    assert response["Location"] == f"{thread.get_absolute_url()}#message-{message.pk}"
    assert "@" not in response["Location"]
    assert list(TrustedSender.objects.values_list("address", flat=True)) == [
        "carol@elsewhere.example"
    ]
    toast = client.get(response["Location"]).content.decode()
    assert "Images from carol@elsewhere.example will always be shown." in toast
    later = a_thread(gmail, mailbox)  # another mail from Carol
    page, document = srcdoc(client, later)
    assert "img src=&quot;http://testserver/mail/image/" in document
    assert "shop.example" not in page  # through the proxy, never the sender's URL
    assert "Show images" not in page and "Always show from this sender" not in page


def test_another_sender_s_images_stay_hidden(client, mailbox, gmail):
    TrustedSender.objects.create(user=mailbox.user, address="carol@elsewhere.example")
    thread = a_thread(gmail, mailbox, sender="Dave <dave@elsewhere.example>")
    client.force_login(mailbox.user)

    page, document = srcdoc(client, thread)

    assert "/mail/image/" not in document and "Show images" in page


def test_the_list_shows_them_and_forgetting_hides_images_again(client, mailbox, gmail):
    thread = a_thread(gmail, mailbox)
    sender = TrustedSender.objects.create(user=mailbox.user, address="carol@elsewhere.example")
    client.force_login(mailbox.user)
    listed = client.get(reverse("mail:trusted_senders")).content.decode()
    assert "carol@elsewhere.example" in listed

    response = client.post(reverse("mail:sender_forget", args=[sender.pk]), follow=True)

    assert "will be hidden again" in response.content.decode()
    assert not TrustedSender.objects.exists()
    assert "/mail/image/" not in srcdoc(client, thread)[1]


def test_another_user_can_neither_trust_through_nor_forget_for_her(client, mailbox, gmail, bob):
    thread = a_thread(gmail, mailbox)
    message = Message.objects.get(thread=thread)
    sender = TrustedSender.objects.create(user=mailbox.user, address="carol@elsewhere.example")
    client.force_login(bob)

    assert client.post(reverse("mail:sender_trust"), {"message": message.pk}).status_code == 404
    assert client.post(reverse("mail:sender_forget", args=[sender.pk])).status_code == 404
    assert "carol@" not in client.get(reverse("mail:trusted_senders")).content.decode()
    assert TrustedSender.objects.count() == 1
