"""The control API under /_emulator/."""

import base64
import json

import httpx
import pytest
from googleapiclient.errors import HttpError

from tests.emulator.conftest import rfc822


def test_it_creates_users_once(emulator):
    created = httpx.post(
        f"{emulator.url}/_emulator/users", json={"email": "carol@example.com", "name": "Carol Ça"}
    )
    again = httpx.post(
        f"{emulator.url}/_emulator/users", json={"email": "carol@example.com", "name": "Carol"}
    )

    assert created.status_code == 201
    assert created.json()["email"] == "carol@example.com" and created.json()["historyId"]
    assert again.status_code == 409


def test_it_reports_the_state_of_a_mailbox(emulator, alice, alice_gmail):
    message = rfc822(sender="zoe@bakery.example", to=alice, subject="State")
    stored = (
        alice_gmail.users()
        .messages()
        .insert(
            userId="me",
            body={
                "raw": base64.urlsafe_b64encode(message.as_bytes()).decode(),
                "labelIds": ["UNREAD", "INBOX"],
            },
        )
        .execute()
    )

    state = emulator.state(alice)

    assert state == {
        "historyId": alice_gmail.users().getProfile(userId="me").execute()["historyId"],
        "messages": {
            stored["id"]: {"threadId": stored["threadId"], "labelIds": ["INBOX", "UNREAD"]}
        },
    }
    assert httpx.get(f"{emulator.url}/_emulator/users/nobody@example.com/state").status_code == 404


def test_reset_empties_everything(emulator, alice):
    emulator.set_faults(error_rate=0.5)
    emulator.set_config(quota_units_per_minute=5)

    emulator.reset()

    assert httpx.get(f"{emulator.url}/_emulator/users").json() == {"users": []}
    assert httpx.get(f"{emulator.url}/_emulator/faults").json()["error_rate"] == 0
    assert httpx.get(f"{emulator.url}/_emulator/config").json()["quota_units_per_minute"] == 15000


def test_it_validates_config_changes(emulator):
    unknown = httpx.put(f"{emulator.url}/_emulator/config", json={"nope": 1})
    wrong_type = httpx.put(f"{emulator.url}/_emulator/config", json={"token_ttl_s": "soon"})
    changed = emulator.set_config(token_ttl_s=5, auto_consent=True)

    assert unknown.status_code == wrong_type.status_code == 400
    assert changed["token_ttl_s"] == 5 and changed["auto_consent"] is True


def test_it_measures_its_own_throughput(emulator, alice, alice_gmail):
    for _ in range(5):
        alice_gmail.users().getProfile(userId="me").execute()

    server = emulator.stats()["server"]

    assert server["requests_total"] >= 5
    assert server["requests_per_second_10s"] > 0


def test_a_user_without_gmail_signs_in_and_every_gmail_call_refuses(emulator):
    created = emulator.create_user("dana@example.com", "Dana", gmail=False)
    tokens = emulator.sign_in("dana@example.com")  # a Google account: sign-in works
    gmail = emulator.gmail("dana@example.com")

    with pytest.raises(HttpError) as profile:
        gmail.users().getProfile(userId="me").execute()
    with pytest.raises(HttpError) as listing:
        gmail.users().messages().list(userId="me").execute()

    assert created["gmail"] is False and tokens["access_token"]
    for caught in (profile, listing):
        # Gmail's body, as other clients report it (FlowCrypt #435, fluent-smtp #152).
        assert json.loads(caught.value.content) == {
            "error": {
                "code": 400,
                "message": "Mail service not enabled",
                "errors": [
                    {
                        "message": "Mail service not enabled",
                        "domain": "global",
                        "reason": "failedPrecondition",
                    }
                ],
                "status": "FAILED_PRECONDITION",
            }
        }


def test_users_have_gmail_unless_told_otherwise(emulator, alice, alice_gmail):
    users = {
        u["email"]: u["gmail"] for u in httpx.get(f"{emulator.url}/_emulator/users").json()["users"]
    }

    assert users == {alice: True}
    assert alice_gmail.users().getProfile(userId="me").execute()["emailAddress"] == alice
