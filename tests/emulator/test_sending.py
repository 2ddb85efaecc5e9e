"""What Gmail does to a message on its way in or out: threading of the user's own sends,
Message-IDs replaced on send, and the inbox category messages.import gives."""

import base64

from tests.emulator.conftest import rfc822


def raw(message) -> str:
    return base64.urlsafe_b64encode(message.as_bytes()).decode()


def header(gmail, message_id: str, name: str) -> str | None:
    found = (
        gmail.users()
        .messages()
        .get(userId="me", id=message_id, format="metadata", metadataHeaders=[name])
        .execute()
    )
    values = [h["value"] for h in found["payload"]["headers"] if h["name"].lower() == name.lower()]
    return values[0] if values else None


def test_a_send_joins_its_thread_id_on_a_matching_subject_without_references(
    emulator, alice, bob, alice_gmail
):
    messages = alice_gmail.users().messages()
    original = messages.insert(
        userId="me",
        body={"raw": raw(rfc822(sender=bob, to=alice, subject="Plans")), "labelIds": ["INBOX"]},
    ).execute()
    thread_id = original["threadId"]

    def send(subject):
        body = {"raw": raw(rfc822(sender=alice, to=bob, subject=subject)), "threadId": thread_id}
        return messages.send(userId="me", body=body).execute()

    reply = send("Re: Plans")
    other = send("Something else")
    draft = (
        alice_gmail.users()
        .drafts()
        .create(
            userId="me",
            body={
                "message": {
                    "raw": raw(rfc822(sender=alice, to=bob, subject="RE: plans")),
                    "threadId": thread_id,
                }
            },
        )
        .execute()
    )
    # Not the user's own message: threadId and subject are not enough without references.
    inserted = messages.insert(
        userId="me",
        body={
            "raw": raw(rfc822(sender=bob, to=alice, subject="Re: Plans")),
            "threadId": thread_id,
        },
    ).execute()

    assert reply["threadId"] == thread_id
    assert draft["message"]["threadId"] == thread_id
    assert other["threadId"] != thread_id
    assert inserted["threadId"] != thread_id


def test_import_files_mail_in_an_inbox_category_as_delivery_does(emulator, alice, alice_gmail):
    messages = alice_gmail.users().messages()

    def imported(labels, **headers):
        message = rfc822(sender="zoe@bakery.example", to=alice, subject="Hi", **headers)
        body = {"raw": raw(message), "labelIds": labels}
        return sorted(messages.import_(userId="me", body=body).execute()["labelIds"])

    assert imported(["INBOX", "UNREAD"]) == ["CATEGORY_PERSONAL", "INBOX", "UNREAD"]
    assert imported([]) == ["CATEGORY_PERSONAL"]
    assert imported(["INBOX"], List_Id="<bakers.lists.example>") == ["CATEGORY_FORUMS", "INBOX"]
    assert imported(["INBOX"], Precedence="bulk") == ["CATEGORY_UPDATES", "INBOX"]
    assert imported(["INBOX", "CATEGORY_SOCIAL"]) == ["CATEGORY_SOCIAL", "INBOX"]
    assert imported(["SENT"]) == ["SENT"]  # the user's own mail has no category
    assert (
        messages.insert(
            userId="me", body={"raw": raw(rfc822(sender=alice, to=alice, subject="Hi"))}
        )
        .execute()
        .get("labelIds", [])
        == []
    )  # insert files nothing, as Gmail's does


def test_with_the_option_on_a_send_carries_gmails_message_id_not_the_clients(
    emulator, alice, bob, alice_gmail, bob_gmail
):
    emulator.set_config(send_replaces_message_id=True)
    chosen = "<chosen-by-client@tern.example>"
    message = rfc822(sender=alice, to=bob, subject="Rewritten", Message_ID=chosen, X_Tern_Id="7")
    sent = alice_gmail.users().messages().send(userId="me", body={"raw": raw(message)}).execute()
    draft = (
        alice_gmail.users()
        .drafts()
        .create(userId="me", body={"message": {"raw": raw(message)}})
        .execute()
    )
    via_draft = alice_gmail.users().drafts().send(userId="me", body={"id": draft["id"]}).execute()

    at_bob = bob_gmail.users().messages().list(userId="me").execute()["messages"]
    sent_ids = {header(alice_gmail, m["id"], "Message-ID") for m in (sent, via_draft)}
    bob_ids = {header(bob_gmail, m["id"], "Message-ID") for m in at_bob}
    assert len(sent_ids) == 2 and chosen not in sent_ids
    assert bob_ids == sent_ids
    assert header(alice_gmail, sent["id"], "X-Tern-Id") == "7"  # other headers stay
    search = alice_gmail.users().messages().list(userId="me", q="rfc822msgid:" + chosen[1:-1])
    assert "messages" not in search.execute()
