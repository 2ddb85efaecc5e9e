"""Any bytes a mail server accepted are stored and served, as Gmail stores and serves them.

Every message of tests/fixtures/corpus/ goes in through messages.import, insert and
send, and comes back in the full, metadata and raw formats, each answer checked
against the discovery schema (the ``emulator`` fixture's guard)."""

import base64

import pytest
from googleapiclient.errors import HttpError

from tests.fixtures.corpus import CORPUS


def raw_of(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()


@pytest.mark.parametrize("name", list(CORPUS))
def test_every_corpus_message_imports_and_is_served_in_every_format(alice_gmail, name):
    messages = alice_gmail.users().messages()
    body = {"raw": raw_of(CORPUS[name]), "labelIds": ["INBOX", "UNREAD"]}

    stored = messages.import_(userId="me", body=body).execute()

    full = messages.get(userId="me", id=stored["id"], format="full").execute()
    metadata = messages.get(
        userId="me", id=stored["id"], format="metadata", metadataHeaders=["Subject", "From"]
    ).execute()
    raw = messages.get(userId="me", id=stored["id"], format="raw").execute()
    assert full["id"] == stored["id"] and full["payload"]["partId"] == ""
    assert {h["name"].lower() for h in metadata["payload"]["headers"]} <= {"subject", "from"}
    assert base64.urlsafe_b64decode(raw["raw"]) == CORPUS[name]
    assert full["sizeEstimate"] == len(CORPUS[name])


# No recipient at all (no headers; only an empty group): Gmail refuses to send these.
UNSENDABLE = {"13-no-headers.eml", "39-group-and-comments.eml"}


def test_every_corpus_message_can_be_inserted_and_sent(emulator, alice, bob, alice_gmail):
    messages = alice_gmail.users().messages()

    for name, data in CORPUS.items():
        stored = [messages.insert(userId="me", body={"raw": raw_of(data)}).execute()]
        if name in UNSENDABLE:
            with pytest.raises(HttpError, match="Recipient address required"):
                messages.send(userId="me", body={"raw": raw_of(data)}).execute()
        else:
            stored.append(messages.send(userId="me", body={"raw": raw_of(data)}).execute())
            assert "SENT" in stored[-1]["labelIds"], name

        for one in stored:
            assert messages.get(userId="me", id=one["id"]).execute()["id"] == one["id"]
    assert len(emulator.state(alice)["messages"]) == 2 * len(CORPUS) - len(UNSENDABLE)


def test_the_corpus_is_large_enough():
    assert len(CORPUS) >= 30
