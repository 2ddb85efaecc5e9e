"""users.settings: the addresses a user sends as, and the vacation responder (issue 10,
item 16). Every answer is checked against the discovery schema by the `emulator` fixture."""

import pytest
from googleapiclient.errors import HttpError

from emulator.config import Config
from emulator.seed import demo
from emulator.state import Emulator as EmulatorState

SETTINGS_SCOPE = "https://www.googleapis.com/auth/gmail.settings.basic"


def test_a_new_user_sends_as_their_own_address_only(alice, alice_gmail):
    listed = alice_gmail.users().settings().sendAs().list(userId="me").execute()

    assert listed == {
        "sendAs": [
            {
                "sendAsEmail": alice,
                "displayName": "Alice Example",
                "replyToAddress": "",
                "signature": "",
                "isPrimary": True,
                "isDefault": True,
            }
        ]
    }


def test_an_alias_is_listed_and_got_with_its_signature(emulator, alice, alice_gmail):
    emulator.add_send_as(
        alice,
        "alice@work.example",
        displayName="Alice at Work",
        replyToAddress="desk@work.example",
        signature="<b>Alice</b>",
        isDefault=True,
    )
    send_as = alice_gmail.users().settings().sendAs()

    listed = send_as.list(userId="me").execute()["sendAs"]
    alias = send_as.get(userId="me", sendAsEmail="alice@work.example").execute()

    assert [(e["sendAsEmail"], e["isDefault"]) for e in listed] == [
        (alice, False),
        ("alice@work.example", True),
    ]
    assert listed[0]["isPrimary"] is True
    assert alias == {
        "sendAsEmail": "alice@work.example",
        "displayName": "Alice at Work",
        "replyToAddress": "desk@work.example",
        "signature": "<b>Alice</b>",
        "isDefault": True,
        "treatAsAlias": True,
        "verificationStatus": "accepted",
    }
    assert "isPrimary" not in alias


def test_an_unknown_address_is_not_found(alice_gmail):
    with pytest.raises(HttpError) as caught:
        alice_gmail.users().settings().sendAs().get(
            userId="me", sendAsEmail="nobody@x.example"
        ).execute()

    assert caught.value.status_code == 404


def test_the_vacation_responder_is_off_until_set(emulator, alice, alice_gmail):
    settings = emulator.gmail(alice, scopes=(SETTINGS_SCOPE,)).users().settings()
    body = {
        "enableAutoReply": True,
        "responseSubject": "Away",
        "responseBodyPlainText": "Back on Monday.",
        "restrictToContacts": True,
        "startTime": "1767225600000",
        "endTime": "1767830400000",
    }

    before = alice_gmail.users().settings().getVacation(userId="me").execute()
    updated = settings.updateVacation(userId="me", body=body).execute()
    after = alice_gmail.users().settings().getVacation(userId="me").execute()

    assert before == {"enableAutoReply": False}
    assert updated == after == body


def test_changing_the_vacation_responder_needs_the_settings_scope(alice_gmail):
    # gmail.modify may read settings but not change them (the discovery document's scopes).
    with pytest.raises(HttpError) as caught:
        alice_gmail.users().settings().updateVacation(
            userId="me", body={"enableAutoReply": True}
        ).execute()

    assert caught.value.status_code == 403


def test_a_malformed_vacation_is_refused(emulator, alice):
    settings = emulator.gmail(alice, scopes=(SETTINGS_SCOPE,)).users().settings()

    with pytest.raises(HttpError) as caught:
        settings.updateVacation(userId="me", body={"startTime": "soon"}).execute()

    assert caught.value.status_code == 400


def test_the_demo_gives_alice_a_signature_and_a_work_alias():
    state = EmulatorState(Config())
    demo(state)

    entries = {e.email: e for e in state.mailbox("alice@example.com").send_as.values()}

    primary, alias = entries["alice@example.com"], entries["alice@work.example"]
    assert primary.is_primary and primary.is_default and "Sent with Tern" in primary.signature
    assert not alias.is_primary and not alias.is_default and alias.signature
    assert [e.email for e in state.mailbox("bob@example.com").send_as.values()] == [
        "bob@example.com"
    ]
