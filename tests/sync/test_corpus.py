"""Any mail a server accepted reaches the mirror, readable.

Every message of tests/fixtures/corpus/ is imported into Alice's Gmail (the emulator)
and synced: none is skipped, and what a person reads (subject, sender, text, files) is
what the sender meant, whatever the mail's brokenness.
"""

import base64

import pytest

from mail.models import Attachment, Message, SkippedMessage
from support.mailbox import sync_until_done as sync
from tests.fixtures.corpus import CORPUS

pytestmark = pytest.mark.django_db

CORPUS_SENDER = "Corpus Sender <sender@corpus.example>"
# file: (subject, sender, words of the text (body_text, or body_html if none), files).
# Files are (name, type); an attached message is named by its subject.
EXPECTED = {
    "01-broken-base64-word.eml": (
        "Broken word here",
        " <mallory@corpus.example>",
        "The sender's name is a broken word.",
        [],
    ),
    "02-unknown-charset-word.eml": ("Qapla' batlh", CORPUS_SENDER, "charset nobody knows", []),
    "03-language-in-word.eml": ("Réunion de lundi", CORPUS_SENDER, "language tag", []),
    "04-split-character.eml": ("Only €100", CORPUS_SENDER, "euro sign split", []),
    "05-glued-word.eml": ("Price:€5 today", CORPUS_SENDER, "glued to the text", []),
    "06-utf8-raw-headers.eml": (
        "Grüße aus Köln",
        "Jörg Müller <jorg@corpus.example>",
        "Raw UTF-8 in the headers",
        [],
    ),
    "07-latin1-raw-headers.eml": (
        "Café à emporter",
        "René Dupré <rene@corpus.example>",
        "La crème brûlée est prête.",
        [],
    ),
    "08-koi8r-raw-headers.eml": (
        "Привет из Москвы",
        "Мария <maria@corpus.example>",
        "До встречи в пятницу.",
        [],
    ),
    "09-unknown-body-charset.eml": ("Unknown body charset", CORPUS_SENDER, "A naïve café", []),
    "10-broken-base64-body.eml": (
        "Broken base64 body",
        CORPUS_SENDER,
        "Hello, broken base64 body",
        [],
    ),
    "11-missing-from.eml": ("Nobody sent this", "", "There is no From header.", []),
    "12-missing-date.eml": ("Timeless", CORPUS_SENDER, "There is no Date header.", []),
    "13-no-headers.eml": ("", "", "Just a body, no headers at all.", []),
    "14-line-without-colon.eml": (
        "A header line without a colon",
        CORPUS_SENDER,
        "Body after a broken header block.",
        [],
    ),
    "15-nul-in-headers.eml": ("Nul inside", CORPUS_SENDER, "Body with a NUL  too.", []),
    "16-lone-cr.eml": ("Old Mac line endings", CORPUS_SENDER, "Lines end in CR only.", []),
    "17-very-long-lines.eml": ("Long word word", CORPUS_SENDER, "x" * 20000 + " end", []),
    "18-multipart-no-boundary.eml": (
        "Multipart without boundary",
        CORPUS_SENDER,
        "Text in a multipart with no boundary.",
        [],
    ),
    "19-boundary-never-found.eml": (
        "Boundary never found",
        CORPUS_SENDER,
        "Text behind the wrong boundary.",
        [],
    ),
    "20-unclosed-multipart.eml": (
        "Never closed",
        CORPUS_SENDER,
        "The first and only part, never closed.",
        [],
    ),
    "21-nested-90.eml": ("Nested 90 deep", CORPUS_SENDER, "The core, 90 levels down.", []),
    # Deeper than Gmail-like nesting: the rest is one opaque part.
    "22-nested-150.eml": ("Nested 150 deep", CORPUS_SENDER, "", [("", "multipart/mixed")]),
    # Too deep for any parser: its headers, and its body as text.
    "23-nested-1100.eml": ("Nested 1100 deep", CORPUS_SENDER, "The core, 1100 levels down.", []),
    "24-rfc822-at-top.eml": (
        "The enclosing message",
        CORPUS_SENDER,
        "",
        [("An enclosed message", "message/rfc822")],
    ),
    "25-digest.eml": (
        "Digest, vol 1",
        CORPUS_SENDER,
        "Today's digest: two messages.",
        [("First in digest", "message/rfc822"), ("Second in digest", "message/rfc822")],
    ),
    "26-rfc822-in-base64.eml": (
        "Attached in base64",
        CORPUS_SENDER,
        "A message attached in base64",
        [("Encoded inner message", "message/rfc822")],
    ),
    "27-nested-rfc822.eml": (
        "Fwd: Fwd: nested",
        CORPUS_SENDER,
        "Outer text only.",
        [("middle.eml", "message/rfc822")],
    ),
    "28-bounce.eml": (
        "Undelivered Mail Returned to Sender",
        "Mail Delivery System <mailer-daemon@corpus.example>",
        "Delivery to nobody@corpus.example failed permanently.",
        [("Original subject", "message/rfc822")],
    ),
    "29-rfc2231-filename.eml": (
        "RFC 2231 file name",
        CORPUS_SENDER,
        "A file is attached.",
        [("résumé.pdf", "application/pdf")],
    ),
    "30-encoded-word-filename.eml": (
        "Encoded-word file name",
        CORPUS_SENDER,
        "A file is attached.",
        [("Übersicht.pdf", "application/pdf")],
    ),
    "31-8bit-filename.eml": (
        "8-bit file name",
        CORPUS_SENDER,
        "A file is attached.",
        [("Ångström.pdf", "application/pdf")],
    ),
    "32-duplicate-headers.eml": ("First subject", CORPUS_SENDER, "Two of everything.", []),
    "33-content-type-garbage.eml": (
        "Garbage content type",
        CORPUS_SENDER,
        "A content type without a subtype.",
        [],
    ),
    "34-html-only-windows-1252.eml": (
        "HTML only",
        CORPUS_SENDER,
        "<p>Une crème brûlée — 5 €</p>",
        [],
    ),
    "35-utf7-body.eml": ("UTF-7 body", CORPUS_SENDER, "Hi é there", []),
    "36-iso-2022-jp-alternative.eml": ("ご挨拶", CORPUS_SENDER, "お世話になっております。", []),
    "37-headers-only.eml": ("Headers and nothing else", CORPUS_SENDER, "", []),
    "38-absurd-date.eml": (
        "A date from nowhere",
        CORPUS_SENDER,
        "The Date header is nonsense.",
        [],
    ),
    "39-group-and-comments.eml": (
        "Group syntax and comments",
        "(a (deeply (nested) comment)) Odd <odd@corpus.example>",
        "Odd addresses.",
        [],
    ),
    "40-broken-quoted-printable.eml": (
        "Broken quoted-printable",
        CORPUS_SENDER,
        "café =ZZ softbreak",
        [],
    ),
    "41-shift-jis-raw-subject.eml": (
        "件名のテスト",
        "田中 <tanaka@corpus.example>",
        "本文のテストです。①",
        [],
    ),
    "42-gb2312-with-gbk-characters.eml": (
        "GB2312 label, GBK text",
        CORPUS_SENDER,
        "你好，镕基。",  # noqa: RUF001 - the full-width comma is the text
        [],
    ),
}


def test_every_corpus_message_has_expectations():
    assert set(EXPECTED) == set(CORPUS)


def test_every_corpus_message_is_mirrored_readable_and_none_is_skipped(emulator, mailbox, gmail):
    ids = {}
    for name, data in CORPUS.items():
        body = {"raw": base64.urlsafe_b64encode(data).decode(), "labelIds": ["INBOX", "UNREAD"]}
        ids[name] = gmail.users().messages().import_(userId="me", body=body).execute()["id"]

    sync(mailbox)

    assert not SkippedMessage.objects.filter(account=mailbox).exists()
    assert Message.objects.filter(account=mailbox).count() == len(CORPUS)
    wrong = {}
    for name, (subject, sender, text, files) in EXPECTED.items():
        message = Message.objects.get(account=mailbox, gmail_id=ids[name])
        seen = (
            message.subject[: len(subject)],
            message.sender,
            text in (message.body_text or message.body_html),
            [(a.filename, a.mime_type) for a in Attachment.objects.filter(message=message)],
        )
        if seen != (subject, sender, True, files):
            wrong[name] = seen
    assert wrong == {}
