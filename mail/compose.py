"""Writing mail: the checks a message passes before it is sent, the MIME a draft becomes
at Gmail, and the draft a reply, reply all or forward starts from.

Nothing here talks to Gmail: sync/outbox.py saves and sends what `message_of` makes,
and hands it a way to fetch the bytes of forwarded files (`fetch`).
"""

import datetime as dt
import email.utils
import html
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP

import nh3

from accounts.models import GmailAccount
from mail.addresses import addresses, display_address, header_pairs, one_line
from mail.models import Attachment, Draft, DraftAttachment, Message
from mail.sanitize import compose_html, message_html_safe, plain_text, render

# Gmail takes up to 25 MB of attachments in one message.
MAX_ATTACHMENTS_BYTES = 25 * 1024 * 1024
MAX_RECIPIENTS = 500  # Gmail's limit per message
MAX_SUBJECT = 998
# The header by which a save retried after a crash finds the Gmail draft an earlier
# attempt made (a send has its own: sync.outbox.OUTBOX_ID_HEADER).
DRAFT_ID_HEADER = "X-Tern-Draft"
REPLY_PREFIX = re.compile(r"^\s*(re|aw|sv)\s*:", re.IGNORECASE)
FORWARD_PREFIX = re.compile(r"^\s*(fwd?|wg|tr)\s*:", re.IGNORECASE)
FORWARD_MARK = "---------- Forwarded message ---------"

type Fetch = Callable[[DraftAttachment], bytes]


class ComposeError(Exception):
    """What stops a message from being sent, in words for its writer."""

    message_is_safe = True  # Tern's own words, naming only what the user typed

    def __init__(self, problems: list[str]) -> None:
        super().__init__(" ".join(problems))
        self.problems = problems


def problems_before_send(draft: Draft) -> list[str]:
    """Why this draft cannot be sent as it is; empty when it can."""
    problems = []
    recipients = 0
    for title, text in (("To", draft.to), ("Cc", draft.cc), ("Bcc", draft.bcc)):
        found, bad = addresses(text)
        recipients += len(found)
        problems += [f"{title}: “{typed}” is not an email address." for typed in bad]
    if not recipients and not problems:
        problems.append("Add at least one recipient.")
    if recipients > MAX_RECIPIENTS:
        problems.append(f"Gmail sends to at most {MAX_RECIPIENTS} recipients at once.")
    problems += attachment_problems(draft.attachments.all())
    return problems


def attachment_problems(files: Iterable[DraftAttachment], *, adding: int = 0) -> list[str]:
    total = sum(f.size for f in files) + adding
    if total > MAX_ATTACHMENTS_BYTES:
        return [
            f"Attachments come to {_megabytes(total)}: Gmail sends at most "
            f"{_megabytes(MAX_ATTACHMENTS_BYTES)} in one message."
        ]
    return []


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


@dataclass(frozen=True)
class FromChoice:
    """An address the user may send from: an account's own, or one of its aliases
    (Gmail's sendAs), with the name and signature Gmail keeps for it."""

    account: GmailAccount
    email: str
    name: str = ""
    reply_to: str = ""
    signature: str = ""  # as text
    default: bool = False

    @property
    def value(self) -> str:
        """What the form's From posts: "<account id>:<address>"."""
        return f"{self.account.pk}:{self.email}"

    def __str__(self) -> str:
        return display_address((self.name, self.email))


def from_choices(accounts: Iterable[GmailAccount]) -> list[FromChoice]:
    """Every address the user may send from, each account's own address first."""
    choices = []
    for account in accounts:
        own = FromChoice(account, account.email.lower(), account.display_name)
        aliases = []
        for entry in account.send_as or []:
            choice = FromChoice(
                account,
                str(entry.get("email", "")).lower(),
                str(entry.get("name") or ""),
                str(entry.get("reply_to") or ""),
                signature_text(str(entry.get("signature") or "")),
                bool(entry.get("default")),
            )
            if choice.email == own.email:
                own = choice
            elif choice.email:
                aliases.append(choice)
        choices += [own, *aliases]
    return choices


def from_choice(choices: list[FromChoice], account: GmailAccount, address: str) -> FromChoice:
    """The account's choice for `address`, else its own address."""
    mine = [choice for choice in choices if choice.account.pk == account.pk]
    for choice in mine:
        if choice.email == address.lower():
            return choice
    return mine[0] if mine else FromChoice(account, account.email.lower(), account.display_name)


def signature_text(signature_html: str) -> str:
    """A signature Gmail keeps as HTML, as plain text for the message's body."""
    text = re.sub(r"(?i)<br\s*/?>|</(p|div|li|tr|h[1-6])>", "\n", signature_html)
    return html.unescape(nh3.clean(text, tags=set())).strip()


def with_signature(body: str, signature: str) -> str:
    """A new message's body: room to write, then the signature (above any quote, as
    Gmail places it)."""
    if not signature:
        return body
    return "\n\n-- \n" + signature + body


def message_of(draft: Draft, *, fetch: Fetch, for_gmail_drafts: bool = False) -> EmailMessage:
    """The draft as an RFC 5322 message. `fetch` gives the bytes of a forwarded file
    that Tern does not hold yet. A draft saved to Gmail's drafts carries DRAFT_ID_HEADER;
    the message sent does not (it carries the outbox's own)."""
    message = EmailMessage(policy=SMTP)
    sender = from_choice(from_choices([draft.account]), draft.account, draft.from_address)
    message["From"] = display_address((sender.name, sender.email))
    if sender.reply_to:
        message["Reply-To"] = sender.reply_to
    for header, text in (("To", draft.to), ("Cc", draft.cc), ("Bcc", draft.bcc)):
        found, _ = addresses(text)
        if found:
            message[header] = ", ".join(display_address(pair) for pair in found)
    message["Subject"] = one_line(draft.subject)[:MAX_SUBJECT]
    message["Message-ID"] = draft.message_id
    if draft.in_reply_to:
        message["In-Reply-To"] = draft.in_reply_to
    if draft.references:
        message["References"] = draft.references
    if for_gmail_drafts:
        message[DRAFT_ID_HEADER] = draft.message_id
    message.set_content(draft.body_text.replace("\r\n", "\n") or "\n")
    body_html = _html_of(draft)
    if body_html:
        message.add_alternative(_html_document(body_html), subtype="html")
    for file in draft.attachments.all():
        data = bytes(file.data) if file.data else fetch(file)
        maintype, _, subtype = file.mime_type.partition("/")
        if not subtype:
            maintype, subtype = "application", "octet-stream"
        cid = f"<{file.content_id}>" if file.content_id else None
        if file.content_id and f'src="cid:{file.content_id}"' in body_html:
            # Shown in the HTML: beside it, in multipart/related, as the original had it.
            message.get_body(("related", "html")).add_related(  # type: ignore[union-attr]
                data,
                maintype=maintype,
                subtype=subtype,
                cid=cid,
                filename=file.filename,
                disposition="inline",
            )
            continue
        message.add_attachment(
            data, maintype=maintype, subtype=subtype, filename=file.filename, cid=cid
        )
    return message


def _html_of(draft: Draft) -> str:
    """The message's HTML part: rich mode's HTML, and below what was typed, a forward's
    original as HTML while the text still holds the forward (the forward's lines in
    the text are its plain version). Empty for a plain message."""
    if not draft.quoted_html or FORWARD_MARK not in draft.body_text:
        return draft.body_html
    if draft.body_html:
        cut = draft.body_html.find(FORWARD_MARK)
        # Cut inside an element: the allowlist closes what the cut left open.
        own = compose_html(draft.body_html[:cut]) if cut >= 0 else draft.body_html
    else:
        own = plain_text(draft.body_text.partition(FORWARD_MARK)[0].rstrip())
    return own + draft.quoted_html


def _html_document(body: str) -> str:
    return f'<!doctype html><html><head><meta charset="utf-8"></head><body>{body}</body></html>'


def new_message_id(domain: str) -> str:
    return email.utils.make_msgid(domain=domain or "tern.invalid")


@dataclass
class Start:
    """What a reply, reply all or forward starts with, before the user types."""

    mode: str
    to: str = ""
    cc: str = ""
    subject: str = ""
    body_text: str = ""
    in_reply_to: str = ""
    references: str = ""
    forwarded: list[Attachment] = field(default_factory=list)
    quoted_html: str = ""


def reply_start(message: Message, *, mode: str, own: set[str]) -> Start:
    """A reply (mode "reply"), reply all ("reply_all") or forward ("forward") to
    `message`; `own` holds the user's addresses, which reply all leaves out."""
    quoted = _quote(message)
    references = " ".join([*message.references.split(), message.rfc822_message_id]).strip()
    if mode == Draft.Mode.FORWARD:
        subject = (
            message.subject if FORWARD_PREFIX.match(message.subject) else f"Fwd: {message.subject}"
        )
        files = [f for f in message.attachments.all() if f.mime_type != "message/rfc822"]
        return Start(
            mode=mode,
            subject=subject,
            body_text="\n\n" + _forwarded(message),
            # Threaded with the original in the sender's mailbox, as Gmail does.
            in_reply_to=message.rfc822_message_id,
            references=references,
            forwarded=files,
            quoted_html=forwarded_html(message, files),
        )
    subject = message.subject if REPLY_PREFIX.match(message.subject) else f"Re: {message.subject}"
    start = Start(
        mode=mode,
        subject=subject,
        body_text="\n\n" + quoted,
        in_reply_to=message.rfc822_message_id,
        references=references,
    )
    sender = header_pairs(message.reply_to or message.sender)
    from_me = any(address.lower() in own for _, address in header_pairs(message.sender))
    # A reply to one's own message goes to whom it went to, as Gmail does.
    first = header_pairs(message.to) if from_me else sender
    to = _without(first, own) or first
    cc: list[tuple[str, str]] = []
    if mode == Draft.Mode.REPLY_ALL:
        seen = {address.lower() for _, address in to}
        to += _without(header_pairs(message.to), own | seen) if not from_me else []
        seen = {address.lower() for _, address in to}
        cc = _without(header_pairs(message.cc), own | seen)
    start.to = ", ".join(display_address(pair) for pair in to)
    start.cc = ", ".join(display_address(pair) for pair in cc)
    return start


def _without(pairs: list[tuple[str, str]], addresses: set[str]) -> list[tuple[str, str]]:
    kept, seen = [], set(addresses)
    for name, address in pairs:
        if address.lower() not in seen:
            seen.add(address.lower())
            kept.append((name, address))
    return kept


def _when(message: Message) -> str:
    moment = message.date_header or message.internal_date
    return moment.astimezone(dt.UTC).strftime("%a, %d %b %Y at %H:%M UTC")


def _quote(message: Message) -> str:
    name, address = email.utils.parseaddr(message.sender)
    who = f"{name} <{address}>" if name else address
    lines = (message.body_text or message.snippet).rstrip().splitlines()
    quoted = "\n".join(f"> {line}" if line else ">" for line in lines)
    return f"On {_when(message)}, {who} wrote:\n{quoted}\n"


def _forward_head(message: Message) -> list[str]:
    head = [
        FORWARD_MARK,
        f"From: {message.sender}",
        f"Date: {_when(message)}",
        f"Subject: {message.subject}",
        f"To: {message.to}",
    ]
    if message.cc:
        head.append(f"Cc: {message.cc}")
    return head


def _forwarded(message: Message) -> str:
    return "\n".join(_forward_head(message)) + "\n\n" + (message.body_text or message.snippet)


def forwarded_html(message: Message, files: Iterable[Attachment]) -> str:
    """A forward's original as HTML, for a message that has HTML: the forward's header
    lines, then its body through the mail allowlist (mail.sanitize: no script, no
    form, nothing that runs), its remote images as the sender wrote them (the
    recipient's mail client decides about them, as with Gmail's forwards), tracking
    pixels left out, and its `cid:` images kept for the `files` carried along."""
    if not message.body_html:
        return ""
    carried = {file.content_id for file in files if file.content_id}
    body = render(
        message_html_safe(message),
        proxied=lambda url: url,
        inline=lambda cid: f"cid:{cid}" if cid in carried else None,
    ).body
    head = "<br>".join(html.escape(line) for line in _forward_head(message))
    return f'<div class="gmail_quote">{head}<br><br>{body}</div>'
