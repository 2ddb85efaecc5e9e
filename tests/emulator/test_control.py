"""The control API under /_emulator/."""

import base64

import httpx

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
