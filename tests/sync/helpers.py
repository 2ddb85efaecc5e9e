"""Mail for the emulator's mailboxes, and the mirror compared with Gmail, for sync tests.

Connecting an account and syncing it to the end are in ``support.mailbox`` (the
benchmarks use them too)."""

import base64
import datetime as dt
import email.message
import email.utils
import itertools

from accounts.models import GmailAccount
from sync.selectors import mailbox_state

FULL_SCOPES = (
    "openid",
    "email",
    "https://www.googleapis.com/auth/gmail.modify",
    "https://mail.google.com/",
)
_counter = itertools.count(1)


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


def a_conversation(gmail, *, to, replies=2):
    """A first message and `replies` answers to it, one thread at Gmail; returns its id."""
    first = deliver(gmail, raw_message(to=to, subject="Lunch plans"))
    parent = gmail.users().messages().get(userId="me", id=first["id"], format="metadata").execute()
    message_id = next(
        h["value"] for h in parent["payload"]["headers"] if h["name"].lower() == "message-id"
    )
    for _ in range(replies):
        deliver(gmail, raw_message(to=to, subject="Re: Lunch plans", reply_to_id=message_id))
    return first["threadId"]


def believe_delete_allowed(account):
    """Tern's record of the grant says https://mail.google.com/, so delete forever is
    offered, while the tokens carry gmail.modify only: Gmail refuses the delete (403
    insufficientPermissions), the path of an action Gmail refuses for good."""
    scopes = {*account.scopes.split(), "https://mail.google.com/"}
    GmailAccount.objects.filter(pk=account.pk).update(scopes=" ".join(sorted(scopes)))
    account.refresh_from_db()
    return account
