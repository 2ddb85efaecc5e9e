"""messages, labels, threads and drafts through google-api-python-client."""

import base64
import datetime as dt

import pytest
from googleapiclient.errors import HttpError
from googleapiclient.http import MediaInMemoryUpload

from tests.emulator.conftest import rfc822


def raw(message) -> str:
    return base64.urlsafe_b64encode(message.as_bytes()).decode()


def insert(gmail, message, labels=("INBOX", "UNREAD"), **extra):
    body = {"raw": raw(message), "labelIds": list(labels), **extra}
    return gmail.users().messages().insert(userId="me", body=body).execute()


def rich_message():
    message = rfc822(
        sender="Zoë Bäcker <zoe@bakery.example>",
        to="alice@example.com",
        subject="Café menu ☕",
        text="Our new menu is attached. Ça va?",
    )
    message.add_alternative(
        '<p>Our new <b>menu</b></p><img src="cid:logo"><img src="https://img.bakery.example/x.png">',
        subtype="html",
    )
    message.get_payload()[1].add_related(
        b"\x89PNG fake", "image", "png", cid="<logo>", filename="logo.png"
    )
    message.add_attachment(
        b"%PDF-1.4 menu", maintype="application", subtype="pdf", filename="menü.pdf"
    )
    return message


def test_it_reports_the_profile(emulator, alice, alice_gmail):
    insert(alice_gmail, rfc822(sender="zoe@bakery.example", to=alice, subject="Hi"))

    profile = alice_gmail.users().getProfile(userId="me").execute()

    assert profile["emailAddress"] == alice
    assert profile["messagesTotal"] == 1 and profile["threadsTotal"] == 1
    assert profile["historyId"] == emulator.state(alice)["historyId"]


def test_it_parses_mime_into_gmails_payload_tree(alice_gmail):
    stored = insert(alice_gmail, rich_message())

    message = alice_gmail.users().messages().get(userId="me", id=stored["id"]).execute()

    payload = message["payload"]
    assert payload["partId"] == "" and payload["mimeType"] == "multipart/mixed"
    alternative, attachment = payload["parts"]
    assert alternative["partId"] == "0" and alternative["mimeType"] == "multipart/alternative"
    plain, related = alternative["parts"]
    assert plain["partId"] == "0.0"
    assert base64.urlsafe_b64decode(plain["body"]["data"]).decode().startswith("Our new menu")
    html, image = related["parts"]
    assert html["partId"] == "0.1.0" and html["mimeType"] == "text/html"
    assert image["filename"] == "logo.png" and "attachmentId" in image["body"]
    assert attachment["filename"] == "menü.pdf" and attachment["body"]["size"] == 13
    subject = {h["name"]: h["value"] for h in payload["headers"]}["Subject"]
    assert subject == "Café menu ☕"
    assert message["snippet"] == "Our new menu is attached. Ça va?"
    assert message["sizeEstimate"] > 300


def test_it_serves_attachments_by_a_fresh_id_each_time(alice_gmail):
    stored = insert(alice_gmail, rich_message())
    messages = alice_gmail.users().messages()

    first = messages.get(userId="me", id=stored["id"]).execute()["payload"]["parts"][1]
    second = messages.get(userId="me", id=stored["id"]).execute()["payload"]["parts"][1]
    body = (
        messages.attachments()
        .get(userId="me", messageId=stored["id"], id=first["body"]["attachmentId"])
        .execute()
    )

    assert first["body"]["attachmentId"] != second["body"]["attachmentId"]
    assert base64.urlsafe_b64decode(body["data"]) == b"%PDF-1.4 menu"
    assert body["size"] == 13


def test_it_renders_minimal_metadata_and_raw_formats(alice_gmail):
    original = rfc822(sender="zoe@bakery.example", to="alice@example.com", subject="Formats")
    stored = insert(alice_gmail, original)
    get = alice_gmail.users().messages().get

    minimal = get(userId="me", id=stored["id"], format="minimal").execute()
    metadata = get(
        userId="me", id=stored["id"], format="metadata", metadataHeaders=["Subject", "from"]
    ).execute()
    raw_format = get(userId="me", id=stored["id"], format="raw").execute()

    assert "payload" not in minimal and minimal["labelIds"] == ["INBOX", "UNREAD"]
    assert [h["name"] for h in metadata["payload"]["headers"]] == ["From", "Subject"]
    assert "parts" not in metadata["payload"]
    assert base64.urlsafe_b64decode(raw_format["raw"]) == original.as_bytes()


def test_it_dates_imports_by_header_and_inserts_by_arrival(alice_gmail):
    old = rfc822(
        sender="zoe@bakery.example",
        to="alice@example.com",
        subject="Old",
        Date="Mon, 01 Jan 2024 10:00:00 +0000",
    )
    imported = (
        alice_gmail.users()
        .messages()
        .import_(userId="me", body={"raw": raw(old), "labelIds": ["INBOX"]})
        .execute()
    )
    inserted = insert(alice_gmail, old)
    get = alice_gmail.users().messages().get

    imported_date = int(get(userId="me", id=imported["id"]).execute()["internalDate"])
    inserted_date = int(get(userId="me", id=inserted["id"]).execute()["internalDate"])

    assert imported_date == int(dt.datetime(2024, 1, 1, 10, tzinfo=dt.UTC).timestamp() * 1000)
    assert inserted_date > imported_date


def test_it_lists_newest_first_across_pages(alice_gmail):
    ids = [
        insert(
            alice_gmail,
            rfc822(sender="z@x.example", to="alice@example.com", subject=f"Message {n}"),
        )["id"]
        for n in range(7)
    ]
    pages, token = [], None
    while True:
        answer = (
            alice_gmail.users()
            .messages()
            .list(userId="me", maxResults=3, pageToken=token)
            .execute()
        )
        pages.append([m["id"] for m in answer["messages"]])
        token = answer.get("nextPageToken")
        if not token:
            break

    assert [len(page) for page in pages] == [3, 3, 1]
    assert [i for page in pages for i in page] == list(reversed(ids))
    assert answer["resultSizeEstimate"] == 7


def test_it_answers_an_empty_list_without_messages(alice_gmail):
    answer = alice_gmail.users().messages().list(userId="me").execute()

    assert answer == {"resultSizeEstimate": 0}


def test_it_hides_spam_and_trash_unless_asked(alice_gmail):
    insert(alice_gmail, rfc822(sender="a@x.example", to="alice@example.com", subject="Ham"))
    insert(
        alice_gmail,
        rfc822(sender="s@x.example", to="alice@example.com", subject="Spam"),
        labels=["SPAM"],
    )
    listing = alice_gmail.users().messages().list

    assert listing(userId="me").execute()["resultSizeEstimate"] == 1
    assert listing(userId="me", includeSpamTrash=True).execute()["resultSizeEstimate"] == 2
    assert listing(userId="me", labelIds=["SPAM"]).execute()["resultSizeEstimate"] == 1
    assert listing(userId="me", q="in:anywhere").execute()["resultSizeEstimate"] == 2


@pytest.mark.parametrize(
    ("query", "subjects"),
    [
        ("from:zoe", {"Croissants", "Bread"}),
        ("to:alice@example.com subject:bread", {"Bread"}),
        ("is:unread", {"Croissants"}),
        ("is:starred OR has:attachment", {"Bread", "Invoice"}),
        ("{is:starred has:attachment}", {"Bread", "Invoice"}),
        ("-from:zoe", {"Invoice"}),
        ("sourdough", {"Bread"}),
        ('"fresh croissants"', {"Croissants"}),
        ("label:work", {"Invoice"}),
        ("filename:pdf", {"Invoice"}),
        ("newer_than:2d", {"Croissants", "Bread"}),
        ("older_than:2d", {"Invoice"}),
    ],
)
def test_it_searches_with_gmail_operators(alice_gmail, query, subjects):
    work = alice_gmail.users().labels().create(userId="me", body={"name": "Work"}).execute()
    zoe = "Zoë <zoe@bakery.example>"
    insert(
        alice_gmail,
        rfc822(
            sender=zoe, to="alice@example.com", subject="Croissants", text="Fresh croissants today"
        ),
    )
    insert(
        alice_gmail,
        rfc822(sender=zoe, to="alice@example.com", subject="Bread", text="Sourdough is back"),
        labels=["INBOX", "STARRED"],
    )
    invoice = rfc822(
        sender="billing@shop.example",
        to="alice@example.com",
        subject="Invoice",
        Date="Mon, 01 Jan 2024 10:00:00 +0000",
    )
    invoice.add_attachment(b"%PDF", maintype="application", subtype="pdf", filename="inv.pdf")
    alice_gmail.users().messages().import_(
        userId="me", body={"raw": raw(invoice), "labelIds": ["INBOX", work["id"]]}
    ).execute()

    found = alice_gmail.users().messages().list(userId="me", q=query).execute()
    ids = [m["id"] for m in found.get("messages", [])]
    got = {
        alice_gmail.users()
        .messages()
        .get(userId="me", id=i, format="metadata", metadataHeaders=["Subject"])
        .execute()["payload"]["headers"][0]["value"]
        for i in ids
    }

    assert got == subjects


def test_it_modifies_labels_one_by_one_and_in_batches(emulator, alice, alice_gmail):
    work = alice_gmail.users().labels().create(userId="me", body={"name": "Work"}).execute()
    first = insert(alice_gmail, rfc822(sender="a@x.example", to=alice, subject="One"))
    second = insert(alice_gmail, rfc822(sender="a@x.example", to=alice, subject="Two"))
    messages = alice_gmail.users().messages()

    modified = messages.modify(
        userId="me",
        id=first["id"],
        body={"addLabelIds": [work["id"], "STARRED"], "removeLabelIds": ["UNREAD"]},
    ).execute()
    messages.batchModify(
        userId="me", body={"ids": [first["id"], second["id"]], "removeLabelIds": ["INBOX"]}
    ).execute()

    assert modified == {
        "id": first["id"],
        "threadId": first["threadId"],
        "labelIds": sorted(["INBOX", "STARRED", work["id"]]),
    }
    state = emulator.state(alice)["messages"]
    assert state[first["id"]]["labelIds"] == sorted(["STARRED", work["id"]])
    assert state[second["id"]]["labelIds"] == ["UNREAD"]


def test_it_refuses_unknown_labels(alice_gmail):
    stored = insert(alice_gmail, rfc822(sender="a@x.example", to="alice@example.com", subject="x"))

    with pytest.raises(HttpError) as caught:
        alice_gmail.users().messages().modify(
            userId="me", id=stored["id"], body={"addLabelIds": ["Label_999"]}
        ).execute()

    assert caught.value.status_code == 400
    assert caught.value.error_details[0]["reason"] == "invalidArgument"


def test_it_answers_404_with_googles_body(alice_gmail):
    with pytest.raises(HttpError) as caught:
        alice_gmail.users().messages().get(userId="me", id="18c0ffee00000000").execute()

    assert caught.value.status_code == 404
    assert caught.value.error_details == [
        {"message": "Requested entity was not found.", "domain": "global", "reason": "notFound"}
    ]


def test_it_trashes_untrashes_and_deletes(emulator, alice, alice_gmail):
    stored = [
        insert(alice_gmail, rfc822(sender="a@x.example", to=alice, subject=f"m{n}"))
        for n in range(4)
    ]
    # Deleting for good needs the full scope; gmail.modify can only trash.
    messages = emulator.gmail(alice, scopes=("https://mail.google.com/",)).users().messages()
    with pytest.raises(HttpError) as modify_scope:
        alice_gmail.users().messages().delete(userId="me", id=stored[1]["id"]).execute()
    assert modify_scope.value.status_code == 403

    trashed = messages.trash(userId="me", id=stored[0]["id"]).execute()
    untrashed = messages.untrash(userId="me", id=stored[0]["id"]).execute()
    messages.delete(userId="me", id=stored[1]["id"]).execute()
    messages.batchDelete(userId="me", body={"ids": [stored[2]["id"], stored[3]["id"]]}).execute()

    assert trashed["labelIds"] == ["TRASH", "UNREAD"]
    # Gmail does not put an untrashed message back in the inbox.
    assert untrashed["labelIds"] == ["UNREAD"]
    assert list(emulator.state(alice)["messages"]) == [stored[0]["id"]]


def test_it_manages_labels(alice_gmail):
    labels = alice_gmail.users().labels()
    created = labels.create(
        userId="me",
        body={
            "name": "Projects/Tern",
            "color": {"textColor": "#ffffff", "backgroundColor": "#16a765"},
        },
    ).execute()
    renamed = labels.patch(
        userId="me", id=created["id"], body={"name": "Projects/Tern 2"}
    ).execute()
    updated = labels.update(
        userId="me",
        id=created["id"],
        body={"id": created["id"], "name": "Tern", "labelListVisibility": "labelHide"},
    ).execute()
    fetched = labels.get(userId="me", id=created["id"]).execute()
    with pytest.raises(HttpError) as duplicate:
        labels.create(userId="me", body={"name": "tern"}).execute()
    with pytest.raises(HttpError) as system:
        labels.delete(userId="me", id="INBOX").execute()
    labels.delete(userId="me", id=created["id"]).execute()
    listed = {label["id"]: label for label in labels.list(userId="me").execute()["labels"]}

    assert created["id"].startswith("Label_") and created["type"] == "user"
    assert renamed["name"] == "Projects/Tern 2"
    assert updated["labelListVisibility"] == "labelHide"
    assert fetched["messagesTotal"] == 0 and fetched["threadsUnread"] == 0
    assert duplicate.value.status_code == 409
    assert system.value.status_code == 400
    assert created["id"] not in listed
    assert {
        "INBOX",
        "SENT",
        "DRAFT",
        "SPAM",
        "TRASH",
        "UNREAD",
        "STARRED",
        "IMPORTANT",
        "CATEGORY_PERSONAL",
        "CATEGORY_SOCIAL",
        "CATEGORY_PROMOTIONS",
        "CATEGORY_UPDATES",
        "CATEGORY_FORUMS",
    } <= set(listed)
    assert all(label["type"] == "system" for label in listed.values())


def test_it_sends_mail_to_another_emulated_user(emulator, alice, bob, alice_gmail, bob_gmail):
    message = rfc822(
        sender="someone-else@example.com",
        to=bob,
        subject="Lunch?",
        text="Thursday?",
        Bcc="carol@example.org",
    )

    sent = alice_gmail.users().messages().send(userId="me", body={"raw": raw(message)}).execute()

    assert sent["labelIds"] == ["SENT"]
    inbox = bob_gmail.users().messages().list(userId="me", labelIds=["INBOX"]).execute()
    received = (
        bob_gmail.users().messages().get(userId="me", id=inbox["messages"][0]["id"]).execute()
    )
    headers = {h["name"]: h["value"] for h in received["payload"]["headers"]}
    assert headers["From"] == "Alice Example <alice@example.com>"
    assert "Bcc" not in headers and "Message-ID" in headers
    assert set(received["labelIds"]) >= {"INBOX", "UNREAD"}
    mine = alice_gmail.users().messages().get(userId="me", id=sent["id"]).execute()
    assert "Bcc" in {h["name"] for h in mine["payload"]["headers"]}


def test_it_threads_a_reply_in_both_mailboxes(emulator, alice, bob, alice_gmail, bob_gmail):
    first = (
        alice_gmail.users()
        .messages()
        .send(
            userId="me", body={"raw": raw(rfc822(sender=alice, to=bob, subject="Trip to Kraków"))}
        )
        .execute()
    )
    original = bob_gmail.users().messages().list(userId="me").execute()["messages"][0]
    headers = (
        bob_gmail.users()
        .messages()
        .get(userId="me", id=original["id"], format="metadata", metadataHeaders=["Message-ID"])
        .execute()["payload"]["headers"]
    )
    message_id = headers[0]["value"]

    reply = (
        bob_gmail.users()
        .messages()
        .send(
            userId="me",
            body={
                "raw": raw(
                    rfc822(
                        sender=bob,
                        to=alice,
                        subject="Re: Trip to Kraków",
                        In_Reply_To=message_id,
                        References=message_id,
                    )
                ),
                "threadId": original["threadId"],
            },
        )
        .execute()
    )
    unrelated = (
        bob_gmail.users()
        .messages()
        .send(
            userId="me",
            body={
                "raw": raw(rfc822(sender=bob, to=alice, subject="Re: Trip to Kraków")),
            },
        )
        .execute()
    )
    wrong_subject = (
        bob_gmail.users()
        .messages()
        .send(
            userId="me",
            body={
                "raw": raw(
                    rfc822(
                        sender=bob,
                        to=alice,
                        subject="Something else",
                        In_Reply_To=message_id,
                        References=message_id,
                    )
                ),
                "threadId": original["threadId"],
            },
        )
        .execute()
    )

    assert reply["threadId"] == original["threadId"]
    assert unrelated["threadId"] != original["threadId"]
    assert wrong_subject["threadId"] != original["threadId"]
    thread = alice_gmail.users().threads().get(userId="me", id=first["threadId"]).execute()
    assert [m["labelIds"] for m in thread["messages"]] == [
        ["SENT"],
        ["CATEGORY_PERSONAL", "INBOX", "UNREAD"],
    ]


def test_it_accepts_media_uploads(emulator, alice, bob, alice_gmail):
    message = rfc822(sender=alice, to=bob, subject="Uploaded").as_bytes()
    messages = alice_gmail.users().messages()

    simple = messages.send(
        userId="me", media_body=MediaInMemoryUpload(message, mimetype="message/rfc822")
    ).execute()
    multipart = messages.insert(
        userId="me",
        body={"labelIds": ["INBOX"]},
        media_body=(MediaInMemoryUpload(message, mimetype="message/rfc822")),
    ).execute()
    resumable = messages.import_(
        userId="me",
        body={"labelIds": ["STARRED"]},
        media_body=(MediaInMemoryUpload(message, mimetype="message/rfc822", resumable=True)),
    ).execute()

    assert simple["labelIds"] == ["SENT"]
    assert multipart["labelIds"] == ["INBOX"]
    assert resumable["labelIds"] == ["CATEGORY_PERSONAL", "STARRED"]  # import classifies
    assert len(emulator.state(bob)["messages"]) == 1


def test_a_draft_whose_send_gmail_refuses_stays_a_draft(emulator, alice, alice_gmail):
    drafts = alice_gmail.users().drafts()
    message = rfc822(sender=alice, to="", subject="Nobody to send to")
    del message["To"]
    created = drafts.create(userId="me", body={"message": {"raw": raw(message)}}).execute()

    with pytest.raises(HttpError) as refused:
        drafts.send(userId="me", body={"id": created["id"]}).execute()

    assert refused.value.status_code == 400
    assert "Recipient address required" in str(refused.value)
    assert [d["id"] for d in drafts.list(userId="me").execute()["drafts"]] == [created["id"]]


def test_it_keeps_drafts_until_they_are_sent(emulator, alice, bob, alice_gmail, bob_gmail):
    drafts = alice_gmail.users().drafts()
    created = drafts.create(
        userId="me",
        body={"message": {"raw": raw(rfc822(sender=alice, to=bob, subject="Draft v1"))}},
    ).execute()
    updated = drafts.update(
        userId="me",
        id=created["id"],
        body={"message": {"raw": raw(rfc822(sender=alice, to=bob, subject="Draft v2"))}},
    ).execute()
    listed = drafts.list(userId="me").execute()
    fetched = drafts.get(userId="me", id=created["id"], format="metadata").execute()

    sent = drafts.send(userId="me", body={"id": created["id"]}).execute()

    assert created["message"]["labelIds"] == ["DRAFT"]
    assert updated["id"] == created["id"]
    assert updated["message"]["id"] != created["message"]["id"]
    assert listed["drafts"] == [
        {
            "id": created["id"],
            "message": {"id": updated["message"]["id"], "threadId": updated["message"]["threadId"]},
        }
    ]
    assert {h["name"]: h["value"] for h in fetched["message"]["payload"]["headers"]}[
        "Subject"
    ] == "Draft v2"
    assert sent["labelIds"] == ["SENT"]
    assert drafts.list(userId="me").execute() == {"resultSizeEstimate": 0}
    assert len(emulator.state(bob)["messages"]) == 1


def test_it_creates_a_draft_from_an_upload(emulator, alice, alice_gmail):
    message = rfc822(sender=alice, to="x@example.org", subject="Uploaded draft").as_bytes()

    created = (
        alice_gmail.users()
        .drafts()
        .create(
            userId="me",
            body={},
            media_body=(MediaInMemoryUpload(message, mimetype="message/rfc822")),
        )
        .execute()
    )
    fetched = (
        alice_gmail.users().drafts().get(userId="me", id=created["id"], format="raw").execute()
    )

    assert base64.urlsafe_b64decode(fetched["message"]["raw"]) == message


def test_it_deletes_a_draft(emulator, alice, alice_gmail):
    drafts = alice_gmail.users().drafts()
    created = drafts.create(
        userId="me",
        body={
            "message": {"raw": raw(rfc822(sender=alice, to="x@example.org", subject="Never mind"))}
        },
    ).execute()

    drafts.delete(userId="me", id=created["id"]).execute()

    assert emulator.state(alice)["messages"] == {}
    with pytest.raises(HttpError) as caught:
        drafts.get(userId="me", id=created["id"]).execute()
    assert caught.value.status_code == 404


def test_it_lists_modifies_and_trashes_threads(emulator, alice, bob, alice_gmail, bob_gmail):
    first = (
        alice_gmail.users()
        .messages()
        .send(userId="me", body={"raw": raw(rfc822(sender=alice, to=bob, subject="Plans"))})
        .execute()
    )
    sent = (
        alice_gmail.users()
        .messages()
        .get(userId="me", id=first["id"], format="metadata", metadataHeaders=["Message-ID"])
        .execute()
    )
    message_id = sent["payload"]["headers"][0]["value"]
    bob_gmail.users().messages().send(
        userId="me",
        body={
            "raw": raw(
                rfc822(
                    sender=bob,
                    to=alice,
                    subject="Re: Plans",
                    In_Reply_To=message_id,
                    References=message_id,
                )
            )
        },
    ).execute()
    insert(alice_gmail, rfc822(sender="news@x.example", to=alice, subject="News"))
    threads = alice_gmail.users().threads()

    listed = threads.list(userId="me").execute()
    modified = threads.modify(
        userId="me", id=first["threadId"], body={"addLabelIds": ["STARRED"]}
    ).execute()
    threads.trash(userId="me", id=first["threadId"]).execute()
    after_trash = threads.list(userId="me").execute()
    threads.untrash(userId="me", id=first["threadId"]).execute()
    full = emulator.gmail(alice, scopes=("https://mail.google.com/",))
    full.users().threads().delete(userId="me", id=first["threadId"]).execute()

    assert listed["resultSizeEstimate"] == 2
    assert listed["threads"][1]["id"] == first["threadId"]
    assert all("STARRED" in m["labelIds"] for m in modified["messages"])
    assert len(modified["messages"]) == 2
    assert after_trash["resultSizeEstimate"] == 1
    assert len(emulator.state(alice)["messages"]) == 1


def test_it_answers_partial_responses(alice_gmail):
    stored = insert(
        alice_gmail, rfc822(sender="a@x.example", to="alice@example.com", subject="Partial")
    )

    listed = (
        alice_gmail.users()
        .messages()
        .list(userId="me", fields="messages/id,nextPageToken")
        .execute()
    )
    got = (
        alice_gmail.users()
        .messages()
        .get(userId="me", id=stored["id"], fields="id,payload(headers(name))")
        .execute()
    )

    assert listed == {"messages": [{"id": stored["id"]}]}
    assert set(got) == {"id", "payload"}
    assert set(got["payload"]["headers"][0]) == {"name"}


def test_it_limits_the_metadata_scope(emulator, alice):
    metadata = emulator.gmail(alice, scopes=("https://www.googleapis.com/auth/gmail.metadata",))
    full = emulator.gmail(alice)
    stored = insert(full, rfc822(sender="a@x.example", to=alice, subject="Secret"))

    headers = (
        metadata.users().messages().get(userId="me", id=stored["id"], format="metadata").execute()
    )
    with pytest.raises(HttpError) as full_format:
        metadata.users().messages().get(userId="me", id=stored["id"]).execute()
    with pytest.raises(HttpError) as query:
        metadata.users().messages().list(userId="me", q="secret").execute()

    assert headers["payload"]["headers"]
    assert full_format.value.status_code == 403
    assert query.value.status_code == 403


# --- charsets, broken headers and attached messages, as Gmail serves them --------------

LEGACY = [
    ("iso-2022-jp", "7bit", "会議の議題について、よろしくお願いします。"),
    ("shift_jis", "base64", "来週の打ち合わせは木曜日です。"),
    ("windows-1252", "quoted-printable", "Café crème, naïve façade — 20 €"),
    ("koi8-r", "8bit", "Встреча в пятницу в десять утра."),
]


def legacy_raw(charset: str, encoding: str, text: str) -> bytes:
    encoded = text.encode(charset)
    if encoding == "base64":
        encoded = base64.encodebytes(encoded)
    elif encoding == "quoted-printable":
        import quopri

        encoded = quopri.encodestring(encoded)
    head = (
        "From: Sender <sender@legacy.example>\r\nTo: alice@example.com\r\n"
        f"Subject: In {charset}\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: text/plain; charset="{charset}"\r\n'
        f"Content-Transfer-Encoding: {encoding}\r\n\r\n"
    )
    return head.encode("ascii") + encoded


def import_raw(gmail, data: bytes) -> dict:
    body = {"raw": base64.urlsafe_b64encode(data).decode(), "labelIds": ["INBOX"]}
    return gmail.users().messages().import_(userId="me", body=body).execute()


@pytest.mark.parametrize(("charset", "encoding", "text"), LEGACY, ids=[c for c, _, _ in LEGACY])
def test_it_serves_text_bodies_in_utf8_whatever_their_charset_says(
    alice_gmail, charset, encoding, text
):
    stored = import_raw(alice_gmail, legacy_raw(charset, encoding, text))

    message = alice_gmail.users().messages().get(userId="me", id=stored["id"]).execute()

    body = message["payload"]["body"]
    data = base64.urlsafe_b64decode(body["data"])
    assert data.decode("utf-8") == text  # converted, as Gmail converts it
    assert body["size"] == len(data)
    content_type = {h["name"]: h["value"] for h in message["payload"]["headers"]}["Content-Type"]
    assert content_type == f'text/plain; charset="{charset}"'  # the header as the sender wrote it
    assert message["snippet"].startswith(text[:10])


def test_it_reads_8bit_bodies_without_a_charset_as_utf8_or_windows_1252(alice_gmail):
    head = b"From: x@legacy.example\r\nSubject: 8-bit\r\nContent-Type: text/plain\r\n\r\n"
    utf8 = import_raw(alice_gmail, head + "Grüße aus Köln".encode())
    latin = import_raw(alice_gmail, head + "Grüße aus Köln".encode("cp1252"))
    get = alice_gmail.users().messages().get

    for stored in (utf8, latin):
        body = get(userId="me", id=stored["id"]).execute()["payload"]["body"]
        assert base64.urlsafe_b64decode(body["data"]).decode() == "Grüße aus Köln"


def test_it_stores_and_serves_broken_encoded_words(alice_gmail):
    raw_message = (
        b"From: =?utf-8?B?A?= <mallory@broken.example>\r\nTo: alice@example.com\r\n"
        b"Subject: =?utf-8?B?Q2Fmw6k?= =?bogus-8?Q?cr=E8me?= =?utf-8*fr?Q?br=C3=BBl=C3=A9e?=\r\n"
        b"\r\nHello.\r\n"
    )
    for method in ("import_", "insert"):
        call = getattr(alice_gmail.users().messages(), method)
        body = {"raw": base64.urlsafe_b64encode(raw_message).decode(), "labelIds": ["INBOX"]}
        stored = call(userId="me", body=body).execute()

        message = alice_gmail.users().messages().get(userId="me", id=stored["id"]).execute()

        headers = {h["name"]: h["value"] for h in message["payload"]["headers"]}
        assert headers["Subject"] == "Cafécrèmebrûlée"
        assert headers["From"] == " <mallory@broken.example>"


def attached_message_raw() -> bytes:
    inner = rich_message()
    inner.replace_header("Subject", "The original, with its menu")
    outer = rfc822(
        sender="bob@example.com", to="alice@example.com", subject="Fwd: menu", text="See below."
    )
    outer.add_attachment(inner)
    return outer.as_bytes()


def test_it_expands_an_attached_message_into_its_own_parts(alice_gmail):
    stored = import_raw(alice_gmail, attached_message_raw())
    messages = alice_gmail.users().messages()

    message = messages.get(userId="me", id=stored["id"]).execute()

    _, attached = message["payload"]["parts"]
    assert attached["mimeType"] == "message/rfc822" and attached["filename"] == ""
    assert "attachmentId" in attached["body"]
    (inner,) = attached["parts"]
    assert inner["partId"] == "1.0" and inner["mimeType"] == "multipart/mixed"
    inner_headers = {h["name"]: h["value"] for h in inner["headers"]}
    assert inner_headers["Subject"] == "The original, with its menu"
    alternative, pdf = inner["parts"]
    assert alternative["parts"][0]["partId"] == "1.0.0.0"
    assert pdf["filename"] == "menü.pdf"
    pdf_data = (
        messages.attachments()
        .get(userId="me", messageId=stored["id"], id=pdf["body"]["attachmentId"])
        .execute()
    )
    assert base64.urlsafe_b64decode(pdf_data["data"]) == b"%PDF-1.4 menu"
    whole = (
        messages.attachments()
        .get(userId="me", messageId=stored["id"], id=attached["body"]["attachmentId"])
        .execute()
    )
    assert b"Subject: The original, with its menu" in base64.urlsafe_b64decode(whole["data"])
    # The attached message is not this one's text, nor its files.
    assert message["snippet"] == "See below."
    assert messages.list(userId="me", q="has:attachment").execute()["resultSizeEstimate"] == 1
    assert messages.list(userId="me", q="filename:menü").execute()["resultSizeEstimate"] == 0


def test_it_reads_iso_2022_jp_with_the_nec_extensions_japanese_mail_uses(alice_gmail):
    # ① and ㈱ (NEC row 13) in ISO-2022-JP, which the strict codec refuses.
    data = b"\x1b$B-!-j$N3NG'\x1b(B\r\n"
    head = (
        b"From: x@example.jp\r\nSubject: NEC\r\nContent-Type: text/plain; charset=iso-2022-jp\r\n"
    )

    stored = import_raw(alice_gmail, head + b"\r\n" + data)

    body = alice_gmail.users().messages().get(userId="me", id=stored["id"]).execute()["payload"]
    assert base64.urlsafe_b64decode(body["body"]["data"]).decode() == "①㈱の確認\r\n"


def test_it_refuses_a_label_colour_outside_gmail_s_palette(alice_gmail):
    labels = alice_gmail.users().labels()
    off_palette = {"textColor": "#ffffff", "backgroundColor": "#123456"}

    with pytest.raises(HttpError) as refused:
        labels.create(userId="me", body={"name": "Odd", "color": off_palette}).execute()

    assert refused.value.status_code == 400
    assert b"not on the allowed color palette" in refused.value.content
    names = {label["name"] for label in labels.list(userId="me").execute()["labels"]}
    assert "Odd" not in names
