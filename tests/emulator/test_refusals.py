"""Requests real Gmail refuses with 400, refused here the same way, with Google's body."""

import pytest
from googleapiclient.errors import HttpError

from emulator.mailbox import RESERVED_LABEL_NAMES
from tests.emulator.conftest import rfc822
from tests.emulator.test_messages import insert, raw


def refusal(request) -> dict:
    with pytest.raises(HttpError) as caught:
        request.execute()
    assert caught.value.status_code == 400
    return caught.value.error_details[0]


@pytest.fixture
def message_id(alice, alice_gmail) -> str:
    return insert(alice_gmail, rfc822(sender="a@x.example", to=alice, subject="x"))["id"]


@pytest.mark.parametrize("add", [["INBOX", "TRASH"], ["SPAM", "INBOX"], ["TRASH", "SPAM"]])
def test_it_adds_only_one_of_inbox_spam_and_trash(emulator, alice, alice_gmail, message_id, add):
    messages = alice_gmail.users().messages()
    before = emulator.state(alice)["messages"][message_id]["labelIds"]

    detail = refusal(messages.modify(userId="me", id=message_id, body={"addLabelIds": add}))
    batch = refusal(
        messages.batchModify(userId="me", body={"ids": [message_id], "addLabelIds": add})
    )

    assert (
        detail
        == batch
        == {
            "message": "Can only add one of: INBOX, SPAM, TRASH",
            "domain": "global",
            "reason": "invalidArgument",
        }
    )
    assert emulator.state(alice)["messages"][message_id]["labelIds"] == before


@pytest.mark.parametrize("label", ["SENT", "DRAFT", "CHAT"])
@pytest.mark.parametrize("side", ["addLabelIds", "removeLabelIds"])
def test_it_refuses_to_add_or_remove_the_labels_only_gmail_sets(
    alice_gmail, message_id, label, side
):
    messages = alice_gmail.users().messages()
    thread_id = messages.get(userId="me", id=message_id).execute()["threadId"]
    body = {side: [label]}

    refused = [
        refusal(messages.modify(userId="me", id=message_id, body=body)),
        refusal(messages.batchModify(userId="me", body={"ids": [message_id], **body})),
        refusal(alice_gmail.users().threads().modify(userId="me", id=thread_id, body=body)),
    ]

    assert {detail["message"] for detail in refused} == {f"Invalid label: {label}"}


def test_it_still_accepts_one_place_and_other_labels(emulator, alice, alice_gmail, message_id):
    messages = alice_gmail.users().messages()
    body = {"addLabelIds": ["SPAM", "STARRED"], "removeLabelIds": ["INBOX"]}

    messages.modify(userId="me", id=message_id, body=body).execute()

    assert emulator.state(alice)["messages"][message_id]["labelIds"] == [
        "SPAM",
        "STARRED",
        "UNREAD",
    ]


def test_it_refuses_labels_on_a_draft_message(emulator, alice, alice_gmail, message_id):
    draft = (
        alice_gmail.users()
        .drafts()
        .create(
            userId="me",
            body={"message": {"raw": raw(rfc822(sender=alice, to="b@x.example", subject="d"))}},
        )
        .execute()
    )
    draft_id = draft["message"]["id"]
    messages = alice_gmail.users().messages()
    body = {"addLabelIds": ["STARRED"]}

    one = refusal(messages.modify(userId="me", id=draft_id, body=body))
    # One draft among the ids refuses the whole batch: nothing changes.
    batch = refusal(messages.batchModify(userId="me", body={"ids": [message_id, draft_id], **body}))

    assert one["reason"] == batch["reason"] == "invalidArgument"
    state = emulator.state(alice)["messages"]
    assert state[draft_id]["labelIds"] == ["DRAFT"]
    assert "STARRED" not in state[message_id]["labelIds"]


def test_a_thread_modify_leaves_the_thread_s_draft_alone(emulator, alice, alice_gmail, message_id):
    thread_id = alice_gmail.users().messages().get(userId="me", id=message_id).execute()["threadId"]
    reply = rfc822(sender=alice, to="a@x.example", subject="Re: x")
    draft = (
        alice_gmail.users()
        .drafts()
        .create(userId="me", body={"message": {"raw": raw(reply), "threadId": thread_id}})
        .execute()
    )

    alice_gmail.users().threads().modify(
        userId="me", id=thread_id, body={"addLabelIds": ["STARRED"]}
    ).execute()

    state = emulator.state(alice)["messages"]
    assert "STARRED" in state[message_id]["labelIds"]
    assert state[draft["message"]["id"]]["labelIds"] == ["DRAFT"]


@pytest.mark.parametrize(
    "name",
    [
        "Muted",
        "drafts",
        "ARCHIVE",
        "Voicemail",
        "inbox",
        "Sent",
        "spam",
        "Trash",
        "unread",
        "Starred",
        "important",
        "Chat",
        "category_social",
        "Unread\r",
        "a\x07b",
        "tab\there",
    ],
)
def test_it_refuses_reserved_label_names_and_control_characters(alice_gmail, name):
    labels = alice_gmail.users().labels()
    created = labels.create(userId="me", body={"name": "Fine"}).execute()

    refused = [
        refusal(labels.create(userId="me", body={"name": name})),
        refusal(labels.patch(userId="me", id=created["id"], body={"name": name})),
        refusal(labels.update(userId="me", id=created["id"], body={"name": name})),
    ]

    assert {detail["message"] for detail in refused} == {"Invalid label name"}
    assert labels.get(userId="me", id=created["id"]).execute()["name"] == "Fine"


def test_reserved_names_include_gmail_s_folders():
    assert {"muted", "drafts", "archive", "voicemail", "inbox", "chat"} <= RESERVED_LABEL_NAMES


def test_it_accepts_names_that_only_contain_a_reserved_word(alice_gmail):
    labels = alice_gmail.users().labels()

    created = [
        labels.create(userId="me", body={"name": name}).execute()["name"]
        for name in ("Inbox zero", "Archive/2024", "Muted bells", "Ünread")
    ]

    assert created == ["Inbox zero", "Archive/2024", "Muted bells", "Ünread"]
