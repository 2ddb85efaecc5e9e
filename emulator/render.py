"""Stored messages rendered as Gmail's JSON resources, in each of its formats."""

import base64
import itertools

from . import errors
from .mailbox import StoredMessage
from .mime import Part, b64url

FORMATS = ("full", "metadata", "minimal", "raw")
_attachment_nonce = itertools.count(1)


def attachment_id(message_id: str, part_id: str) -> str:
    # Gmail hands out a different attachmentId for the same part on every fetch; a
    # client must never use it as a stable key. Ours carry a counter to behave alike.
    token = f"{message_id}:{part_id}:{next(_attachment_nonce)}".encode()
    return "ANGjdJ" + base64.urlsafe_b64encode(token).decode().rstrip("=")


def parse_attachment_id(value: str) -> tuple[str, str]:
    try:
        encoded = value.removeprefix("ANGjdJ")
        decoded = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
        message_id, part_id, _ = decoded.split(":")
    except (ValueError, UnicodeDecodeError) as exc:
        raise errors.invalid_argument("Invalid attachment token") from exc
    return message_id, part_id


def labels_only(message: StoredMessage) -> dict:
    """What modify, trash and untrash answer: id, threadId and labelIds."""
    return message.snapshot()


def message_json(
    message: StoredMessage, fmt: str = "full", metadata_headers: list[str] | None = None
) -> dict:
    parsed = message.parsed
    body = message.snapshot()
    body["snippet"] = parsed.snippet
    if fmt == "full":
        body["payload"] = _part_json(message.id, parsed.payload)
    elif fmt == "metadata":
        body["payload"] = _metadata_payload(parsed.payload, metadata_headers or [])
    body["sizeEstimate"] = parsed.size_estimate
    body["historyId"] = str(message.history_id)
    body["internalDate"] = str(message.internal_date)
    if fmt == "raw":
        body["raw"] = b64url(parsed.raw)
    return body


def _headers_json(headers: list[tuple[str, str]]) -> list[dict]:
    return [{"name": name, "value": value} for name, value in headers]


def _part_json(message_id: str, part: Part) -> dict:
    node = {
        "partId": part.part_id,
        "mimeType": part.mime_type,
        "filename": part.filename,
        "headers": _headers_json(part.headers),
        "body": _body_json(message_id, part),
    }
    if part.children:
        # A multipart's parts, or the tree of an attached message (message/rfc822), which
        # Gmail expands under its part while serving the part itself as an attachment.
        node["parts"] = [_part_json(message_id, child) for child in part.children]
    return node


def _body_json(message_id: str, part: Part) -> dict:
    if part.parts:
        return {"size": 0}
    if part.is_attachment:
        return {"attachmentId": attachment_id(message_id, part.part_id), "size": len(part.data)}
    if part.data:
        # Text parts hold their body converted to UTF-8 (see mime._part): size and data
        # are those of the converted bytes, as Gmail's are.
        return {"size": len(part.data), "data": part.data_b64}
    return {"size": 0}


def _metadata_payload(part: Part, wanted: list[str]) -> dict:
    headers = part.headers
    if wanted:
        names = {name.lower() for name in wanted}
        headers = [(k, v) for k, v in headers if k.lower() in names]
    return {
        "partId": part.part_id,
        "mimeType": part.mime_type,
        "filename": part.filename,
        "headers": _headers_json(headers),
        "body": {"size": 0},
    }
