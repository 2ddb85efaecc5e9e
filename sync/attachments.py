"""An attachment's bytes, fetched from Gmail when someone downloads it (the mirror keeps
only its description: mail.models.Attachment).

Gmail answers `messages.attachments.get` with the whole file base64url-encoded in one
JSON body, so the encoded copy is in memory once; `decoded_chunks` turns it into bytes a
slice at a time, so the download streams without a second, decoded copy of the file.
A small part has its bytes in the message itself (`body.data`, no attachmentId): then
the message is fetched and the part found by its id.
"""

import base64
from collections.abc import Iterator

from gmail.client import Json
from mail.models import Attachment
from sync.clients import gmail_client

CHUNK_CHARS = 64 * 1024  # a multiple of 4: each slice decodes on its own


def attachment_data(attachment: Attachment) -> str:
    """The attachment's bytes at Gmail, base64url-encoded. Raises gmail.errors'
    RetryLater and PermanentError, and accounts.credentials.NeedsReconnect."""
    message = attachment.message
    gmail = gmail_client(message.account)
    messages = gmail.users.messages()
    if attachment.gmail_attachment_id:
        request = messages.attachments().get(
            userId="me", messageId=message.gmail_id, id=attachment.gmail_attachment_id
        )
        return str(gmail.call("messages.attachments.get", request).get("data", ""))
    full = gmail.call("messages.get", messages.get(userId="me", id=message.gmail_id, format="full"))
    part = _part(full.get("payload", {}), attachment.part_id)
    return str((part or {}).get("body", {}).get("data", ""))


def _part(part: Json, part_id: str) -> Json | None:
    if part.get("partId") == part_id:
        return part
    for child in part.get("parts", []) or []:
        found = _part(child, part_id)
        if found is not None:
            return found
    return None


def decoded_chunks(data: str) -> Iterator[bytes]:
    data = data.rstrip("=")
    for start in range(0, len(data), CHUNK_CHARS):
        piece = data[start : start + CHUNK_CHARS]
        yield base64.urlsafe_b64decode(piece + "=" * (-len(piece) % 4))
