"""One Gmail mailbox: labels, messages, threads, drafts, history and its watch.

Every change goes through ``_record``, which gives it the next historyId, stores the
history record the way Gmail shows it in ``history.list`` and tells the watch. All
methods are called with the emulator lock held.
"""

import bisect
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from . import errors, mime
from .clock import Clock

SYSTEM_LABELS = {
    # id: (messageListVisibility, labelListVisibility); None = Gmail omits the field
    "CHAT": ("hide", "labelHide"),
    "SENT": (None, None),
    "INBOX": (None, None),
    "IMPORTANT": ("hide", "labelHide"),
    "TRASH": ("hide", "labelHide"),
    "DRAFT": (None, None),
    "SPAM": ("hide", "labelHide"),
    "CATEGORY_FORUMS": ("hide", "labelHide"),
    "CATEGORY_UPDATES": ("hide", "labelHide"),
    "CATEGORY_PERSONAL": ("hide", "labelHide"),
    "CATEGORY_PROMOTIONS": ("hide", "labelHide"),
    "CATEGORY_SOCIAL": ("hide", "labelHide"),
    "STARRED": (None, None),
    "UNREAD": (None, None),
}
# Labels only Gmail itself sets or takes away: modify refuses to add or remove them.
FIXED_LABELS = ("SENT", "DRAFT", "CHAT")
# At most one of these per modify: a message is in one of the three places.
EXCLUSIVE_LABELS = ("INBOX", "SPAM", "TRASH")
# Names labels.create/update refuse, whatever their case, besides the system label ids:
# the names Gmail's own folders, IMAP and Takeout use (got-your-back's reserved list).
RESERVED_LABEL_NAMES = frozenset(
    {
        *(label_id.lower() for label_id in SYSTEM_LABELS),
        *("inbox", "spam", "trash", "unread", "starred", "important", "sent", "draft"),
        *("drafts", "chat", "chats", "migrated", "todo", "todos", "buzz", "bin"),
        *("allmail", "archive", "archived", "muted", "voicemail"),
    }
)
HISTORY_TYPES = ("messageAdded", "messageDeleted", "labelAdded", "labelRemoved")
WATCH_DAYS = 7


def valid_label_name(name: str) -> bool:
    """Whether labels.create accepts this name: not empty, not reserved, no control characters."""
    stripped = name.strip()
    return (
        bool(stripped)
        and stripped.lower() not in RESERVED_LABEL_NAMES
        and not any(ord(c) < 32 or ord(c) == 127 for c in name)
    )


def check_label_edit(add: Iterable[str], remove: Iterable[str]) -> None:
    """Refuse, as Gmail does, a modify that touches a fixed label or adds two places."""
    for label_id in [*add, *remove]:
        if label_id in FIXED_LABELS:
            raise errors.invalid_label(label_id)
    if len(set(add) & set(EXCLUSIVE_LABELS)) > 1:
        raise errors.invalid_argument("Can only add one of: " + ", ".join(EXCLUSIVE_LABELS))


def check_not_draft(message: "StoredMessage") -> None:
    # Gmail keeps a draft's labels to itself (DRAFT only); the wording is ours.
    if "DRAFT" in message.labels:
        raise errors.invalid_argument(f"Labels cannot be changed on draft message: {message.id}")


class IdSource:
    """Ids shared by all mailboxes. Gmail's message ids are hex, roughly ms << 20."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._message = 0
        self._seq = 0
        self._draft = 7_263_000_000_000_000_000

    def message_id(self) -> str:
        self._message = max(self._message + 1, self.clock.now_ms() << 20)
        return f"{self._message:x}"

    def seq(self) -> int:
        self._seq += 1
        return self._seq

    def draft_id(self) -> str:
        self._draft += 7919
        return f"r{self._draft}"


@dataclass
class Label:
    id: str
    name: str
    type: str
    message_list_visibility: str | None = None
    label_list_visibility: str | None = None
    color: dict | None = None

    def as_json(self) -> dict:
        body = {"id": self.id, "name": self.name}
        if self.message_list_visibility:
            body["messageListVisibility"] = self.message_list_visibility
        if self.label_list_visibility:
            body["labelListVisibility"] = self.label_list_visibility
        if self.color:
            body["color"] = dict(self.color)
        body["type"] = self.type
        return body


@dataclass
class StoredMessage:
    id: str
    thread_id: str
    seq: int
    internal_date: int
    labels: set[str]
    history_id: int
    parsed: mime.Parsed

    @property
    def key(self) -> tuple[int, int]:
        return (self.internal_date, self.seq)

    def ref(self) -> dict:
        return {"id": self.id, "threadId": self.thread_id}

    def snapshot(self) -> dict:
        body = self.ref()
        if self.labels:
            body["labelIds"] = sorted(self.labels)
        return body


@dataclass
class HistoryRecord:
    id: int
    message: dict
    kind: str  # one of HISTORY_TYPES
    label_ids: tuple[str, ...] = ()

    def touches(self, label_id: str) -> bool:
        return label_id in self.message.get("labelIds", ()) or label_id in self.label_ids

    def as_json(self) -> dict:
        body = {"id": str(self.id), "messages": [{k: self.message[k] for k in ("id", "threadId")}]}
        if self.kind == "messageAdded":
            body["messagesAdded"] = [{"message": self.message}]
        elif self.kind == "messageDeleted":
            body["messagesDeleted"] = [{"message": self.message}]
        else:
            key = "labelsAdded" if self.kind == "labelAdded" else "labelsRemoved"
            body[key] = [{"message": self.message, "labelIds": list(self.label_ids)}]
        return body


@dataclass
class Watch:
    topic: str
    label_ids: frozenset[str]
    behavior: str  # include | exclude
    expiration_ms: int

    def matches(self, record: HistoryRecord) -> bool:
        if not self.label_ids:
            return True
        touched = any(record.touches(label) for label in self.label_ids)
        return touched if self.behavior == "include" else not touched


@dataclass
class SendAs:
    """An address the user sends as (users.settings.sendAs): the primary one or an alias."""

    email: str
    display_name: str = ""
    reply_to: str = ""
    signature: str = ""  # HTML, as Gmail stores it
    is_primary: bool = False
    is_default: bool = False

    def as_json(self) -> dict:
        body = {
            "sendAsEmail": self.email,
            "displayName": self.display_name,
            "replyToAddress": self.reply_to,
            "signature": self.signature,
            "isDefault": self.is_default,
        }
        if self.is_primary:
            body["isPrimary"] = True
        else:
            # Only aliases have these; an alias the user added in settings is verified.
            body["treatAsAlias"] = True
            body["verificationStatus"] = "accepted"
        return body


@dataclass
class Mailbox:
    email: str
    name: str
    ids: IdSource
    clock: Clock
    on_change: Callable[["Mailbox", HistoryRecord], None] = lambda mailbox, record: None
    labels: dict[str, Label] = field(default_factory=dict)
    messages: dict[str, StoredMessage] = field(default_factory=dict)
    threads: dict[str, list[str]] = field(default_factory=dict)
    drafts: dict[str, str] = field(default_factory=dict)
    history: list[HistoryRecord] = field(default_factory=list)
    watch: Watch | None = None
    _order: list[tuple[int, int, str]] = field(default_factory=list)
    _by_rfc822_id: dict[str, str] = field(default_factory=dict)
    estimate_cache: dict = field(default_factory=dict)
    _label_seq: int = 0
    send_as: dict[str, SendAs] = field(default_factory=dict)
    # users.settings.getVacation/updateVacation: stored and served, never auto-replied.
    vacation: dict = field(default_factory=lambda: {"enableAutoReply": False})

    def __post_init__(self) -> None:
        for label_id, (message_vis, label_vis) in SYSTEM_LABELS.items():
            self.labels[label_id] = Label(label_id, label_id, "system", message_vis, label_vis)
        self.send_as[self.email] = SendAs(self.email, self.name, is_primary=True, is_default=True)
        # Each mailbox starts somewhere of its own; Gmail's ids are large and unrelated.
        self.history_id = 1000 + sum(self.email.encode()) * 37
        self.history_floor = self.history_id

    # --- history -------------------------------------------------------------------

    def _next_history_id(self) -> int:
        # Gmail's history ids increase but are not contiguous; keep small gaps so that
        # no client can get away with assuming id + 1.
        self.history_id += 1 + self.history_id % 3
        return self.history_id

    def _record(self, message: StoredMessage, kind: str, label_ids: Iterable[str] = ()):
        record = HistoryRecord(
            id=self._next_history_id(),
            message=message.snapshot(),
            kind=kind,
            label_ids=tuple(sorted(label_ids)),
        )
        message.history_id = record.id
        self.history.append(record)
        self.on_change(self, record)

    def expire_history(self) -> None:
        """From now on, history.list from any earlier id answers 404."""
        self.history_floor = self.history_id
        self.history.clear()

    def history_since(self, start: int) -> list[HistoryRecord]:
        if start < self.history_floor:
            raise errors.not_found()
        at = bisect.bisect_right(self.history, start, key=lambda record: record.id)
        return self.history[at:]

    # --- labels --------------------------------------------------------------------

    def label_by_name(self, name: str) -> Label | None:
        wanted = name.lower()
        return next((lb for lb in self.labels.values() if lb.name.lower() == wanted), None)

    def create_label(self, name: str, **fields) -> Label:
        self._check_label_name(name, None)
        self._label_seq += 1
        label = Label(f"Label_{self._label_seq}", name, "user", **fields)
        self.labels[label.id] = label
        return label

    def update_label(self, label: Label, changes: dict) -> Label:
        if label.type == "system":
            raise errors.invalid_argument(f"Invalid label: {label.id}")
        if "name" in changes:
            self._check_label_name(changes["name"], label)
            label.name = changes["name"]
        for key in ("message_list_visibility", "label_list_visibility", "color"):
            if key in changes:
                setattr(label, key, changes[key])
        return label

    def delete_label(self, label: Label) -> None:
        # Gmail removes the label from its messages without history records of its own
        # (as far as we know); clients learn it from labels.list.
        if label.type == "system":
            raise errors.invalid_argument(f"Invalid delete request for label: {label.id}")
        for message in self.messages.values():
            message.labels.discard(label.id)
        del self.labels[label.id]
        self.estimate_cache.clear()

    def _check_label_name(self, name: str, current: Label | None) -> None:
        if not valid_label_name(name):
            raise errors.invalid_argument("Invalid label name")
        existing = self.label_by_name(name)
        if existing is not None and existing is not current:
            raise errors.conflict("Label name exists or conflicts")

    def check_labels(self, label_ids: Iterable[str]) -> None:
        for label_id in label_ids:
            if label_id not in self.labels:
                raise errors.invalid_argument(f"Invalid label: {label_id}")

    # --- messages ------------------------------------------------------------------

    def get(self, message_id: str) -> StoredMessage:
        found = self.messages.get(message_id)
        if found is None:
            raise errors.not_found()
        return found

    def add(
        self,
        parsed: mime.Parsed,
        *,
        labels: Iterable[str],
        internal_date: int | None = None,
        thread_hint: str | None = None,
        own: bool = False,
    ) -> StoredMessage:
        """Store a message. `own`: the mailbox's user wrote it (a send or a draft), so a
        `thread_hint` with a matching subject threads it even without references."""
        labels = set(labels)
        self.check_labels(labels)
        message_id = self.ids.message_id()
        thread_id = self._thread_for(parsed, thread_hint, own=own) or message_id
        message = StoredMessage(
            id=message_id,
            thread_id=thread_id,
            seq=self.ids.seq(),
            internal_date=internal_date if internal_date is not None else self.clock.now_ms(),
            labels=labels,
            history_id=self.history_id,
            parsed=parsed,
        )
        self.messages[message_id] = message
        bisect.insort(self.threads.setdefault(thread_id, []), message_id, key=self._msg_key)
        bisect.insort(self._order, (*message.key, message_id))
        if parsed.rfc822_id:
            self._by_rfc822_id[parsed.rfc822_id] = message_id
        self._record(message, "messageAdded")
        return message

    def _msg_key(self, message_id: str) -> tuple[int, int]:
        return self.messages[message_id].key

    def _thread_for(
        self, parsed: mime.Parsed, thread_hint: str | None, *, own: bool = False
    ) -> str | None:
        """Gmail threads a message with the one it references, if the subjects match.

        With a threadId in the request, Gmail's rules are the same: the References or
        In-Reply-To headers must point into that thread and the subject must match;
        otherwise the message silently starts a thread of its own. Except for the
        user's own sends and drafts: there the threadId and a matching subject suffice
        (reported by users of Google's Node client; the guide lists all three criteria).
        """
        if thread_hint is not None and thread_hint not in self.threads:
            raise errors.not_found()
        if own and thread_hint is not None and self._subject_matches(thread_hint, parsed):
            return thread_hint
        referenced = [
            self.messages[self._by_rfc822_id[ref]].thread_id
            for ref in reversed(parsed.references)
            if self._by_rfc822_id.get(ref) in self.messages
        ]
        for thread_id in referenced:
            if thread_hint is not None and thread_id != thread_hint:
                continue
            if self._subject_matches(thread_id, parsed):
                return thread_id
        return None

    def _subject_matches(self, thread_id: str, parsed: mime.Parsed) -> bool:
        return any(
            self.messages[mid].parsed.thread_subject == parsed.thread_subject
            for mid in self.threads[thread_id]
        )

    def modify(
        self, message: StoredMessage, *, add: Iterable[str] = (), remove: Iterable[str] = ()
    ) -> None:
        add, remove = set(add), set(remove)
        self.check_labels(add | remove)
        added = add - message.labels
        removed = (remove - add) & message.labels
        if added:
            message.labels |= added
            self._record(message, "labelAdded", added)
        if removed:
            message.labels -= removed
            self._record(message, "labelRemoved", removed)

    def trash(self, message: StoredMessage) -> None:
        # Trashing takes the message out of the inbox; untrash does not put it back.
        self.modify(message, add={"TRASH"}, remove={"INBOX", "SPAM"})

    def untrash(self, message: StoredMessage) -> None:
        self.modify(message, remove={"TRASH"})

    def delete(self, message: StoredMessage) -> None:
        """Permanent deletion, as messages.delete and drafts.delete do."""
        del self.messages[message.id]
        del self._order[bisect.bisect_left(self._order, (*message.key, message.id))]
        siblings = self.threads[message.thread_id]
        siblings.remove(message.id)
        if not siblings:
            del self.threads[message.thread_id]
        if self._by_rfc822_id.get(message.parsed.rfc822_id or "") == message.id:
            del self._by_rfc822_id[message.parsed.rfc822_id]
        for draft_id in [d for d, m in self.drafts.items() if m == message.id]:
            del self.drafts[draft_id]
        self._record(message, "messageDeleted")

    def newest_first(self, before: tuple[int, int] | None = None) -> Iterator[StoredMessage]:
        """Messages by internalDate, newest first, optionally strictly before a key."""
        end = len(self._order) if before is None else bisect.bisect_left(self._order, before)
        for index in range(end - 1, -1, -1):
            yield self.messages[self._order[index][2]]

    def thread_messages(self, thread_id: str) -> list[StoredMessage]:
        found = self.threads.get(thread_id)
        if found is None:
            raise errors.not_found()
        return [self.messages[mid] for mid in found]

    # --- drafts --------------------------------------------------------------------

    def create_draft(self, parsed: mime.Parsed, thread_hint: str | None) -> str:
        message = self.add(parsed, labels={"DRAFT"}, thread_hint=thread_hint, own=True)
        draft_id = self.ids.draft_id()
        self.drafts[draft_id] = message.id
        return draft_id

    def draft_message(self, draft_id: str) -> StoredMessage:
        message_id = self.drafts.get(draft_id)
        if message_id is None:
            raise errors.not_found()
        return self.messages[message_id]

    def replace_draft(self, draft_id: str, parsed: mime.Parsed, thread_hint: str | None):
        # Gmail gives an updated draft a new message id; the draft id stays.
        old = self.draft_message(draft_id)
        self.delete(old)
        message = self.add(
            parsed,
            labels={"DRAFT"},
            thread_hint=self.surviving_thread(thread_hint, old),
            own=True,
        )
        self.drafts[draft_id] = message.id
        return message

    def surviving_thread(self, thread_hint: str | None, replaced: StoredMessage) -> str | None:
        """The thread a replacement of ``replaced`` should join, if that thread still exists."""
        hint = thread_hint or replaced.thread_id
        return hint if hint in self.threads else None

    # --- settings ------------------------------------------------------------------

    def add_send_as(
        self,
        email: str,
        *,
        display_name: str = "",
        reply_to: str = "",
        signature: str = "",
        default: bool = False,
    ) -> SendAs:
        """Add an alias, or change an address the user sends as (the primary one too)."""
        email = email.strip().lower()
        current = self.send_as.get(email)
        entry = SendAs(
            email,
            display_name,
            reply_to,
            signature,
            is_primary=current is not None and current.is_primary,
            is_default=current is not None and current.is_default,
        )
        self.send_as[email] = entry
        if default:
            # Exactly one default: choosing one unsets the previous one.
            for other in self.send_as.values():
                other.is_default = other is entry
        return entry

    # --- watch ---------------------------------------------------------------------

    def start_watch(self, topic: str, label_ids: Iterable[str], behavior: str) -> Watch:
        expiration = self.clock.now_ms() + WATCH_DAYS * 24 * 3600 * 1000
        self.watch = Watch(topic, frozenset(label_ids), behavior, expiration)
        return self.watch

    def active_watch(self) -> Watch | None:
        if self.watch and self.watch.expiration_ms > self.clock.now_ms():
            return self.watch
        return None

    # --- summaries -----------------------------------------------------------------

    def label_counts(self, label_id: str) -> dict:
        messages = [m for m in self.messages.values() if label_id in m.labels]
        unread = [m for m in messages if "UNREAD" in m.labels]
        return {
            "messagesTotal": len(messages),
            "messagesUnread": len(unread),
            "threadsTotal": len({m.thread_id for m in messages}),
            "threadsUnread": len({m.thread_id for m in unread}),
        }

    def state(self) -> dict:
        return {
            "historyId": str(self.history_id),
            "messages": {
                m.id: {"threadId": m.thread_id, "labelIds": sorted(m.labels)}
                for m in self.messages.values()
            },
        }
