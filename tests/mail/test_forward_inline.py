"""A forward of an HTML message keeps it as HTML: the original's body (through the mail
allowlist) below the forward's header lines, its inline `cid:` images sent beside it in
multipart/related, byte for byte, and shown in place at the recipient's end, in Tern
too; its other files stay attachments. Against the emulator, Erin receiving."""

import base64
import email.message
import html
import re

import pytest
from django.urls import reverse

from mail.models import Attachment, Thread
from support.mailbox import account_connect
from support.mailbox import sync_until_done as sync
from tests.accounts.factories import UserFactory
from tests.mail.test_compose import BOB, flush, post, received

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_celery")]

PICTURE = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20
REPORT = b"%PDF-1.4 " + b"r" * 3000


@pytest.fixture
def erin_identity(emulator):
    return emulator.create_user("erin@example.com", "Erin")


@pytest.fixture
def erin(emulator, erin_identity):
    return emulator.gmail("erin@example.com")


@pytest.fixture
def html_from_bob(emulator, mailbox, settings):
    """Bob's HTML mail to Alice: a logo shown inline by cid:, a script, a PDF attached."""
    settings.UNDO_SEND_SECONDS = 0
    emulator.create_user(BOB, "Bob Example")
    message = email.message.EmailMessage()
    message["From"] = f"Bob Example <{BOB}>"
    message["To"] = mailbox.email
    message["Subject"] = "Launch plan"
    message.set_content("The plan, in HTML.")
    message.add_alternative(
        '<p>The <b>plan</b>:</p><img src="cid:logo@bob" alt="Logo">'
        "<script>alert(1)</script><p>Bob</p>",
        subtype="html",
    )
    message.get_body(("html",)).add_related(
        PICTURE, maintype="image", subtype="png", cid="<logo@bob>", filename="logo.png"
    )
    message.add_attachment(REPORT, maintype="application", subtype="pdf", filename="plan.pdf")
    raw = base64.urlsafe_b64encode(message.as_bytes()).decode()
    emulator.gmail(BOB).users().messages().send(userId="me", body={"raw": raw}).execute()
    sync(mailbox)
    return Thread.objects.get().messages.get()


def forward(client, mailbox, message, erin, **fields):
    """The forward as the page starts it, sent to Erin; what Erin receives."""
    client.force_login(mailbox.user)
    page = client.get(reverse("mail:reply", args=[message.pk]) + "?mode=forward").content
    assert b"goes with its formatting and inline images" in page
    body = html.unescape(re.search(rb"<textarea[^>]*>\n?(.*?)</textarea>", page, re.S)[1].decode())
    fields = {"body": "Erin, see below.\n" + body, **fields}
    post(
        client,
        mailbox,
        "send",
        reply_to=message.pk,
        mode="forward",
        to="erin@example.com",
        subject="Fwd: Launch plan",
        **fields,
    )
    flush(mailbox)
    [(_, got)] = received(erin)
    return got


def test_a_forward_keeps_the_html_and_its_inline_image_in_place(
    client, mailbox, html_from_bob, erin, erin_identity, emulator
):
    got = forward(client, mailbox, html_from_bob, erin)

    sent = got.get_body(("html",)).get_content()
    assert "Erin, see below." in sent
    assert "---------- Forwarded message ---------" in sent
    assert "<b>plan</b>" in sent and 'src="cid:logo@bob"' in sent
    assert "<script" not in sent and "alert(1)" not in sent
    related = got.get_body(("related",))
    assert related.get_content_type() == "multipart/related"
    [logo] = [part for part in related.iter_parts() if part["Content-ID"] == "<logo@bob>"]
    assert logo.get_content() == PICTURE
    assert logo.get_content_disposition() == "inline"
    [pdf] = list(got.iter_attachments())
    assert pdf.get_filename() == "plan.pdf" and pdf.get_content() == REPORT
    assert "Forwarded message" in got.get_body(("plain",)).get_content()

    # Erin reads it in Tern: the logo is shown in place, from its attachment.
    erin_user = UserFactory(username="erin", email="erin@example.com")
    account = account_connect(
        emulator, user=erin_user, email="erin@example.com", name="Erin", identity=erin_identity
    )
    sync(account)
    thread = Thread.objects.get(account=account)
    assert Attachment.objects.get(message__account=account, content_id="logo@bob").size
    client.force_login(erin_user)
    page = client.get(reverse("mail:thread", args=[thread.pk])).content.decode()
    inline_prefix = reverse("inline_image", args=["TOKEN"]).split("TOKEN")[0]
    assert inline_prefix in page  # the cid: reference, shown from Tern's copy


def test_a_forward_whose_text_no_longer_holds_the_original_sends_it_as_written(
    client, mailbox, html_from_bob, erin
):
    got = forward(client, mailbox, html_from_bob, erin, body="Just my own words")

    assert got.get_body(("html",)) is None  # plain text, as typed
    assert got.get_body(("plain",)).get_content().strip() == "Just my own words"
    # The files carried with the forward still go (the user can remove them before).
    assert sorted(part.get_filename() for part in got.iter_attachments()) == [
        "logo.png",
        "plan.pdf",
    ]
