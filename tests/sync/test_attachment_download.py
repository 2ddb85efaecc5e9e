"""Downloading an attachment: its bytes come from Gmail (the emulator) through the
account's client, only to its owner, as a download with a safe name."""

import os

import pytest
from django.urls import reverse

from mail.models import Attachment
from support.mailbox import sync_until_done as sync
from tests.sync.helpers import deliver, raw_message

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_celery")]


def with_files(gmail, mailbox, *files):
    """A message carrying `files` [(bytes, maintype, subtype, filename)], mirrored."""
    message = raw_message(to=mailbox.email, subject="Files for you")
    for data, maintype, subtype, filename in files:
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    deliver(gmail, message)
    sync(mailbox)
    return {a.filename: a for a in Attachment.objects.filter(message__account=mailbox)}


def download(client, attachment, **params):
    response = client.get(reverse("attachment_download", args=[attachment.pk]), params)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response, body


def test_the_owner_downloads_the_exact_bytes_as_an_attachment(client, emulator, mailbox, gmail):
    big = os.urandom(3 * 1024 * 1024 + 7)  # several chunks, and not a multiple of 3
    small = b"%PDF-1.4 tiny"
    files = with_files(
        gmail,
        mailbox,
        (big, "application", "zip", "backup.zip"),
        (small, "application", "pdf", "receipt.pdf"),
    )
    client.force_login(mailbox.user)

    response, body = download(client, files["backup.zip"])

    assert response.status_code == 200 and body == big
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"] == 'attachment; filename="backup.zip"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert download(client, files["receipt.pdf"])[1] == small


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ('../../etc/"pass".txt', 'attachment; filename="\\"pass\\".txt"'),
        ("..\\..\\boot.ini", 'attachment; filename="boot.ini"'),
        ("データ.txt", "attachment; filename*=utf-8''%E3%83%87%E3%83%BC%E3%82%BF.txt"),
        (".hidden", 'attachment; filename="hidden"'),
    ],
)
def test_a_hostile_file_name_becomes_a_safe_one(name, expected, client, emulator, mailbox, gmail):
    (attachment,) = with_files(gmail, mailbox, (b"data", "text", "plain", name)).values()
    client.force_login(mailbox.user)

    response, _ = download(client, attachment)

    assert response["Content-Disposition"] == expected


def test_a_line_break_in_a_file_name_cannot_add_a_header(client, emulator, mailbox, gmail):
    message = raw_message(to=mailbox.email, subject="Files for you")
    message.add_attachment(b"data", maintype="text", subtype="plain", filename="x.txt")
    (part,) = message.iter_attachments()
    # RFC 2231 lets a sender put any byte in a name, a CR LF included.
    part.replace_header(
        "Content-Disposition", "attachment; filename*=utf-8''a%0D%0ASet-Cookie%3A%20x.txt"
    )
    deliver(gmail, message)
    sync(mailbox)
    attachment = Attachment.objects.get(message__account=mailbox)
    client.force_login(mailbox.user)

    response, _ = download(client, attachment)

    headers = response.serialize_headers().decode()
    assert "Set-Cookie" not in headers.replace("Set-Cookie%3A", "")
    assert response["Content-Disposition"].startswith("attachment; filename")
    assert (
        "\r" not in response["Content-Disposition"] and "\n" not in response["Content-Disposition"]
    )


def test_a_safe_image_may_open_in_the_browser_but_never_an_svg(client, emulator, mailbox, gmail):
    png = b"\x89PNG\r\n\x1a\n" + os.urandom(64)
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    files = with_files(
        gmail, mailbox, (png, "image", "png", "photo.png"), (svg, "image", "svg+xml", "logo.svg")
    )
    client.force_login(mailbox.user)

    shown, body = download(client, files["photo.png"], inline="1")
    svg_response, _ = download(client, files["logo.svg"], inline="1")

    assert shown["Content-Type"] == "image/png" and body == png
    assert shown["Content-Disposition"].startswith("inline")
    assert svg_response["Content-Type"] == "application/octet-stream"
    assert svg_response["Content-Disposition"].startswith("attachment")


def test_another_user_s_attachment_is_404(client, emulator, mailbox, gmail, bob):
    (attachment,) = with_files(gmail, mailbox, (b"secret", "text", "plain", "plan.txt")).values()
    client.force_login(bob)

    assert client.get(reverse("attachment_download", args=[attachment.pk])).status_code == 404
    assert client.get(reverse("attachment_download", args=[10**9])).status_code == 404


def test_gmail_refusing_gives_a_clear_page_not_a_500(client, emulator, mailbox, gmail):
    (deleted,) = with_files(gmail, mailbox, (b"data", "text", "plain", "notes.txt")).values()
    kept = with_files(gmail, mailbox, (b"more", "text", "plain", "more.txt"))["more.txt"]
    # Deleted at Gmail since the last sync: the mirror still lists it.
    full = emulator.gmail(mailbox.email, scopes=["https://mail.google.com/"])
    full.users().messages().delete(userId="me", id=deleted.message.gmail_id).execute()
    client.force_login(mailbox.user)

    gone, _ = download(client, deleted)
    emulator.revoke(mailbox.email)
    revoked, _ = download(client, kept)

    assert (
        gone.status_code == 404 and "Gmail no longer has this attachment" in gone.content.decode()
    )
    assert revoked.status_code == 502 and "reconnect it in Settings" in revoked.content.decode()


def test_the_thread_page_links_each_file_to_its_download(client, emulator, mailbox, gmail):
    (attachment,) = with_files(gmail, mailbox, (b"data", "text", "plain", "notes.txt")).values()
    client.force_login(mailbox.user)

    page = client.get(attachment.message.thread.get_absolute_url()).content.decode()

    assert f'href="/mail/attachment/{attachment.pk}/"' in page
