"""history.list: each change recorded as Gmail records it, filters, paging and 404."""

import base64
import itertools

import pytest
from googleapiclient.errors import HttpError

from tests.emulator.conftest import rfc822

FULL_SCOPE = ("https://mail.google.com/",)


def insert(gmail, subject, labels=("INBOX", "UNREAD")):
    message = rfc822(sender="zoe@bakery.example", to="alice@example.com", subject=subject)
    body = {"raw": base64.urlsafe_b64encode(message.as_bytes()).decode(), "labelIds": list(labels)}
    return gmail.users().messages().insert(userId="me", body=body).execute()


def history(gmail, start, **params):
    return gmail.users().history().list(userId="me", startHistoryId=start, **params).execute()


@pytest.fixture
def gmail(emulator, alice):
    return emulator.gmail(alice, scopes=FULL_SCOPE)


def test_it_records_each_kind_of_change(emulator, alice, gmail):
    start = gmail.users().getProfile(userId="me").execute()["historyId"]

    added = insert(gmail, "Hello")
    gmail.users().messages().modify(
        userId="me", id=added["id"], body={"addLabelIds": ["STARRED"], "removeLabelIds": ["UNREAD"]}
    ).execute()
    gmail.users().messages().delete(userId="me", id=added["id"]).execute()
    records = history(gmail, start)["history"]

    ref = {"id": added["id"], "threadId": added["threadId"]}
    assert [r["messages"] for r in records] == [[ref]] * 4
    assert records[0]["messagesAdded"] == [{"message": {**ref, "labelIds": ["INBOX", "UNREAD"]}}]
    assert records[1]["labelsAdded"] == [
        {"message": {**ref, "labelIds": ["INBOX", "STARRED", "UNREAD"]}, "labelIds": ["STARRED"]}
    ]
    assert records[2]["labelsRemoved"] == [
        {"message": {**ref, "labelIds": ["INBOX", "STARRED"]}, "labelIds": ["UNREAD"]}
    ]
    assert records[3]["messagesDeleted"][0]["message"]["id"] == added["id"]
    ids = [int(r["id"]) for r in records]
    assert ids == sorted(ids) and int(records[0]["id"]) > int(start)
    assert history(gmail, start)["historyId"] == emulator.state(alice)["historyId"] == str(ids[-1])


def test_it_leaves_gaps_between_history_ids(gmail):
    start = gmail.users().getProfile(userId="me").execute()["historyId"]
    for n in range(6):
        insert(gmail, f"m{n}")

    ids = [int(r["id"]) for r in history(gmail, start)["history"]]

    assert any(b - a > 1 for a, b in itertools.pairwise(ids))


def test_it_filters_by_history_type_and_label(gmail):
    start = gmail.users().getProfile(userId="me").execute()["historyId"]
    inbox = insert(gmail, "In the inbox")
    archived = insert(gmail, "Archived", labels=["UNREAD"])
    gmail.users().messages().modify(
        userId="me", id=archived["id"], body={"addLabelIds": ["STARRED"]}
    ).execute()

    added_only = history(gmail, start, historyTypes=["messageAdded"])["history"]
    label_events = history(gmail, start, historyTypes=["labelAdded", "labelRemoved"])["history"]
    inbox_only = history(gmail, start, labelId="INBOX")["history"]

    assert [r["messagesAdded"][0]["message"]["id"] for r in added_only] == [
        inbox["id"],
        archived["id"],
    ]
    assert [set(r) for r in label_events] == [{"id", "messages", "labelsAdded"}]
    assert [r["messages"][0]["id"] for r in inbox_only] == [inbox["id"]]


def test_it_pages_through_history(gmail):
    start = gmail.users().getProfile(userId="me").execute()["historyId"]
    ids = [insert(gmail, f"m{n}")["id"] for n in range(5)]

    seen, token = [], None
    while True:
        page = history(gmail, start, maxResults=2, pageToken=token)
        seen.extend(r["messagesAdded"][0]["message"]["id"] for r in page["history"])
        token = page.get("nextPageToken")
        if not token:
            break

    assert seen == ids


def test_it_answers_an_empty_history_with_only_the_current_id(gmail):
    current = gmail.users().getProfile(userId="me").execute()["historyId"]

    assert history(gmail, current) == {"historyId": current}


def test_it_answers_404_for_expired_or_too_old_ids(emulator, alice, gmail):
    start = gmail.users().getProfile(userId="me").execute()["historyId"]
    insert(gmail, "Before expiry")
    assert history(gmail, start)["history"]

    emulator.expire_history(alice)
    with pytest.raises(HttpError) as expired:
        history(gmail, start)
    with pytest.raises(HttpError) as ancient:
        history(gmail, "1")
    current = gmail.users().getProfile(userId="me").execute()["historyId"]
    insert(gmail, "After expiry")

    for caught in (expired, ancient):
        assert caught.value.status_code == 404
        assert caught.value.error_details[0]["reason"] == "notFound"
    assert len(history(gmail, current)["history"]) == 1


def test_it_records_what_sending_does_in_both_mailboxes(emulator, alice, bob):
    alice_gmail, bob_gmail = emulator.gmail(alice), emulator.gmail(bob)
    alice_start = alice_gmail.users().getProfile(userId="me").execute()["historyId"]
    bob_start = bob_gmail.users().getProfile(userId="me").execute()["historyId"]
    message = rfc822(sender=alice, to=bob, subject="Hi Bob")

    alice_gmail.users().messages().send(
        userId="me", body={"raw": base64.urlsafe_b64encode(message.as_bytes()).decode()}
    ).execute()

    sent = history(alice_gmail, alice_start)["history"]
    received = history(bob_gmail, bob_start)["history"]
    assert sent[0]["messagesAdded"][0]["message"]["labelIds"] == ["SENT"]
    assert received[0]["messagesAdded"][0]["message"]["labelIds"] == [
        "CATEGORY_PERSONAL",
        "INBOX",
        "UNREAD",
    ]
