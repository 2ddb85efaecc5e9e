"""Named mailboxes for the emulator's own tests (the fixtures are in tests/fixtures/emulator.py).

Here ``alice`` and ``bob`` are addresses of emulated Google users, not Django users.
"""

from email.message import EmailMessage

import pytest


def rfc822(*, sender: str, to: str, subject: str, text: str = "Hello.", **headers) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(text)
    return message


@pytest.fixture
def alice(emulator):
    emulator.create_user("alice@example.com", "Alice Example")
    return "alice@example.com"


@pytest.fixture
def bob(emulator):
    emulator.create_user("bob@example.com", "Bob Example")
    return "bob@example.com"


@pytest.fixture
def alice_gmail(emulator, alice):
    return emulator.gmail(alice)


@pytest.fixture
def bob_gmail(emulator, bob):
    return emulator.gmail(bob)
