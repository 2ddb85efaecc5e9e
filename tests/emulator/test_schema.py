"""The discovery-schema guard itself: it must fail on a body Gmail would never send."""

import json

import pytest
from googleapiclient.http import HttpMockSequence

from tests.fixtures.emulator import SchemaMismatch, validate_response

MESSAGE = {
    "id": "18c0ffee00000001",
    "threadId": "18c0ffee00000001",
    "labelIds": ["INBOX"],
    "snippet": "Hi",
    "payload": {
        "partId": "",
        "mimeType": "text/plain",
        "filename": "",
        "headers": [],
        "body": {"size": 2, "data": "SGk="},
    },
    "sizeEstimate": 100,
    "historyId": "1234",
    "internalDate": "1700000000000",
}


def test_it_accepts_a_well_formed_message():
    validate_response("gmail.users.messages.get", MESSAGE)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"unexpected": 1}, "unknown property"),
        ({"historyId": 1234}, "expected a string"),
        ({"historyId": "12a"}, "uint64"),
        ({"internalDate": "soon"}, "int64"),
        ({"sizeEstimate": "100"}, "expected an integer"),
        ({"labelIds": "INBOX"}, "expected an array"),
        ({"payload": {**MESSAGE["payload"], "body": {"size": 2, "data": "S+G/"}}}, "base64url"),
        ({"id": None}, "expected a string"),
    ],
)
def test_it_rejects_what_gmail_never_sends(change, problem):
    with pytest.raises(SchemaMismatch, match=problem):
        validate_response("gmail.users.messages.get", {**MESSAGE, **change})


def test_it_rejects_a_missing_always_present_field():
    body = {key: value for key, value in MESSAGE.items() if key != "threadId"}

    with pytest.raises(SchemaMismatch, match="lacks"):
        validate_response("gmail.users.messages.get", body)


def test_it_rejects_a_body_on_a_method_without_one():
    with pytest.raises(SchemaMismatch):
        validate_response("gmail.users.messages.delete", {"deleted": True})


def test_the_guard_fails_a_real_client_call_on_a_bad_body(emulator, alice, alice_gmail):
    bad_profile = json.dumps(
        {"emailAddress": alice, "messagesTotal": 0, "threadsTotal": 0, "historyId": "1", "quota": 5}
    )
    request = alice_gmail.users().getProfile(userId="me")

    with pytest.raises(SchemaMismatch, match="unknown property 'quota'"):
        request.execute(http=HttpMockSequence([({"status": "200"}, bad_profile)]))
