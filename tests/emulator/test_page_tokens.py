"""Page tokens of messages.list that expire, as Google's APIs may let them (AIP-158)."""

import base64

import pytest
from googleapiclient.errors import HttpError

from tests.emulator.conftest import rfc822


def fill(gmail, count):
    for n in range(count):
        message = rfc822(sender="zoe@bakery.example", to="alice@example.com", subject=f"M{n}")
        raw = base64.urlsafe_b64encode(message.as_bytes()).decode()
        gmail.users().messages().insert(userId="me", body={"raw": raw}).execute()


def first_page_token(gmail):
    return gmail.users().messages().list(userId="me", maxResults=2).execute()["nextPageToken"]


def next_page(gmail, token):
    return gmail.users().messages().list(userId="me", maxResults=2, pageToken=token).execute()


def assert_refused(gmail, token):
    with pytest.raises(HttpError) as caught:
        next_page(gmail, token)
    assert caught.value.status_code == 400
    assert caught.value.error_details[0]["message"] == "Invalid pageToken"


def test_it_refuses_page_tokens_issued_before_expire_page_tokens(emulator, alice, alice_gmail):
    fill(alice_gmail, 5)
    token = first_page_token(alice_gmail)
    assert len(next_page(alice_gmail, token)["messages"]) == 2

    emulator.expire_page_tokens(alice)

    assert_refused(alice_gmail, token)
    assert len(next_page(alice_gmail, first_page_token(alice_gmail))["messages"]) == 2


def test_it_refuses_page_tokens_older_than_their_lifetime(emulator, alice, alice_gmail):
    emulator.set_config(page_token_ttl_s=3600)
    fill(alice_gmail, 3)
    token = first_page_token(alice_gmail)
    emulator.advance_clock(3599)
    assert next_page(alice_gmail, token)["messages"]

    emulator.advance_clock(2)

    assert_refused(alice_gmail, token)
