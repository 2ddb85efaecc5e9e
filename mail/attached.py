"""An attached message (`message/rfc822`) made ready to show as a message of its own.

The mirror keeps an attached message as one attachment, never its body (a forwarded
mail is not the outer mail's text); its page fetches the raw message from Gmail and
this module reads it: its headers as text, its body through the same sanitiser and
sandboxed document as any mail (remote images stay hidden: no proxy here), its own files
by name, type and size. Whatever the bytes, the reader answers: a header or a part it
cannot decode reads as empty or with replacement characters, never as an error.
"""

import email
import email.policy
from dataclasses import dataclass, field
from email.message import EmailMessage, Message

from mail import sanitize

# The headers the page shows, in order.
SHOWN_HEADERS = ("From", "To", "Cc", "Date", "Subject")


@dataclass
class AttachedFile:
    name: str
    mime_type: str
    size: int


@dataclass
class AttachedMessage:
    headers: list[tuple[str, str]]
    subject: str
    html_document: str = ""  # the sandboxed iframe's document, for an HTML body
    text_html: str = ""  # a plain-text body as safe HTML
    remote_images: int = 0
    trackers: int = 0
    files: list[AttachedFile] = field(default_factory=list)


def attached_message(raw: bytes) -> AttachedMessage:
    # policy.default makes an EmailMessage (get_body, iter_attachments).
    message: EmailMessage = email.message_from_bytes(raw, policy=email.policy.default)
    headers = [(name, _header(message, name)) for name in SHOWN_HEADERS]
    shown = AttachedMessage(
        headers=[(name, value) for name, value in headers if value],
        subject=_header(message, "Subject"),
    )
    body = message.get_body(preferencelist=("html", "plain"))
    if body is not None and body.get_content_subtype() == "html":
        rendered = sanitize.render(sanitize.sanitize(_text(body)))
        shown.html_document = sanitize.document(rendered.body)
        shown.remote_images, shown.trackers = rendered.remote_images, rendered.trackers
    elif body is not None:
        shown.text_html = sanitize.plain_text(_text(body))
    for part in message.iter_attachments():
        payload = part.get_payload(decode=True)
        shown.files.append(
            AttachedFile(
                name=part.get_filename() or "",
                mime_type=part.get_content_type(),
                size=len(payload) if isinstance(payload, bytes) else 0,
            )
        )
    return shown


def _header(message: Message, name: str) -> str:
    try:
        return str(message.get(name, "") or "").strip()
    except Exception:  # a header its sender mangled: shown as absent
        return ""


def _text(part: Message) -> str:
    try:
        return str(part.get_content())  # type: ignore[attr-defined]
    except (LookupError, UnicodeError, ValueError, AssertionError):  # an unknown charset
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
