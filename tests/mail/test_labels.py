"""Tern's checks of label names and changes refuse exactly what Gmail (the emulator) refuses."""

import pytest
from googleapiclient.errors import HttpError

from emulator.mailbox import RESERVED_LABEL_NAMES
from mail.labels import label_change_problem, label_name_problem

NAMES = [
    *sorted(RESERVED_LABEL_NAMES),
    "Muted",
    "DRAFTS",
    "Voicemail",
    " archive ",
    "Unread\r",
    "a\tb",
    "bell\x07",
    "",
    "   ",
    "Inbox zero",
    "Archive/2024",
    "Projects/Tern",
    "Ünread",
    "Café ☕",
]


def gmail_accepts(gmail, name):
    try:
        gmail.users().labels().create(userId="me", body={"name": name}).execute()
    except HttpError as error:
        assert error.status_code == 400
        return False
    return True


@pytest.mark.parametrize("name", NAMES)
def test_a_name_is_refused_here_exactly_when_gmail_refuses_it(name, emulator):
    emulator.create_user("alice@example.com", "Alice Example")
    gmail = emulator.gmail("alice@example.com")

    problem = label_name_problem(name)

    assert (problem is None) == gmail_accepts(gmail, name), (name, problem)


def test_the_reason_names_the_reserved_word():
    assert label_name_problem("Muted") == "Gmail keeps the name “Muted” for itself: choose another."
    assert "control characters" in (label_name_problem("Unread\r") or "")


@pytest.mark.parametrize(
    ("add", "remove", "refused"),
    [
        (["SENT"], [], True),
        ([], ["CHAT"], True),
        (["DRAFT"], [], True),
        (["INBOX", "SPAM"], [], True),
        (["TRASH", "INBOX"], [], True),
        (["INBOX"], ["SPAM", "TRASH"], False),
        (["STARRED", "Label_1"], ["UNREAD"], False),
    ],
)
def test_a_label_change_is_refused_here_exactly_when_gmail_refuses_it(
    add, remove, refused, emulator
):
    emulator.create_user("alice@example.com", "Alice Example")
    gmail = emulator.gmail("alice@example.com")
    gmail.users().labels().create(userId="me", body={"name": "Work"}).execute()  # Label_1
    body = {"ids": [], "addLabelIds": add, "removeLabelIds": remove}
    try:
        gmail.users().messages().batchModify(userId="me", body=body).execute()
        gmail_refused = False
    except HttpError:
        gmail_refused = True

    assert (label_change_problem(add, remove) is not None) == gmail_refused == refused
