"""What Gmail does to MIME, through the emulator, and the mirror reading it right.

Gmail serves every text body converted to UTF-8 while the part's Content-Type keeps the
charset the sender declared (ISO-2022-JP, Shift_JIS...), and expands an attached message
(message/rfc822) into its own tree of parts below the part that holds it.
"""

import base64
import email.message
import io
import json
import quopri

import pytest
from django.core.management import call_command

from mail.models import Attachment, Message, SkippedMessage
from support.mailbox import sync_until_done as sync
from tests.sync.helpers import raw_message

pytestmark = pytest.mark.django_db

ALICE = "alice@example.com"
LEGACY = [
    (
        "iso-2022-jp",
        "7bit",
        "会議の議題について",
        "来週の会議の議題について、よろしくお願いします。",
    ),
    ("shift_jis", "base64", "打ち合わせ", "来週の打ち合わせは木曜日の十時からです。"),
    ("windows-1252", "quoted-printable", "Café crème", "Une crème brûlée, naïve façade — 20 €."),
    ("koi8-r", "8bit", "Встреча", "Встреча в пятницу в десять утра, Мария."),
]


def legacy_raw(charset: str, encoding: str, subject: str, text: str) -> bytes:
    """A text/plain mail written wholly in `charset`, subject included (RFC 2047)."""
    encoded = text.encode(charset)
    if encoding == "base64":
        encoded = base64.encodebytes(encoded)
    elif encoding == "quoted-printable":
        encoded = quopri.encodestring(encoded)
    word = base64.b64encode(subject.encode(charset)).decode()
    head = (
        "From: Legacy Sender <sender@legacy.example>\r\n"
        f"To: {ALICE}\r\nSubject: =?{charset}?B?{word}?=\r\n"
        f"Message-ID: <{charset}@legacy.example>\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: text/plain; charset={charset}\r\n"
        f"Content-Transfer-Encoding: {encoding}\r\n\r\n"
    )
    return head.encode("ascii") + encoded


def import_raw(gmail, data: bytes) -> dict:
    body = {"raw": base64.urlsafe_b64encode(data).decode(), "labelIds": ["INBOX", "UNREAD"]}
    return gmail.users().messages().import_(userId="me", body=body).execute()


def dump_content(email_address: str) -> dict:
    out = io.StringIO()
    call_command("mailbox_dump", email_address, "--content", stdout=out)
    return json.loads(out.getvalue())["messages"]


def test_a_mail_in_each_legacy_charset_reads_right_in_the_mirror(emulator, mailbox, gmail):
    ids = {
        charset: import_raw(gmail, legacy_raw(charset, encoding, subject, text))["id"]
        for charset, encoding, subject, text in LEGACY
    }

    sync(mailbox)

    dumped = dump_content(ALICE)
    for charset, _, subject, text in LEGACY:
        message = Message.objects.get(account=mailbox, gmail_id=ids[charset])
        assert message.subject == subject
        assert message.body_text.strip() == text, charset
        assert dumped[ids[charset]]["text"].strip() == text
        assert dumped[ids[charset]]["subject"] == subject
        assert dumped[ids[charset]]["sender"] == "Legacy Sender <sender@legacy.example>"


def test_raw_8bit_bodies_without_a_usable_charset_read_right(emulator, mailbox, gmail):
    def plain(content_type: str, body: bytes) -> bytes:
        head = f"From: x@legacy.example\r\nSubject: {content_type}\r\nContent-Type: {content_type}"
        return head.encode() + b"\r\n\r\n" + body

    import_raw(gmail, plain("text/plain", "Grüße aus Köln".encode()))
    import_raw(gmail, plain("text/plain", "Grüße aus Köln".encode("cp1252")))
    import_raw(gmail, plain("text/plain; charset=x-unknown", "Grüße aus Köln".encode("cp1252")))
    import_raw(gmail, plain("text/plain; charset=us-ascii", "Grüße aus Köln".encode()))

    sync(mailbox)

    texts = [m.body_text.strip() for m in Message.objects.filter(account=mailbox)]
    assert texts == ["Grüße aus Köln"] * 4


def forwarded_as_attachment() -> bytes:
    inner = email.message.EmailMessage()
    inner["From"] = "Zoë Bäcker <zoe@bakery.example>"
    inner["To"] = "bob@example.com"
    inner["Subject"] = "The original menu"
    inner.set_content("INNER TEXT: the menu for Saturday.")
    inner.add_alternative("<p>INNER HTML</p>", subtype="html")
    inner.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="menu.pdf")
    outer = raw_message(to=ALICE, subject="Fwd: the menu", body="Bob here: see the attached mail.")
    outer.add_attachment(inner)
    return outer.as_bytes()


def test_an_attached_message_is_one_attachment_not_part_of_the_body(emulator, mailbox, gmail):
    stored = import_raw(gmail, forwarded_as_attachment())

    sync(mailbox)

    message = Message.objects.get(account=mailbox, gmail_id=stored["id"])
    assert message.body_text.strip() == "Bob here: see the attached mail."
    assert "INNER" not in message.body_text and "INNER" not in message.body_html
    (attached,) = Attachment.objects.filter(message=message)
    assert attached.mime_type == "message/rfc822"
    assert attached.filename == "The original menu"
    assert attached.part_id == "1" and not attached.is_inline
    assert attached.gmail_attachment_id and attached.size > 100
    assert message.has_attachments
    assert not SkippedMessage.objects.exists()


@pytest.mark.parametrize(
    ("charset", "data", "text"),
    [
        ("koi8-r", "Привет".encode("koi8-r"), "Привет"),
        ("x-unknown", "Grüße".encode("cp1252"), "Grüße"),
        ("us-ascii", "Grüße".encode("cp1252"), "Grüße"),
        ("koi8-r", "Привет".encode(), "Привет"),  # converted by Gmail: the header lies
    ],
)
def test_bytes_that_are_not_utf8_fall_back_to_the_declared_charset(charset, data, text):
    from mail.mirror import parse_message

    resource = {
        "id": "18c0ffee",
        "threadId": "18c0ffee",
        "payload": {
            "mimeType": "text/plain",
            "headers": [{"name": "Content-Type", "value": f"text/plain; charset={charset}"}],
            "body": {"size": len(data), "data": base64.urlsafe_b64encode(data).decode()},
        },
    }

    assert parse_message(resource).fields["body_text"] == text
