"""RFC 822 messages parsed the way Gmail presents them: payload tree, snippet, threading keys.

Parsing happens once, when a message enters a mailbox; every later ``messages.get`` only
renders what is stored here.
"""

import base64
import datetime as dt
import email
import email.policy
import html
import re
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from email.utils import getaddresses, parsedate_to_datetime

# Gmail hands a part's body out by attachmentId (not inline data) when the part is a
# file, or not text, or very large. Google does not document the size threshold.
LARGE_PART_BYTES = 1024 * 1024
SNIPPET_CHARS = 200
# Reply and forward prefixes Gmail ignores when it compares subjects to form threads.
_SUBJECT_PREFIX = re.compile(
    r"^\s*(?:(?:re|fw|fwd|aw|wg|sv|vs|antw|tr|rv|rif)\s*(?:\[\d+\])?\s*[:\uff1a]\s*)+", re.I
)
_MESSAGE_IDS = re.compile(r"<[^<>\s]+>")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_TAG = re.compile(r"<[^>]*>")
_INVISIBLE = re.compile(r"<(style|script|head|title)\b.*?</\1\s*>", re.I | re.S)
_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"\w+")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii")


def b64decode_any(text: str) -> bytes:
    """Decode base64url or standard base64, padded or not, as Google accepts both."""
    cleaned = text.strip().replace("+", "-").replace("/", "_")
    return base64.urlsafe_b64decode(cleaned + "=" * (-len(cleaned) % 4))


@dataclass
class Part:
    part_id: str
    mime_type: str
    filename: str
    headers: list[tuple[str, str]]
    data: bytes = b""
    is_attachment: bool = False
    parts: list["Part"] = field(default_factory=list)
    _data_b64: str | None = None

    @property
    def data_b64(self) -> str:
        if self._data_b64 is None:
            self._data_b64 = b64url(self.data)
        return self._data_b64

    def walk(self):
        yield self
        for child in self.parts:
            yield from child.walk()


@dataclass
class Parsed:
    raw: bytes
    payload: Part
    snippet: str
    subject: str
    thread_subject: str
    rfc822_id: str | None
    references: list[str]
    date_ms: int | None
    addresses: dict[str, str]
    recipients: list[str]
    text: str
    words: frozenset[str]
    filenames: list[str]

    @property
    def headers(self) -> list[tuple[str, str]]:
        return self.payload.headers

    @property
    def size_estimate(self) -> int:
        return len(self.raw)

    @property
    def has_attachment(self) -> bool:
        return bool(self.filenames)

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None

    def part(self, part_id: str) -> Part | None:
        for part in self.payload.walk():
            if part.part_id == part_id:
                return part
        return None


def parse(raw: bytes) -> Parsed:
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    payload = _part(message, "")
    headers = dict((k.lower(), v) for k, v in reversed(payload.headers))
    subject = headers.get("subject", "")
    body_text = _body_text(payload)
    addresses = {
        name: headers.get(name, "").lower() for name in ("from", "to", "cc", "bcc", "delivered-to")
    }
    filenames = [p.filename for p in payload.walk() if p.filename]
    text = " ".join([subject, *addresses.values(), body_text, *filenames]).lower()
    return Parsed(
        raw=raw,
        payload=payload,
        snippet=_snippet(body_text),
        subject=subject,
        thread_subject=thread_subject(subject),
        rfc822_id=_first_id(headers.get("message-id", "")),
        references=_MESSAGE_IDS.findall(
            headers.get("references", "") + " " + headers.get("in-reply-to", "")
        ),
        date_ms=_date_ms(headers.get("date")),
        addresses=addresses,
        recipients=_recipients(headers),
        text=text,
        words=frozenset(_WORD.findall(text)),
        filenames=filenames,
    )


def thread_subject(subject: str) -> str:
    return _SPACE.sub(" ", _SUBJECT_PREFIX.sub("", subject)).strip().lower()


def decode_header_value(value: str) -> str:
    value = _FOLD.sub("", value)
    if any("\udc80" <= ch <= "\udcff" for ch in value):
        # Raw 8-bit (usually UTF-8) header bytes, kept by the parser as surrogates.
        return value.encode("ascii", "surrogateescape").decode("utf-8", "replace")
    if "=?" not in value:
        return value
    try:
        return str(make_header(decode_header(value)))
    except (ValueError, LookupError, UnicodeError):
        return value


def _part(node: email.message.Message, part_id: str) -> Part:
    headers = [(k, decode_header_value(str(v))) for k, v in node.items()]
    mime_type = node.get_content_type()
    filename = decode_header_value(node.get_filename() or "")
    if node.is_multipart() and mime_type != "message/rfc822":
        children = node.get_payload()
        prefix = f"{part_id}." if part_id else ""
        parts = [_part(child, f"{prefix}{i}") for i, child in enumerate(children)]
        return Part(part_id, mime_type, filename, headers, parts=parts)
    data = _leaf_bytes(node)
    is_attachment = (
        bool(filename)
        or node.get_content_disposition() == "attachment"
        or not mime_type.startswith("text/")
        or len(data) > LARGE_PART_BYTES
    )
    return Part(part_id, mime_type, filename, headers, data=data, is_attachment=is_attachment)


def _leaf_bytes(node: email.message.Message) -> bytes:
    if node.get_content_type() == "message/rfc822":
        inner = node.get_payload()
        if isinstance(inner, list) and inner:
            return inner[0].as_bytes()
        return b""
    data = node.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def part_text(part: Part) -> str:
    charset = "utf-8"
    for key, value in part.headers:
        if key.lower() == "content-type":
            found = re.search(r'charset="?([\w.:-]+)"?', value, re.I)
            charset = found.group(1) if found else charset
    try:
        return part.data.decode(charset, "replace")
    except (LookupError, ValueError):  # unknown, or a codec that cannot "replace" (idna)
        return part.data.decode("utf-8", "replace")


def html_to_text(markup: str) -> str:
    return html.unescape(_TAG.sub(" ", _INVISIBLE.sub(" ", markup)))


def _body_text(payload: Part) -> str:
    leaves = [p for p in payload.walk() if not p.parts and not p.is_attachment]
    for wanted in ("text/plain", "text/html"):
        for part in leaves:
            if part.mime_type == wanted:
                text = part_text(part)
                return html_to_text(text) if wanted == "text/html" else text
    return ""


def _snippet(body_text: str) -> str:
    # Gmail's snippet is the start of the text, whitespace collapsed and HTML-escaped.
    text = _SPACE.sub(" ", body_text).strip()[:SNIPPET_CHARS]
    return html.escape(text, quote=True).replace("&#x27;", "&#39;")


def _first_id(value: str) -> str | None:
    found = _MESSAGE_IDS.findall(value)
    return found[0] if found else (value.strip() or None)


def _date_ms(value: str | None) -> int | None:
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return int(when.timestamp() * 1000)


def _recipients(headers: dict[str, str]) -> list[str]:
    fields = [headers.get(name, "") for name in ("to", "cc", "bcc")]
    return [addr.lower() for _, addr in safe_getaddresses(fields) if "@" in addr]


def safe_getaddresses(fields: list[str]) -> list[tuple[str, str]]:
    """getaddresses, for any header a mail server accepted: nested comments hundreds
    deep make the stdlib parser recurse out of its depth; Gmail stores such mail."""
    try:
        return getaddresses(fields)
    except (RecursionError, ValueError, IndexError):
        return []


# --- editing the header block of a raw message, byte for byte elsewhere ---------------


def _split_head(raw: bytes) -> tuple[list[bytes], bytes, bytes]:
    found = re.search(rb"\r?\n\r?\n", raw)
    if found is None:
        head, rest = raw, b""
    else:
        head, rest = raw[: found.start()], raw[found.end() :]
    newline = b"\r\n" if b"\r\n" in head or not head else b"\n"
    fields: list[bytes] = []
    for line in re.split(rb"\r?\n", head):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += newline + line
        elif line:
            fields.append(line)
    return fields, newline, rest


def _join(fields: list[bytes], newline: bytes, rest: bytes) -> bytes:
    return newline.join(fields) + newline + newline + rest


def _field_name(field_bytes: bytes) -> bytes:
    return field_bytes.split(b":", 1)[0].strip().lower()


def remove_header(raw: bytes, name: str) -> bytes:
    fields, newline, rest = _split_head(raw)
    kept = [f for f in fields if _field_name(f) != name.lower().encode()]
    return _join(kept, newline, rest)


def set_header(raw: bytes, name: str, value: str) -> bytes:
    """Replace (or add at the top) one header field; the value must be ASCII-encoded."""
    fields, newline, rest = _split_head(raw)
    kept = [f for f in fields if _field_name(f) != name.lower().encode()]
    return _join([f"{name}: {value}".encode("ascii"), *kept], newline, rest)
