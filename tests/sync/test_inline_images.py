"""Inline images (`cid:`): the thread page points each at Tern's `/mail/inline/<token>/`,
the iframe's own CSP allows that path, and the path serves the image's bytes from Gmail
(the emulator) without a session (the sandboxed iframe sends none), only for a token Tern
signed for the image's owner."""

import html
import re

import pytest
from django.test import Client
from django.urls import reverse

from mail import images
from mail.models import Attachment, Thread
from support.mailbox import sync_until_done as sync
from tests.sync.helpers import deliver, raw_message

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_celery")]

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


def with_inline_image(gmail, mailbox, *, html_body, mime=("image", "png"), data=PNG):
    message = raw_message(to=mailbox.email, subject="Our logo", html=html_body)
    message.get_payload()[1].add_related(
        data, maintype=mime[0], subtype=mime[1], cid="<logo.1@example.com>"
    )
    sent = deliver(gmail, message)
    sync(mailbox)
    return Thread.objects.get(account=mailbox, gmail_id=sent["threadId"])


def iframe_document(client, thread):
    page = client.get(thread.get_absolute_url()).content.decode()
    return html.unescape(re.search(r'srcdoc="([^"]*)"', page)[1])


def fetch(url):
    response = Client().get(url)  # no session, as from the sandboxed iframe
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response, body


def test_a_cid_image_is_shown_from_tern_with_its_bytes(client, emulator, mailbox, gmail):
    thread = with_inline_image(
        gmail, mailbox, html_body='<p>Hi</p><img src="cid:logo.1@example.com">'
    )
    client.force_login(mailbox.user)

    document = iframe_document(client, thread)

    url = re.search(r'<img src="(http://testserver/mail/inline/[^"]+/)"', document)[1]
    assert "img-src data: http://testserver/mail/inline/;" in document
    response, body = fetch(url.removeprefix("http://testserver"))
    assert response.status_code == 200 and body == PNG
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]


def test_a_cid_that_names_no_image_of_the_message_loads_nothing(client, emulator, mailbox, gmail):
    thread = with_inline_image(
        gmail, mailbox, html_body='<img src="cid:other@example.com" alt="x">'
    )
    client.force_login(mailbox.user)

    document = iframe_document(client, thread)

    assert "cid:" not in document and "/mail/inline/" not in document
    assert '<img alt="x">' in document


def test_an_inline_svg_is_not_served(client, emulator, mailbox, gmail):
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    with_inline_image(
        gmail,
        mailbox,
        html_body='<img src="cid:logo.1@example.com">',
        mime=("image", "svg+xml"),
        data=svg,
    )
    attachment = Attachment.objects.get(message__account=mailbox)

    response, _ = fetch(images.inline_path(user_id=mailbox.user.pk, attachment_id=attachment.pk))

    assert response.status_code == 404


def test_a_token_tern_did_not_sign_for_the_owner_is_404(client, emulator, mailbox, gmail, bob):
    with_inline_image(gmail, mailbox, html_body='<img src="cid:logo.1@example.com">')
    attachment = Attachment.objects.get(message__account=mailbox)
    good = images.inline_path(user_id=mailbox.user.pk, attachment_id=attachment.pk)

    # Bob's own signed token naming Alice's image, and a tampered one.
    bobs = images.inline_path(user_id=bob.pk, attachment_id=attachment.pk)
    tampered = good[:-3] + ("A" if good[-3] != "A" else "B") + good[-2:]

    assert fetch(good)[0].status_code == 200
    assert fetch(bobs)[0].status_code == 404
    assert fetch(tampered)[0].status_code == 404
    assert fetch(reverse("inline_image", args=["not-a-token"]))[0].status_code == 404
