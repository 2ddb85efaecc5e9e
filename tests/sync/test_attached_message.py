"""An attached message (message/rfc822) shown as a message: fetched from Gmail (the
emulator) through the account's client, its headers escaped, its HTML body sanitised
into the sandboxed document with remote images hidden, its files listed; only to its
owner, and Gmail's refusals as pages that say so."""

import email.message
import html
import re

import pytest
from django.urls import reverse

from mail.models import Attachment
from support.mailbox import sync_until_done as sync
from tests.sync.helpers import deliver, raw_message

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_celery")]

INNER_HTML = (
    "<p>The <b>original</b> offer.</p><script>alert(1)</script>"
    '<img src="https://cdn.shop.example/banner.png" alt="Banner">'
)


def forwarded(gmail, mailbox, inner):
    outer = raw_message(to=mailbox.email, subject="Fwd: the offer", body="See below.")
    outer.add_attachment(inner)
    deliver(gmail, outer)
    sync(mailbox)
    return Attachment.objects.get(message__account=mailbox, mime_type="message/rfc822")


def an_offer():
    inner = email.message.EmailMessage()
    inner["From"] = "Dave <dave@elsewhere.example>"
    inner["To"] = "carol@elsewhere.example"
    inner["Subject"] = "The original <b>offer</b>"
    inner.set_content("The original offer.")
    inner.add_alternative(INNER_HTML, subtype="html")
    inner.add_attachment(
        b"%PDF-1.4 terms", maintype="application", subtype="pdf", filename="terms.pdf"
    )
    return inner


def test_it_is_shown_as_a_message_with_its_body_sandboxed(client, emulator, mailbox, gmail):
    attachment = forwarded(gmail, mailbox, an_offer())
    client.force_login(mailbox.user)

    response = client.get(reverse("attached_message", args=[attachment.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    assert '<h1 id="attached-subject">The original &lt;b&gt;offer&lt;/b&gt;</h1>' in page
    assert "<dd>Dave &lt;dave@elsewhere.example&gt;</dd>" in page
    iframe = re.search(r"<iframe [^>]*>", page)[0]
    assert 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in iframe
    document = html.unescape(re.search(r'srcdoc="([^"]*)"', iframe)[1])
    assert "<p>The <b>original</b> offer.</p>" in document
    assert "script" not in document and "shop.example" not in page
    assert "Images in an attached message stay hidden" in page
    assert "terms.pdf" in page and "application/pdf" in page
    assert reverse("mail:thread", args=[attachment.message.thread_id]) in page


def test_a_plain_text_attached_message_keeps_its_lines(client, emulator, mailbox, gmail):
    inner = email.message.EmailMessage()
    inner["Subject"] = "Notes"
    inner.set_content("Line one\nLine two <b>not bold</b>")
    attachment = forwarded(gmail, mailbox, inner)
    client.force_login(mailbox.user)

    page = client.get(reverse("attached_message", args=[attachment.pk])).content.decode()

    assert "Line one<br>Line two &lt;b&gt;not bold&lt;/b&gt;" in page


def test_another_user_and_other_attachments_get_404(client, emulator, mailbox, gmail, bob):
    attachment = forwarded(gmail, mailbox, an_offer())
    outer = Attachment.objects.exclude(pk=attachment.pk).filter(message__account=mailbox)
    client.force_login(bob)
    assert client.get(reverse("attached_message", args=[attachment.pk])).status_code == 404
    client.force_login(mailbox.user)
    for other in outer:  # a file, not a message
        assert client.get(reverse("attached_message", args=[other.pk])).status_code == 404


def test_gmail_busy_is_a_page_that_says_so(client, emulator, mailbox, gmail):
    attachment = forwarded(gmail, mailbox, an_offer())
    client.force_login(mailbox.user)
    emulator.set_faults(error_rate=1.0, statuses=[503], methods=["users.messages.attachments.get"])
    try:
        response = client.get(reverse("attached_message", args=[attachment.pk]))
    finally:
        emulator.set_faults(error_rate=0.0)

    assert response.status_code == 503
    assert "Gmail is busy or out of reach just now." in response.content.decode()
