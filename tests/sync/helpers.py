"""Arranging mailboxes in the emulator and connected accounts in Tern, for sync tests."""

import base64
import datetime as dt
import email.message
import email.utils
import itertools

from accounts.credentials import tokens_store
from accounts.models import GmailAccount
from sync.selectors import mailbox_state

FULL_SCOPES = (
    "openid",
    "email",
    "https://www.googleapis.com/auth/gmail.modify",
    "https://mail.google.com/",
)
_counter = itertools.count(1)


def connect(emulator, user, email, name="Test Person"):
    """An emulated mailbox, connected to `user` with real tokens from the emulator."""
    identity = emulator.create_user(email, name)
    tokens = emulator.issue_tokens(email)
    account = GmailAccount.objects.create(
        user=user, email=email, google_sub=identity.get("sub", email), display_name=name
    )
    tokens_store(
        account=account,
        access_token=tokens["access_token"],
        refresh_token=tokens.get("refresh_token"),
        expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=tokens["expires_in"]),
        scopes=tokens["scope"].split(),
    )
    return account


def raw_message(
    *,
    to,
    subject=None,
    sender="Carol Sender <carol@elsewhere.example>",
    body="Hello",
    reply_to_id=None,
    html=None,
):
    n = next(_counter)
    message = email.message.EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject or f"Message {n}"
    message["Date"] = email.utils.format_datetime(dt.datetime.now(dt.UTC))
    message["Message-ID"] = f"<m{n}.{id(message)}@elsewhere.example>"
    if reply_to_id:
        message["In-Reply-To"] = reply_to_id
        message["References"] = reply_to_id
    message.set_content(body)
    if html:
        message.add_alternative(html, subtype="html")
    return message


def deliver(gmail, message, labels=("INBOX", "UNREAD")):
    """messages.insert of `message` into the mailbox behind `gmail`; returns its resource."""
    raw = base64.urlsafe_b64encode(message.as_bytes()).decode()
    body = {"raw": raw, "labelIds": list(labels)}
    return gmail.users().messages().insert(userId="me", body=body).execute()


def assert_mirror_equals_gmail(emulator, account):
    gmail_state = emulator.state(account.email)
    mirror_state = mailbox_state(account=account)
    assert mirror_state["messages"] == gmail_state["messages"]
    return gmail_state


def sync_until_done(account, **kwargs):
    """mailbox_sync, again while a full sync has slices left; asserts it ends DONE."""
    from sync.services import Outcome, mailbox_sync

    result = mailbox_sync(account_id=account.pk, **kwargs)
    while result.outcome == Outcome.MORE:
        result = mailbox_sync(account_id=account.pk)
    assert result.outcome == Outcome.DONE, result
    return result
