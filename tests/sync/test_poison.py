"""One hostile email must never stop a mailbox.

Anyone can send a Tern user a mail whose values PostgreSQL refuses: a text part holding
NUL, an attachment name of thousands of characters, a content type far past any column.
Each such mail arrives here through the emulator (messages.insert of the raw bytes, as
a mail server would deliver it) during a full sync and during an incremental sync, and
a normal mail after it must still arrive.
"""

import base64
import datetime as dt
import email.message
import email.utils

import pytest
from django.utils import timezone

from mail import mirror
from mail.models import Attachment, Message, SkippedMessage
from monitoring.health import run_checks
from support.mailbox import sync_until_done as sync
from sync import services
from sync.models import SyncStatus
from sync.services import mailbox_sync
from tests.sync.helpers import deliver, raw_message

pytestmark = pytest.mark.django_db

ALICE = "alice@example.com"
LONG_NAME = "quarterly-report-" + "x" * 2000 + ".pdf"
LONG_TYPE = "application/x-" + "y" * 300


def nul_in_text():
    head = (
        f"From: Mallory <mallory@evil.example>\r\nTo: {ALICE}\r\n"
        "Subject: Poison with NUL\r\nMessage-ID: <nul@evil.example>\r\n"
        f"Date: {email.utils.format_datetime(dt.datetime.now(dt.UTC))}\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n"
    )
    return head.encode() + base64.encodebytes(b"before\x00after, and \x00 again")


def with_attachment(filename, maintype, subtype, subject):
    message = email.message.EmailMessage()
    message["From"] = "Mallory <mallory@evil.example>"
    message["To"] = ALICE
    message["Subject"] = subject
    message["Message-ID"] = email.utils.make_msgid(domain="evil.example")
    message.set_content("See attached.")
    message.add_attachment(b"%PDF-1.4 tiny", maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes()


def poison():
    """(subject, raw bytes) of each hostile mail of the attack review."""
    major, minor = LONG_TYPE.split("/")
    return [
        ("Poison with NUL", nul_in_text()),
        ("Long filename", with_attachment(LONG_NAME, "application", "pdf", "Long filename")),
        ("Long type", with_attachment("x.bin", major, minor, "Long type")),
    ]


def insert_raw(gmail, raw):
    body = {"raw": base64.urlsafe_b64encode(raw).decode(), "labelIds": ["INBOX", "UNREAD"]}
    return gmail.users().messages().insert(userId="me", body=body).execute()


def assert_poison_made_safe(mailbox):
    nul = Message.objects.get(account=mailbox, subject="Poison with NUL")
    assert nul.body_text.startswith("beforeafter, and  again")
    long_name = Attachment.objects.get(message__subject="Long filename")
    assert len(long_name.filename) == 1024
    assert long_name.filename.startswith("quarterly-report-xxx")
    assert long_name.filename.endswith(".pdf")  # still opens as what it is
    long_type = Attachment.objects.get(message__subject="Long type")
    assert long_type.mime_type == LONG_TYPE[:255]
    assert not SkippedMessage.objects.exists()


def test_hostile_mail_in_a_first_sync_is_stored_safely_and_later_mail_arrives(
    emulator, mailbox, gmail
):
    for _, raw in poison():
        insert_raw(gmail, raw)
    deliver(gmail, raw_message(to=ALICE, subject="Normal before the sync"))

    sync(mailbox)

    assert_poison_made_safe(mailbox)
    status = SyncStatus.objects.get(account=mailbox)
    assert status.history_id == int(emulator.state(ALICE)["historyId"])
    assert status.last_error == ""

    deliver(gmail, raw_message(to=ALICE, subject="Normal after"))
    sync(mailbox)
    assert Message.objects.filter(account=mailbox, subject="Normal after").exists()


def test_hostile_mail_in_an_incremental_sync_is_stored_safely_and_later_mail_arrives(
    emulator, mailbox, gmail
):
    sync(mailbox)
    for _, raw in poison():
        insert_raw(gmail, raw)
    deliver(gmail, raw_message(to=ALICE, subject="Normal right after"))

    sync(mailbox)

    assert_poison_made_safe(mailbox)
    assert Message.objects.filter(account=mailbox, subject="Normal right after").exists()
    status = SyncStatus.objects.get(account=mailbox)
    assert status.history_id == int(emulator.state(ALICE)["historyId"])


@pytest.mark.parametrize("first_sync", [True, False], ids=["full", "incremental"])
def test_a_message_that_still_cannot_be_stored_is_skipped_listed_and_retried(
    emulator, mailbox, gmail, monkeypatch, settings, client, first_sync
):
    # A gap in the cleaning (as if it did not exist): PostgreSQL itself refuses the NUL.
    monkeypatch.setattr(mirror, "storable", lambda model, values: values)
    if not first_sync:
        sync(mailbox)
    bad = insert_raw(gmail, nul_in_text())
    deliver(gmail, raw_message(to=ALICE, subject="Normal after the poison"))

    sync(mailbox)

    assert Message.objects.filter(account=mailbox, subject="Normal after the poison").exists()
    skipped = SkippedMessage.objects.get(account=mailbox)
    assert skipped.gmail_id == bad["id"]
    assert "NUL" in skipped.error and "before" not in skipped.error
    status = SyncStatus.objects.get(account=mailbox)
    assert status.history_id == int(emulator.state(ALICE)["historyId"])
    settings.HEALTH_API_KEY = "k"
    report = client.get("/health/details/", headers={"X-Health-Key": "k"}).json()
    assert report["checks"]["skipped_messages"]["state"] == "warn"
    assert "1 message(s) in 1 mailbox(es)" in report["checks"]["skipped_messages"]["detail"]

    attempts = SkippedMessage.objects.get(account=mailbox).attempts
    sync(mailbox)  # too soon to try again: the retry waits, costing no quota
    assert SkippedMessage.objects.get(account=mailbox).attempts == attempts

    monkeypatch.undo()  # the fix is deployed; an hour later, a sync stores the message
    SkippedMessage.objects.update(retry_at=timezone.now())
    sync(mailbox)

    assert Message.objects.filter(account=mailbox, gmail_id=bad["id"]).exists()
    assert not SkippedMessage.objects.exists()
    assert run_checks(["skipped_messages"])["checks"]["skipped_messages"]["state"] == "ok"


def test_an_unexpected_error_in_a_sync_is_recorded_and_health_says_so(
    emulator, mailbox, gmail, monkeypatch
):
    sync(mailbox)
    deliver(gmail, raw_message(to=ALICE, subject="Hello"))

    def broken(account, gmail):
        raise ZeroDivisionError("a bug, not a Gmail error")

    monkeypatch.setattr(services, "_retry_skipped", broken)
    with pytest.raises(ZeroDivisionError):
        mailbox_sync(account_id=mailbox.pk)

    status = SyncStatus.objects.get(account=mailbox)
    assert status.last_error == "unexpected error: ZeroDivisionError"
    report = run_checks(["sync"])
    assert report["checks"]["sync"]["state"] == "warn"
    assert "1 with a last error" in report["checks"]["sync"]["detail"]


def test_values_out_of_range_are_clamped_or_dropped(mailbox):
    resource = {
        "id": "18c0ffee00000001",
        "threadId": "18c0ffee00000001",
        "labelIds": ["INBOX"],
        "snippet": "odd\x00numbers",
        "internalDate": str(10**20),
        "sizeEstimate": 2**40,
        "historyId": str(2**64),
        "payload": {"mimeType": "text/plain", "headers": [{"name": "Subject", "value": "N\x00"}]},
    }

    parsed = mirror.parse_message(resource)

    assert parsed.fields["snippet"] == "oddnumbers"
    assert parsed.fields["subject"] == "N"
    assert parsed.fields["size_estimate"] == 2**31 - 1
    assert parsed.fields["history_id"] is None
    assert parsed.fields["internal_date"].year == 1970


def test_signing_in_on_embedded_defaults_with_a_hostile_mail_waiting_works(
    client, emulator, django_capture_on_commit_callbacks
):
    from config.celery_app import app
    from tests.accounts.test_sign_in import sign_in

    emulator.create_user(ALICE, "Alice Example")
    gmail = emulator.gmail(ALICE)
    for _, raw in poison():
        insert_raw(gmail, raw)
    deliver(gmail, raw_message(to=ALICE, subject="Welcome"))
    # As on embedded defaults: tasks run inside the sign-in request, errors propagating.
    app.conf.update(task_always_eager=True, task_eager_propagates=True)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = sign_in(client, emulator, ALICE)
    finally:
        app.conf.update(task_always_eager=False, task_eager_propagates=False)

    assert response.status_code == 302 and response["Location"] == "/mail/"
    account = SyncStatus.objects.get(account__email=ALICE).account
    assert Message.objects.filter(account=account, subject="Welcome").exists()
    assert_poison_made_safe(account)


def odd_header_mail(header, value):
    return (
        f"From: Mallory <mallory@evil.example>\r\nTo: {ALICE}\r\n{header}: {value}\r\n"
        "Subject: Odd header\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=idna\r\n\r\nHello\r\n"
    ).encode()


def test_mail_the_review_found_next_is_stored_and_does_not_stop_the_mailbox(
    emulator, mailbox, gmail
):
    sync(mailbox)
    nested_from = "Mallory " + "(" * 600 + "c" + ")" * 600 + " <mallory@evil.example>"
    insert_raw(
        gmail,
        odd_header_mail("X-Nested", "1").replace(
            b"From: Mallory", b"From: " + nested_from.encode()[:-23], 1
        ),
    )
    insert_raw(gmail, odd_header_mail("Date", "Fri, 31 Dec 9999 23:59:59 -1200"))
    deliver(gmail, raw_message(to=ALICE, subject="Normal after"))

    sync(mailbox)

    assert Message.objects.filter(account=mailbox, subject="Normal after").exists()
    odd = list(Message.objects.filter(account=mailbox, subject="Odd header"))  # reads back
    assert len(odd) == 2 and all(m.body_text.strip() == "Hello" for m in odd)
    assert SyncStatus.objects.get(account=mailbox).last_error == ""
