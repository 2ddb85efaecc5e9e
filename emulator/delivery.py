"""Mail moving between mailboxes: what messages.send does, and incoming delivery."""

from email.utils import formataddr, formatdate, make_msgid

from . import errors, mime
from .mailbox import Mailbox, StoredMessage

INCOMING_LABELS = frozenset({"INBOX", "UNREAD", "CATEGORY_PERSONAL"})
# Labels that mean the user's own mail, which Gmail files in no inbox category.
OWN_LABELS = frozenset({"SENT", "DRAFT", "CHAT"})


def category_of(parsed: mime.Parsed) -> str:
    """The inbox category Gmail's classifier would give an incoming message, roughly:
    mailing lists are forums, bulk mail updates, anything else personal."""
    if parsed.header("List-Id"):
        return "CATEGORY_FORUMS"
    precedence = (parsed.header("Precedence") or "").strip().lower()
    if parsed.header("List-Unsubscribe") or precedence in {"bulk", "list", "junk"}:
        return "CATEGORY_UPDATES"
    return "CATEGORY_PERSONAL"


def classified(parsed: mime.Parsed, labels: set[str]) -> set[str]:
    """`labels` with the category SMTP delivery would add, as messages.import does,
    unless the caller chose one or the message is the user's own."""
    if labels & OWN_LABELS or any(label.startswith("CATEGORY_") for label in labels):
        return labels
    return labels | {category_of(parsed)}


def finalize_outgoing(
    raw: bytes, mailbox: Mailbox, now_ms: int, *, replace_message_id: bool = False
) -> bytes:
    """Gmail keeps a From that is the sender's address or one of their send-as aliases
    (settings.sendAs), sets it to the sender's address otherwise, and adds Message-ID and
    Date.

    With `replace_message_id` the client's Message-ID gives way to one of Gmail's, as
    clients report of the API's sends (lieer #198, FlowCrypt #4273): the sender's copy
    and every recipient's carry the new one.
    """
    parsed = mime.parse(raw)
    senders = mime.safe_getaddresses([parsed.header("From") or ""])
    allowed = {mailbox.email, *(address.lower() for address in mailbox.send_as)}
    if not senders or senders[0][1].lower() not in allowed:
        raw = mime.set_header(raw, "From", formataddr((mailbox.name, mailbox.email), "utf-8"))
    if replace_message_id or not parsed.header("Message-ID"):
        raw = mime.set_header(raw, "Message-ID", make_msgid(domain="mail.gmail.com"))
    if not parsed.header("Date"):
        raw = mime.set_header(raw, "Date", formatdate(now_ms / 1000, usegmt=True))
    return raw


def send(emulator, mailbox: Mailbox, raw: bytes, thread_hint: str | None) -> StoredMessage:
    raw = finalize_outgoing(
        raw,
        mailbox,
        emulator.clock.now_ms(),
        replace_message_id=emulator.config.send_replaces_message_id,
    )
    parsed = mime.parse(raw)
    if not parsed.recipients:
        raise errors.invalid_argument("Recipient address required")
    labels = {"SENT"}
    if mailbox.email in parsed.recipients:
        labels |= {"INBOX", "UNREAD"}
    sent = mailbox.add(parsed, labels=labels, thread_hint=thread_hint, own=True)
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
