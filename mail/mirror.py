"""Writing what Gmail says into the local mirror.

Gmail's resources come in as dicts (the API's JSON); each write is an idempotent upsert
keyed by (account, gmail_id), so replaying a page, a batch or a history record after a
crash changes nothing. Thread fields that derive from messages (snippet, unread, last
message time, labels...) are recomputed from the messages, never patched incrementally,
so they cannot drift.
"""

import base64
import binascii
import datetime as dt
import email.utils
import html
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Required, TypedDict, cast

from django.db import DataError, IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import GmailAccount
from mail.actions import ACTIONS, Effect
from mail.addresses import sender_of
from mail.mirror_version import mirror_changed
from mail.models import (
    Attachment,
    Label,
    Message,
    MessageLabel,
    OutboxAction,
    SkippedMessage,
    Thread,
    ThreadLabel,
)
from mail.storable import clean_text, error_summary, storable

# What storing one hostile message can raise; anything else (a lost connection) is not
# the message's fault and must stop the sync instead of skipping mail.
# Our own bugs (KeyError, TypeError...) on a strange resource are included on purpose: a
# skipped message is listed for the operator, a failing page would stop the mailbox.
UNSTORABLE = (
    DataError,
    IntegrityError,
    ValueError,
    TypeError,
    KeyError,
    AttributeError,
    RecursionError,
)
GMAIL_ID_MAX = 64
GMAIL_ID = re.compile(r"[0-9a-f]{1,64}")  # Gmail's message ids are hex
SKIPPED_RETRY_MIN_S = 60
SKIPPED_RETRY_MAX_S = 24 * 60 * 60

# Advisory-lock key space of mailbox mirrors (the second key is the account id).
MIRROR_LOCK_SPACE = 7331


def lock_mirror(account_id: int) -> None:
    """Serialise every write to one mailbox's mirror until the transaction ends.

    Syncs, user actions and the outbox each hold their own lock, but all write the same
    rows: without this, a user's action reading a thread as empty could delete it just
    after a sync inserted a new reply into it (the cascade then takes the reply too).
    Every writer takes this first, inside its transaction, before reading anything.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("lock_mirror() needs a transaction")
    if connection.vendor == "postgresql":  # SQLite serialises writers by itself
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [MIRROR_LOCK_SPACE, account_id])


HEADERS = {
    "from": "sender",
    "to": "to",
    "cc": "cc",
    "bcc": "bcc",
    "reply-to": "reply_to",
    "subject": "subject",
    "message-id": "rfc822_message_id",
    "in-reply-to": "in_reply_to",
    "references": "references",
}
MAX_PARTICIPANTS = 4
PARSE_SENDER_MAX = 256


# Gmail's resources as its API documents them (total=False: any key may be missing).
# Still hostile input: parse_message cleans every value it stores, and a resource of
# another shape raises one of UNSTORABLE.
class Header(TypedDict):
    name: str
    value: str


class MessagePartBody(TypedDict, total=False):
    attachmentId: str
    size: int
    data: str  # base64url


class MessagePart(TypedDict, total=False):
    partId: str
    mimeType: str
    filename: str
    headers: list[Header]
    body: MessagePartBody
    parts: list["MessagePart"]


class GmailMessage(TypedDict, total=False):
    """A message resource, format=full."""

    id: str
    threadId: str
    labelIds: list[str]
    snippet: str
    historyId: str
    internalDate: str  # milliseconds since the epoch
    sizeEstimate: int
    payload: MessagePart


class LabelColor(TypedDict, total=False):
    backgroundColor: str
    textColor: str


class GmailLabel(TypedDict, total=False):
    id: Required[str]
    name: str
    type: str  # "system" or "user"
    color: LabelColor
    labelListVisibility: str
    messageListVisibility: str


class AttachmentFields(TypedDict):
    """An Attachment row's fields, as read from a message part."""

    part_id: str
    filename: str
    mime_type: str
    size: int
    gmail_attachment_id: str
    content_id: str
    is_inline: bool


@dataclass
class ParsedMessage:
    gmail_id: str
    thread_id: str
    label_ids: list[str]
    fields: dict[str, object]  # Message's columns
    attachments: list[dict[str, object]] = field(default_factory=list)  # Attachment's columns


def parse_message(resource: GmailMessage) -> ParsedMessage:
    """A Gmail message resource (format=full) as the mirror's fields, every value made
    storable (mail/storable.py). Raises ValueError for a resource without usable ids."""
    payload = resource.get("payload") or {}
    headers: dict[str, str] = {}
    for header in payload.get("headers", []):
        headers.setdefault(str(header["name"]).lower(), header["value"])
    fields: dict[str, object] = {column: headers.get(name, "") for name, column in HEADERS.items()}
    bodies: dict[str, list[str]] = {"text/plain": [], "text/html": []}
    attachments: list[AttachmentFields] = []
    _walk(payload, bodies, attachments)
    fields.update(
        # Gmail serves the snippet HTML-escaped (I&#39;m); the mirror keeps plain text and
        # the templates escape it once.
        snippet=html.unescape(str(resource.get("snippet", ""))),
        internal_date=_from_ms(resource.get("internalDate", "0")),
        date_header=_parse_date(headers.get("date")),
        size_estimate=resource.get("sizeEstimate", 0),
        history_id=resource.get("historyId") or None,
        body_text="\n".join(bodies["text/plain"]),
        body_html="\n".join(bodies["text/html"]),
        has_attachments=any(not a["is_inline"] for a in attachments),
    )
    return ParsedMessage(
        gmail_id=_gmail_id(resource.get("id")),
        thread_id=_gmail_id(resource.get("threadId")),
        label_ids=[clean_text(label) for label in resource.get("labelIds", [])],
        fields=storable(Message, fields),
        attachments=[storable(Attachment, a) for a in attachments],
    )


def _gmail_id(value: object) -> str:
    # An id cut short would name another message: refuse it instead.
    if not isinstance(value, str) or not value or len(value) > GMAIL_ID_MAX:
        raise ValueError("unusable gmail id")
    return clean_text(value)


ATTACHED_MESSAGE = "message/rfc822"
# Deeper parts are not read: Gmail nests no real mail this far, and a hostile tree must
# not make the parser recurse out of its depth.
MAX_PART_DEPTH = 200


def _walk(
    part: MessagePart,
    bodies: dict[str, list[str]],
    attachments: list[AttachmentFields],
    depth: int = 0,
) -> None:
    mime_type = part.get("mimeType", "").lower()
    headers = {h["name"].lower(): h["value"] for h in part.get("headers", [])}
    body = part.get("body", {})
    disposition = headers.get("content-disposition", "").lower()
    if mime_type == ATTACHED_MESSAGE:
        # Gmail expands an attached message into its own tree below this part: the
        # mirror keeps it as one attachment, never its body or files as this message's.
        attachments.append(_attached_message(part))
        return
    if part.get("filename") or body.get("attachmentId"):
        content_id = headers.get("content-id", "").strip().strip("<>")
        attachments.append(
            {
                "part_id": part.get("partId", ""),
                "filename": part.get("filename", ""),
                "mime_type": mime_type,
                "size": body.get("size", 0),
                "gmail_attachment_id": body.get("attachmentId", ""),
                "content_id": content_id,
                "is_inline": bool(content_id) and not disposition.startswith("attachment"),
            }
        )
    elif mime_type in bodies and "data" in body:
        bodies[mime_type].append(_decode(body["data"], _charset(headers)))
    if depth < MAX_PART_DEPTH:
        for child in part.get("parts", []):
            _walk(child, bodies, attachments, depth + 1)


def _attached_message(part: MessagePart) -> AttachmentFields:
    """An attached message's Attachment row: named by its file name, or else by its
    subject (the first header of its expanded tree), so that it can be shown as one."""
    inner = (part.get("parts") or [{}])[0]
    subject = next(
        (h["value"] for h in inner.get("headers", []) if h["name"].lower() == "subject"), ""
    )
    body = part.get("body", {})
    return {
        "part_id": part.get("partId", ""),
        "filename": part.get("filename") or subject,
        "mime_type": ATTACHED_MESSAGE,
        "size": body.get("size", 0),
        "gmail_attachment_id": body.get("attachmentId", ""),
        "content_id": "",
        "is_inline": False,
    }


def _charset(headers: Mapping[str, str]) -> str:
    for param in headers.get("content-type", "").split(";")[1:]:
        name, _, value = param.strip().partition("=")
        if name.lower() == "charset":
            return value.strip().strip('"') or "utf-8"
    return "utf-8"


def _decode(data: str, charset: str) -> str:
    """A text body as Gmail serves it: converted to UTF-8, whatever charset its
    Content-Type still declares. The declared charset (then windows-1252) only reads
    bytes that are not UTF-8, which Gmail is not known to send."""
    try:
        raw = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
    except (binascii.Error, ValueError):
        return ""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if charset.lower() in ("us-ascii", "ascii"):  # 8-bit text that claims to be ASCII
        charset = "cp1252"
    try:
        return raw.decode(charset, errors="replace")
    except (LookupError, ValueError):  # a charset Python does not know, or cannot use
        return raw.decode("cp1252", errors="replace")


def _from_ms(value: str) -> dt.datetime:
    try:
        return dt.datetime.fromtimestamp(int(value) / 1000, tz=dt.UTC)
    except (TypeError, ValueError, OverflowError, OSError):  # junk or out of range
        return dt.datetime.fromtimestamp(0, tz=dt.UTC)


def _parse_date(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    try:
        # In UTC, as stored: a date in range only in its own zone (9999-12-31 -1200)
        # would be written and then fail every read of the row.
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
    except (ValueError, OverflowError):
        return None


# --- labels ----------------------------------------------------------------------------


def labels_replace(*, account: GmailAccount, resources: Iterable[GmailLabel]) -> None:
    """Make the account's labels exactly Gmail's list (labels.list), writing only what
    changed: this runs on every incremental sync."""
    wanted = {resource["id"]: _label_fields(resource) for resource in resources}
    with transaction.atomic():
        lock_mirror(account.pk)
        existing = {label.gmail_id: label for label in Label.objects.filter(account=account)}
        changed: list[Label] = []
        created: list[Label] = []
        for gmail_id, fields in wanted.items():
            label = existing.get(gmail_id)
            if label is None:
                created.append(Label(account=account, gmail_id=gmail_id, **fields))
            elif any(getattr(label, name) != value for name, value in fields.items()):
                for name, value in fields.items():
                    setattr(label, name, value)
                changed.append(label)
        Label.objects.bulk_create(created, ignore_conflicts=True)
        Label.objects.bulk_update(changed, LABEL_FIELDS)
        # A label deleted in Gmail is gone from every message there too.
        gone = [label.pk for gmail_id, label in existing.items() if gmail_id not in wanted]
        Label.objects.filter(pk__in=gone).delete()
        if created or changed or gone:
            mirror_changed(account_ids=[account.pk])


def label_store(*, account: GmailAccount, resource: GmailLabel) -> Label:
    """One label as Gmail answered labels.create or labels.patch, stored or updated."""
    fields = _label_fields(resource)
    with transaction.atomic():
        lock_mirror(account.pk)
        label, _ = Label.objects.update_or_create(
            account=account, gmail_id=resource["id"], defaults=fields
        )
        mirror_changed(account_ids=[account.pk])
    return label


def label_remove(*, account: GmailAccount, gmail_id: str) -> None:
    """A label deleted at Gmail: gone here too, and so from every message and thread."""
    with transaction.atomic():
        lock_mirror(account.pk)
        Label.objects.filter(account=account, gmail_id=gmail_id).delete()
        mirror_changed(account_ids=[account.pk])


LABEL_FIELDS = [
    "name",
    "type",
    "background_color",
    "text_color",
    "label_list_visibility",
    "message_list_visibility",
]


def _label_fields(resource: GmailLabel) -> dict[str, object]:
    color = resource.get("color", {})
    fields: dict[str, object] = {
        "name": resource.get("name", resource["id"]),
        "type": Label.Type.SYSTEM if resource.get("type") == "system" else Label.Type.USER,
        "background_color": color.get("backgroundColor", ""),
        "text_color": color.get("textColor", ""),
        "label_list_visibility": resource.get("labelListVisibility", ""),
        "message_list_visibility": resource.get("messageListVisibility", ""),
    }
    return storable(Label, fields)


def _labels_by_gmail_id(account: GmailAccount, gmail_ids: Collection[str]) -> dict[str, Label]:
    """Label rows for these ids, creating placeholders for ids not listed yet."""
    labels = {
        label.gmail_id: label
        for label in Label.objects.filter(account=account, gmail_id__in=set(gmail_ids))
    }
    missing = set(gmail_ids) - labels.keys()
    if missing:
        Label.objects.bulk_create(
            [
                Label(account=account, gmail_id=gid, name=gid, type=_label_type(gid))
                for gid in missing
            ],
            ignore_conflicts=True,
        )
        labels.update(
            (label.gmail_id, label)
            for label in Label.objects.filter(account=account, gmail_id__in=missing)
        )
    return labels


def _label_type(gmail_id: str) -> Label.Type:
    return Label.Type.USER if gmail_id.startswith("Label_") else Label.Type.SYSTEM


# --- messages --------------------------------------------------------------------------

MESSAGE_FIELDS = [
    "thread",
    "rfc822_message_id",
    "in_reply_to",
    "references",
    "sender",
    "to",
    "cc",
    "bcc",
    "reply_to",
    "subject",
    "snippet",
    "internal_date",
    "date_header",
    "size_estimate",
    "history_id",
    "has_attachments",
    "body_text",
    "body_html",
]


def messages_upsert(
    *, account: GmailAccount, parsed: Sequence[ParsedMessage], mark: int | None = None
) -> set[int]:
    """Insert or update messages with their labels and attachments.

    Call inside a transaction, then `threads_recompute` the thread ids it returns.
    `mark` is the full sync seeing these messages (see Message.full_sync_mark).
    """
    if not parsed:
        return set()
    threads = _threads_by_gmail_id(account, {p.thread_id for p in parsed}, parsed)
    old_threads = set(
        Message.objects.filter(
            account=account, gmail_id__in=[p.gmail_id for p in parsed]
        ).values_list("thread_id", flat=True)
    )
    rows = [
        Message(
            account=account,
            gmail_id=p.gmail_id,
            thread=threads[p.thread_id],
            full_sync_mark=mark,
            **_fields(p),
        )
        for p in parsed
    ]
    Message.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["account", "gmail_id"],
        update_fields=MESSAGE_FIELDS + (["full_sync_mark"] if mark else []),
    )
    ids = dict(
        Message.objects.filter(
            account=account, gmail_id__in=[p.gmail_id for p in parsed]
        ).values_list("gmail_id", "id")
    )
    labels = _labels_by_gmail_id(account, [gid for p in parsed for gid in p.label_ids])
    MessageLabel.objects.filter(message_id__in=ids.values()).delete()
    MessageLabel.objects.bulk_create(
        [
            MessageLabel(message_id=ids[p.gmail_id], label=labels[gid])
            for p in parsed
            for gid in dict.fromkeys(p.label_ids)
        ]
    )
    Attachment.objects.filter(message_id__in=ids.values()).delete()
    Attachment.objects.bulk_create(
        [Attachment(message_id=ids[p.gmail_id], **a) for p in parsed for a in p.attachments]
    )
    return {thread.pk for thread in threads.values()} | old_threads


def messages_store(
    *, account: GmailAccount, resources: Iterable[GmailMessage], mark: int | None = None
) -> None:
    """Store fetched message resources whole, keeping pending user actions on top.
    Call inside a transaction."""
    lock_mirror(account.pk)
    touched, stored = messages_store_each(account=account, resources=resources, mark=mark)
    touched |= actions_reapply(account=account, gmail_ids=stored)
    threads_recompute(thread_ids=touched)


def messages_store_each(
    *, account: GmailAccount, resources: Iterable[GmailMessage], mark: int | None = None
) -> tuple[set[int], list[str]]:
    """Upsert fetched resources; returns (thread ids touched, gmail ids stored).

    The page is stored in one go; if that fails, each message alone, so that one that
    cannot be stored (whatever its values hold) is recorded in SkippedMessage and the
    rest of the page, and the sync, go on. Call inside a transaction.
    """
    parsed: list[ParsedMessage] = []
    for resource in resources:
        try:
            parsed.append(parse_message(resource))
        except UNSTORABLE as error:
            _skipped_record(account, str(resource.get("id", "")), error)
    try:
        with transaction.atomic():  # a savepoint: a failure undoes only this page
            touched = messages_upsert(account=account, parsed=parsed, mark=mark)
        stored = parsed
    except UNSTORABLE:
        touched, stored = set(), []
        for one in parsed:
            try:
                with transaction.atomic():
                    touched |= messages_upsert(account=account, parsed=[one], mark=mark)
                stored.append(one)
            except UNSTORABLE as error:
                _skipped_record(account, one.gmail_id, error)
    stored_ids = [p.gmail_id for p in stored]
    if stored_ids:
        SkippedMessage.objects.filter(account=account, gmail_id__in=stored_ids).delete()
    return touched, stored_ids


def _skipped_record(account: GmailAccount, gmail_id: str, error: BaseException) -> None:
    gmail_id = clean_text(gmail_id)[:255]
    summary = error_summary(error)
    skipped = SkippedMessage.objects.filter(account=account, gmail_id=gmail_id).first()
    if skipped is None:
        skipped = SkippedMessage(account=account, gmail_id=gmail_id, attempts=0)
    skipped.error = summary
    skipped.attempts += 1
    skipped.retry_at = skipped_retry_at(gmail_id, skipped.attempts)
    skipped.save()


def skipped_retry_at(gmail_id: str, attempts: int) -> dt.datetime | None:
    """When a skipped message is worth fetching again: the wait doubles with each
    failure, up to a day, so one that can never be stored does not cost quota on every
    push. None for an id Gmail could not have given (never asked for)."""
    if not GMAIL_ID.fullmatch(gmail_id):
        return None
    delay = min(SKIPPED_RETRY_MIN_S * 2 ** min(attempts - 1, 20), SKIPPED_RETRY_MAX_S)
    return timezone.now() + dt.timedelta(seconds=delay)


def _fields(parsed: ParsedMessage) -> dict[str, object]:
    return {name: value for name, value in parsed.fields.items() if name != "thread"}


def _threads_by_gmail_id(
    account: GmailAccount, gmail_ids: Collection[str], parsed: Sequence[ParsedMessage]
) -> dict[str, Thread]:
    first: dict[str, ParsedMessage] = {}
    for p in parsed:
        first.setdefault(p.thread_id, p)
    Thread.objects.bulk_create(
        [
            Thread(
                account=account,
                gmail_id=gid,
                # parse_message gives a text column a str and a date column a datetime.
                subject=cast(str, first[gid].fields["subject"]),
                last_message_at=cast(dt.datetime, first[gid].fields["internal_date"]),
            )
            for gid in gmail_ids
        ],
        ignore_conflicts=True,
    )
    return {t.gmail_id: t for t in Thread.objects.filter(account=account, gmail_id__in=gmail_ids)}


def messages_delete(*, account: GmailAccount, gmail_ids: Iterable[str]) -> set[int]:
    """Delete messages; returns the ids of the threads they were in."""
    messages = Message.objects.filter(account=account, gmail_id__in=list(gmail_ids))
    thread_ids = set(messages.values_list("thread_id", flat=True))
    messages.delete()
    return thread_ids


def messages_labels_change(
    *,
    account: GmailAccount,
    gmail_ids: Iterable[str],
    add: Collection[str] = (),
    remove: Collection[str] = (),
) -> set[int]:
    """Add and remove labels on messages; returns the ids of their threads."""
    messages = list(
        Message.objects.filter(account=account, gmail_id__in=list(gmail_ids)).only("pk", "thread")
    )
    if remove:
        MessageLabel.objects.filter(
            message__in=messages, label__account=account, label__gmail_id__in=list(remove)
        ).delete()
    if add:
        labels = _labels_by_gmail_id(account, add)
        MessageLabel.objects.bulk_create(
            [MessageLabel(message=m, label=labels[gid]) for m in messages for gid in add],
            ignore_conflicts=True,
        )
    return {m.thread_id for m in messages}


def action_apply(*, account: GmailAccount, action: OutboxAction) -> None:
    """Apply a user's outbox action to the mirror, as Gmail will apply it. Call inside
    a transaction."""
    if action.spec.effect == Effect.NONE:
        return
    lock_mirror(account.pk)
    threads_recompute(thread_ids=_action_effect(account, action, action.message_ids))


# Kinds that leave the mirror alone until Gmail has them (a send).
WITHOUT_EFFECT = [kind for kind, action in ACTIONS.items() if action.effect == Effect.NONE]


def actions_reapply(*, account: GmailAccount, gmail_ids: Iterable[str]) -> set[int]:
    """Apply again the pending outbox actions on these messages, so that what Gmail
    reports before it has them never undoes what the user did. Returns the threads."""
    gmail_ids = set(gmail_ids)
    touched: set[int] = set()
    pending = OutboxAction.objects.filter(
        account=account, state=OutboxAction.State.PENDING
    ).exclude(kind__in=WITHOUT_EFFECT)
    # Never the raw message of a send (up to 25 MB): no kind with an effect has one.
    for action in pending.defer("raw").order_by("id"):
        ids = [gid for gid in action.message_ids if gid in gmail_ids]
        if ids:
            touched |= _action_effect(account, action, ids)
    return touched


def _action_effect(
    account: GmailAccount, action: OutboxAction, gmail_ids: Iterable[str]
) -> set[int]:
    """Make the action's effect (its entry in mail/actions.py) on these messages;
    returns the threads touched."""
    effect = action.spec.effect
    if effect == Effect.DELETE:
        return messages_delete(account=account, gmail_ids=gmail_ids)
    if effect == Effect.LABELS:
        add, remove = action.label_delta()
        return messages_labels_change(account=account, gmail_ids=gmail_ids, add=add, remove=remove)
    return set()


# --- threads ---------------------------------------------------------------------------


RECOMPUTE_FIELDS = [
    "thread_id",
    "internal_date",
    "subject",
    "snippet",
    "sender",
    "has_attachments",
]


def threads_recompute(*, thread_ids: Iterable[int]) -> None:
    """Recompute every derived field of these threads from their messages, and their
    ThreadLabel rows (with the copies the list indexes need). Threads left without
    messages are deleted."""
    thread_ids = set(thread_ids)
    if not thread_ids:
        return
    threads = {t.pk: t for t in Thread.objects.filter(pk__in=thread_ids).select_related("account")}
    mirror_changed(account_ids={thread.account_id for thread in threads.values()})
    messages: dict[int, list[Message]] = {}
    # Only what the derived fields need: never the bodies.
    rows = Message.objects.filter(thread_id__in=thread_ids).only(*RECOMPUTE_FIELDS)
    for m in rows.order_by("internal_date", "id"):
        messages.setdefault(m.thread_id, []).append(m)
    label_rows = MessageLabel.objects.filter(message__thread_id__in=thread_ids).values_list(
        "message_id", "message__thread_id", "label_id", "label__gmail_id"
    )
    labels_of_thread: dict[int, dict[int, str]] = {}  # thread id -> label id -> Gmail id
    labels_of_message: dict[int, set[str]] = {}  # message id -> Gmail ids of its labels
    for message_id, thread_id, label_id, gmail_id in label_rows:
        labels_of_thread.setdefault(thread_id, {})[label_id] = gmail_id
        labels_of_message.setdefault(message_id, set()).add(gmail_id)

    empty = [pk for pk in threads if pk not in messages]
    Thread.objects.filter(pk__in=empty).delete()
    changed = []
    for pk, thread_messages in messages.items():
        thread = threads[pk]
        row = _row_of(shown_in(None, thread_messages, labels_of_message), labels_of_message)
        thread.subject = thread_messages[0].subject
        thread.snippet, thread.last_message_at, thread.is_unread = row
        thread.message_count = len(thread_messages)
        thread.has_attachments = any(m.has_attachments for m in thread_messages)
        thread.is_starred = any(
            "STARRED" in labels_of_message.get(m.pk, ()) for m in thread_messages
        )
        thread.participants = _participants(thread_messages)
        changed.append(thread)
    Thread.objects.bulk_update(
        changed,
        [
            "subject",
            "snippet",
            "last_message_at",
            "message_count",
            "has_attachments",
            "is_unread",
            "is_starred",
            "participants",
        ],
    )
    ThreadLabel.objects.filter(thread_id__in=thread_ids).delete()
    ThreadLabel.objects.bulk_create(
        [
            _thread_label(thread, label_id, gmail_id, messages[thread.pk], labels_of_message)
            for thread in changed
            for label_id, gmail_id in labels_of_thread.get(thread.pk, {}).items()
        ]
    )


# Lists that show only their own messages, and whose messages every other list leaves out.
SEPARATE_LISTS = frozenset({"TRASH", "SPAM", "DRAFT"})


def shown_in(
    label_gmail_id: str | None,
    messages: Sequence[Message],
    labels_of_message: Mapping[int, set[str]],
) -> list[Message]:
    """The messages of a thread that the list of a label (None: All mail) shows.

    As in Gmail, Trash, Spam and Drafts show only their own messages, and every other
    list leaves trashed, spam and draft messages out: a thread whose newest message was
    trashed shows the one before it in the Inbox. When the thread has nothing else
    (only its draft carries the label), the row falls back to what carries the label.
    """

    def carries(message: Message, gmail_id: str) -> bool:
        return gmail_id in labels_of_message.get(message.pk, ())

    if label_gmail_id in SEPARATE_LISTS:
        return [m for m in messages if carries(m, label_gmail_id)]
    shown = [m for m in messages if not any(carries(m, kept) for kept in SEPARATE_LISTS)]
    if shown:
        return shown
    if label_gmail_id is None:
        return list(messages)
    return [m for m in messages if carries(m, label_gmail_id)] or list(messages)


def _row_of(
    shown: Sequence[Message], labels_of_message: Mapping[int, set[str]]
) -> tuple[str, dt.datetime, bool]:
    """(snippet, last message time, unread) of a list row showing these messages."""
    last = shown[-1]
    unread = any("UNREAD" in labels_of_message.get(m.pk, ()) for m in shown)
    return last.snippet, last.internal_date, unread


def _thread_label(
    thread: Thread,
    label_id: int,
    gmail_id: str,
    messages: Sequence[Message],
    labels_of_message: Mapping[int, set[str]],
) -> ThreadLabel:
    snippet, last_message_at, is_unread = _row_of(
        shown_in(gmail_id, messages, labels_of_message), labels_of_message
    )
    return ThreadLabel(
        thread=thread,
        label_id=label_id,
        user_id=thread.account.user_id,
        label_gmail_id=gmail_id,
        last_message_at=last_message_at,
        snippet=snippet,
        is_unread=is_unread,
    )


def _participants(messages: Sequence[Message]) -> str:
    names: list[str] = []
    for message in messages:
        name, address = sender_of(message.sender[:PARSE_SENDER_MAX])
        shown = (name or address.split("@")[0]).strip()
        if shown and shown not in names:
            names.append(shown)
    return ", ".join(names[-MAX_PARTICIPANTS:])[:512]
