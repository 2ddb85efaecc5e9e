"""Mail moving between mailboxes: what messages.send does, and incoming delivery."""

from email.utils import formataddr, formatdate, make_msgid

from . import errors, mime
from .mailbox import Mailbox, StoredMessage

INCOMING_LABELS = frozenset({"INBOX", "UNREAD", "CATEGORY_PERSONAL"})


def finalize_outgoing(raw: bytes, mailbox: Mailbox, now_ms: int) -> bytes:
    """Gmail sets From to the sender (no sendAs aliases here) and adds Message-ID and Date."""
    parsed = mime.parse(raw)
    senders = mime.safe_getaddresses([parsed.header("From") or ""])
    if not senders or senders[0][1].lower() != mailbox.email:
        raw = mime.set_header(raw, "From", formataddr((mailbox.name, mailbox.email), "utf-8"))
    if not parsed.header("Message-ID"):
        raw = mime.set_header(raw, "Message-ID", make_msgid(domain="mail.gmail.com"))
    if not parsed.header("Date"):
        raw = mime.set_header(raw, "Date", formatdate(now_ms / 1000, usegmt=True))
    return raw


def send(emulator, mailbox: Mailbox, raw: bytes, thread_hint: str | None) -> StoredMessage:
    raw = finalize_outgoing(raw, mailbox, emulator.clock.now_ms())
    parsed = mime.parse(raw)
    if not parsed.recipients:
        raise errors.invalid_argument("Recipient address required")
    labels = {"SENT"}
    if mailbox.email in parsed.recipients:
        labels |= {"INBOX", "UNREAD"}
    sent = mailbox.add(parsed, labels=labels, thread_hint=thread_hint)
    # Recipients never see Bcc; the sender's own copy keeps it.
    outgoing = mime.remove_header(raw, "Bcc")
    for address in dict.fromkeys(parsed.recipients):
        recipient = emulator.mailbox(address)
        if recipient is not None and recipient is not mailbox:
            deliver(recipient, mime.set_header(outgoing, "Delivered-To", address))
    return sent


def deliver(
    mailbox: Mailbox, raw: bytes, *, labels=INCOMING_LABELS, internal_date: int | None = None
) -> StoredMessage:
    """A message arriving from outside, as SMTP delivery would file it."""
    return mailbox.add(mime.parse(raw), labels=labels, internal_date=internal_date)
