"""RFC 822 messages parsed the way Gmail presents them: payload tree, snippet, threading keys.

Parsing happens once, when a message enters a mailbox; every later ``messages.get`` only
renders what is stored here.
"""

import base64
import binascii
import codecs
import datetime as dt
import email
import email.message
import email.parser
import email.policy
import html
import itertools
import re
from dataclasses import dataclass, field
from email.utils import getaddresses, parsedate_to_datetime

# Gmail hands a part's body out by attachmentId (not inline data) when the part is a
# file, or not text, or very large. Google does not document the size threshold.
LARGE_PART_BYTES = 1024 * 1024
SNIPPET_CHARS = 200
# Parts nested deeper than this are served as one opaque part: Gmail stores any mail a
# server accepted, but a tree of a thousand levels would overflow every parser on the way
# (ours, the JSON encoder, the client's). Google does not document its own limit.
MAX_DEPTH = 100
ATTACHED_MESSAGE = "message/rfc822"
# Labels read as the encoding that browsers (and Gmail) use for them: the WHATWG Encoding
# Standard maps each of these to its Windows superset.
_SUPERSETS = {
    "iso8859-1": "cp1252",
    "ascii": "cp1252",
    "shift_jis": "cp932",
    "euc_kr": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "tis-620": "cp874",
}
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_NOT_BASE64 = re.compile(r"[^A-Za-z0-9+/]")
_ISO2022JP_SHIFT = re.compile(rb"(\x1b(?:\$[@B]|\([BJI]))")
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
    # A message/rfc822 part's message, as its own tree: served as the part's only child
    # (as Gmail expands it), but never read as the outer message's body or files.
    attached: "Part | None" = None
    _data_b64: str | None = None

    @property
    def data_b64(self) -> str:
        if self._data_b64 is None:
            self._data_b64 = b64url(self.data)
        return self._data_b64

    @property
    def children(self) -> list["Part"]:
        """The parts Gmail lists under this one: a multipart's, or an attached message."""
        return [self.attached] if self.attached else self.parts

    def walk(self):
        """This part and those below it, not into attached messages."""
        yield self
        for child in self.parts:
            yield from child.walk()

    def walk_all(self):
        """Every part of the tree Gmail serves, attached messages' included."""
        yield self
        for child in self.children:
            yield from child.walk_all()


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
        return bool(self.filenames) or any(p.attached for p in self.payload.walk())

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None

    def part(self, part_id: str) -> Part | None:
        for part in self.payload.walk_all():
            if part.part_id == part_id:
                return part
        return None


def parse(raw: bytes) -> Parsed:
    message = _message_tree(raw)
    payload = _part(message, "", 0, message.get_content_charset())
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


def _message_tree(raw: bytes) -> email.message.Message:
    try:
        return email.message_from_bytes(raw, policy=email.policy.compat32)
    except RecursionError:
        # Multiparts nested some thousand deep overflow the stdlib's parser: keep the
        # headers and serve the body as one part.
        parser = email.parser.BytesParser(policy=email.policy.compat32)
        return parser.parsebytes(raw, headersonly=True)


def thread_subject(subject: str) -> str:
    return _SPACE.sub(" ", _SUBJECT_PREFIX.sub("", subject)).strip().lower()


# --- text in any charset, as Gmail reads it ---------------------------------------------


def codec_of(charset: str | None) -> str | None:
    """The Python codec that reads a declared charset, or None for none, US-ASCII (often
    a lie about 8-bit text) and names that are not a known text encoding."""
    name = (charset or "").strip().strip("'\"").split("*", 1)[0]
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        return None
    if not info._is_text_encoding or info.name == "ascii":
        return None
    return _SUPERSETS.get(info.name, info.name)


def decoded_text(data: bytes, charset: str | None) -> str:
    """Bytes as text: by their charset when it is known, else as UTF-8 when they are
    valid UTF-8, else as windows-1252 (what 8-bit mail without a charset usually is)."""
    codec = codec_of(charset)
    if codec == "iso2022_jp":
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            # Japanese mail in ISO-2022-JP often holds NEC and IBM extensions (①, ㈱)
            # that the strict codec refuses: read those through the Windows superset.
            return _iso2022jp_as_cp932(data).decode("cp932", "replace")
    if codec is not None:
        try:
            return data.decode(codec, "replace")
        except (LookupError, ValueError, TypeError):  # a codec that cannot "replace" (idna)
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def _iso2022jp_as_cp932(data: bytes) -> bytes:
    out = bytearray()
    mode = b"(B"
    for piece in _ISO2022JP_SHIFT.split(data):
        if piece.startswith(b"\x1b"):
            mode = piece[1:]
        elif mode in (b"$@", b"$B"):  # JIS X 0208 pairs, as Shift_JIS pairs
            for high, low in zip(piece[::2], piece[1::2], strict=False):
                out += _jis_pair_as_sjis(high, low)
        elif mode == b"(I":  # half-width katakana
            out += bytes(byte | 0x80 for byte in piece)
        else:
            out += piece
    return bytes(out)


def _jis_pair_as_sjis(high: int, low: int) -> bytes:
    if not (0x21 <= high <= 0x7E and 0x21 <= low <= 0x7E):
        return b"?"
    first = ((high - 0x21) >> 1) + 0x81
    first += 0x40 if first > 0x9F else 0
    second = low + (0x1F if high % 2 else 0x7E)
    second += 1 if high % 2 and second >= 0x7F else 0
    return bytes((first, second))


def decode_header_value(value: str, charset: str | None = None) -> str:
    """A header as Gmail serves it: unfolded, raw 8-bit bytes read as UTF-8 or else in
    the message's `charset`, RFC 2047 encoded-words decoded. Any bytes a mail server
    accepted decode: a broken word is read as far as it goes, never refused."""
    value = _raw_text(_FOLD.sub("", value), charset)
    return _decode_words(value) if "=?" in value else value


def _raw_text(value: str, charset: str | None) -> str:
    if not _has_raw_bytes(value):
        return value
    # Raw 8-bit header bytes, kept by the parser as surrogates.
    data = value.encode("ascii", "surrogateescape")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return decoded_text(data, charset)


def _decode_words(value: str) -> str:
    out: list[str] = []
    words: list[tuple[bytes, str]] = []  # adjacent encoded-words, decoded together
    position = 0
    for found in _ENCODED_WORD.finditer(value):
        between = value[position : found.start()]
        # Whitespace between two encoded-words is not part of the text (RFC 2047, 6.2).
        if not (words and not between.strip()):
            out.extend(_words_text(words))
            out.append(between)
            words = []
        charset, encoding, encoded = found.groups()
        words.append((_word_bytes(encoding, encoded), charset.lower()))
        position = found.end()
    out.extend(_words_text(words))
    out.append(value[position:])
    return "".join(out)


def _words_text(words: list[tuple[bytes, str]]) -> list[str]:
    # Words of one charset are joined first: a character may be split across two.
    return [
        decoded_text(b"".join(data for data, _ in group), charset)
        for charset, group in itertools.groupby(words, key=lambda word: word[1])
    ]


def _word_bytes(encoding: str, encoded: str) -> bytes:
    if encoding in "qQ":
        return binascii.a2b_qp(encoded.encode("utf-8", "surrogateescape"), header=True)
    return _lenient_b64decode(encoded)


def _lenient_b64decode(encoded: str) -> bytes:
    """As much of broken base64 as can be read: stray characters dropped, a lone final
    character (half a byte) ignored, missing padding added."""
    cleaned = _NOT_BASE64.sub("", encoded.replace("-", "+").replace("_", "/"))
    if len(cleaned) % 4 == 1:
        cleaned = cleaned[:-1]
    return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4))


# --- the payload tree ---------------------------------------------------------------------


def _part(node: email.message.Message, part_id: str, depth: int, charset: str | None) -> Part:
    """`node` as Gmail's MessagePart; `charset` is the message's, for raw 8-bit headers."""
    headers = [(k, decode_header_value(v, charset)) for k, v in node.raw_items()]
    mime_type = node.get_content_type()
    filename = _filename(node, charset)
    prefix = f"{part_id}." if part_id else ""
    if mime_type == ATTACHED_MESSAGE and depth < MAX_DEPTH:
        inner = _attached_message(node)
        attached = _part(inner, f"{prefix}0", depth + 1, inner.get_content_charset() or charset)
        data = _as_bytes(inner)
        return Part(
            part_id, mime_type, filename, headers, data=data, is_attachment=True, attached=attached
        )
    if node.is_multipart() and mime_type.startswith("multipart/") and depth < MAX_DEPTH:
        children = node.get_payload()
        parts = [
            _part(child, f"{prefix}{i}", depth + 1, charset) for i, child in enumerate(children)
        ]
        return Part(part_id, mime_type, filename, headers, parts=parts)
    if mime_type.startswith("multipart/") and not node.is_multipart():
        # No boundary, or one that never occurs: RFC 2045 reads such a part as text.
        mime_type = "text/plain"
    data = _leaf_bytes(node)
    is_file = bool(filename) or node.get_content_disposition() == "attachment"
    if mime_type.startswith("text/") and not is_file:
        # Gmail serves a text body converted to UTF-8, and leaves the charset its
        # Content-Type declares as the sender wrote it.
        data = decoded_text(data, node.get_content_charset()).encode("utf-8", "replace")
    is_attachment = (
        is_file
        or not (mime_type.startswith("text/") or mime_type == "message/delivery-status")
        or len(data) > LARGE_PART_BYTES
    )
    return Part(part_id, mime_type, filename, headers, data=data, is_attachment=is_attachment)


def _filename(node: email.message.Message, charset: str | None) -> str:
    source = node
    if any(_has_raw_bytes(v) for k, v in node.raw_items() if k.lower() in _FILENAME_HEADERS):
        # The stdlib reads parameters from headers it has decoded, 8-bit bytes lost:
        # read them from the raw headers, made text first.
        source = email.message.Message()
        for name, value in node.raw_items():
            if name.lower() in _FILENAME_HEADERS:
                source[name] = _raw_text(value, charset)
    try:
        name = source.get_filename() or ""
    except (ValueError, LookupError, IndexError, TypeError):
        name = ""
    return decode_header_value(name, charset)


_FILENAME_HEADERS = ("content-disposition", "content-type")


def _has_raw_bytes(value: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in value)


def _attached_message(node: email.message.Message) -> email.message.Message:
    inner = node.get_payload()
    if not isinstance(inner, list) or not inner:
        return email.message.Message()
    message = inner[0]
    encoding = str(node.get("content-transfer-encoding", "")).strip().lower()
    if encoding in ("base64", "quoted-printable"):
        # Not allowed for message/rfc822 (RFC 2046, 5.2.1), yet sent: the parser read
        # the encoded text as a message; decode it and read that.
        encoded = _as_bytes(message)
        if encoding == "base64":
            message = _message_tree(_lenient_b64decode(encoded.decode("ascii", "replace")))
        else:
            message = _message_tree(binascii.a2b_qp(encoded))
    return message


def _as_bytes(node: email.message.Message) -> bytes:
    """The node as bytes again; empty for a tree too deep for the stdlib to write out."""
    try:
        return node.as_bytes()
    except (ValueError, LookupError, TypeError, UnicodeError):
        return node.as_string().encode("utf-8", "surrogateescape")
    except RecursionError:
        return b""


def _leaf_bytes(node: email.message.Message) -> bytes:
    if node.is_multipart():  # too deep, message/delivery-status...: its body as it came
        whole = _as_bytes(node)
        found = re.search(rb"\r?\n\r?\n", whole)
        return whole[found.end() :] if found else b""
    data = node.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def part_text(part: Part) -> str:
    """A text part's body, which parsing has made UTF-8 (as Gmail serves it)."""
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
    except (TypeError, ValueError, IndexError, OverflowError):
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


_LINE_BREAK = rb"(?:\r\n|\n|\r(?!\n))"  # CRLF, LF, or a lone CR (old Mac mail)


def _split_head(raw: bytes) -> tuple[list[bytes], bytes, bytes]:
    found = re.search(_LINE_BREAK * 2, raw)
    if found is None:
        head, rest = raw, b""
    else:
        head, rest = raw[: found.start()], raw[found.end() :]
    newline = next((nl for nl in (b"\r\n", b"\n", b"\r") if nl in head), b"\r\n")
    fields: list[bytes] = []
    for line in re.split(_LINE_BREAK, head):
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
