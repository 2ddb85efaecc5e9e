"""The Gmail API methods. Each takes a Ctx and answers a JSON body, or None for 204.

They run with the emulator lock held, after authentication, scope and quota checks.
"""

import json
import re
from collections.abc import Callable

from . import delivery, errors, mime, render, search
from .mailbox import (
    HISTORY_TYPES,
    Mailbox,
    StoredMessage,
    check_label_edit,
    check_not_draft,
    valid_label_name,
)

HANDLERS: dict[str, Callable] = {}
METADATA_SCOPE = "https://www.googleapis.com/auth/gmail.metadata"
MAX_PAGE = 500
MAX_BATCH_IDS = 1000
TOPIC = re.compile(r"^projects/[^/]+/topics/[^/]+$")


def method(name: str):
    def register(function):
        HANDLERS[name] = function
        return function

    return register


class Ctx:
    def __init__(self, emulator, mailbox: Mailbox, token, path, query, body: bytes, base_url):
        self.emulator = emulator
        self.mailbox = mailbox
        self.token = token
        self.path = path
        self.query = query
        self.raw_body = body
        self.base_url = base_url

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.args(name)
        return values[-1] if values else default

    def args(self, name: str) -> list[str]:
        return [v for k, v in self.query if k == name]

    def flag(self, name: str) -> bool:
        value = (self.arg(name) or "false").lower()
        if value not in ("true", "false"):
            raise errors.invalid_argument(f"Invalid value for {name}: {value}")
        return value == "true"

    def number(self, name: str, default: int, maximum: int) -> int:
        value = self.arg(name)
        if value is None:
            return default
        if not value.isdigit():
            raise errors.invalid_argument(
                f"Invalid value '{value}'. Values must match the "
                f"following regular expression: '[0-9]+'"
            )
        return max(1, min(int(value), maximum))

    def json(self) -> dict:
        if not self.raw_body.strip():
            return {}
        try:
            body = json.loads(self.raw_body)
        except ValueError as exc:
            raise errors.invalid_argument("Invalid JSON payload received.") from exc
        if not isinstance(body, dict):
            raise errors.invalid_argument("Invalid JSON payload received.")
        return body

    @property
    def metadata_only(self) -> bool:
        """The gmail.metadata scope reads headers and labels, never bodies or q."""
        return METADATA_SCOPE in self.token.scopes and not (
            self.token.scopes
            & {
                "https://mail.google.com/",
                "https://www.googleapis.com/auth/gmail.modify",
                "https://www.googleapis.com/auth/gmail.readonly",
            }
        )

    def message_format(self, default: str = "full") -> str:
        fmt = (self.arg("format") or default).lower()
        if fmt not in render.FORMATS:
            raise errors.invalid_argument(f"Invalid value at 'format' ({fmt})")
        if self.metadata_only and fmt in ("full", "raw"):
            raise errors.forbidden(f"Metadata scope doesn't allow format {fmt.upper()}")
        return fmt


# --- users -----------------------------------------------------------------------------


@method("users.getProfile")
def get_profile(ctx: Ctx) -> dict:
    mailbox = ctx.mailbox
    return {
        "emailAddress": mailbox.email,
        "messagesTotal": len(mailbox.messages),
        "threadsTotal": len(mailbox.threads),
        "historyId": str(mailbox.history_id),
    }


@method("users.watch")
def watch(ctx: Ctx) -> dict:
    body = ctx.json()
    topic = body.get("topicName") or ""
    if not TOPIC.match(topic):
        raise errors.invalid_argument(
            "Invalid topicName does not match projects/SOME-ANDROID-PROJECT/topics/*"
        )
    label_ids = body.get("labelIds") or []
    ctx.mailbox.check_labels(label_ids)
    behavior = body.get("labelFilterBehavior") or body.get("labelFilterAction") or "include"
    if behavior not in ("include", "exclude"):
        raise errors.invalid_argument(f"Invalid labelFilterBehavior: {behavior}")
    found = ctx.mailbox.start_watch(topic, label_ids, behavior.lower())
    return {"historyId": str(ctx.mailbox.history_id), "expiration": str(found.expiration_ms)}


@method("users.stop")
def stop(ctx: Ctx) -> None:
    ctx.mailbox.watch = None


# --- labels ----------------------------------------------------------------------------


def _label(ctx: Ctx):
    found = ctx.mailbox.labels.get(ctx.path["id"])
    if found is None:
        raise errors.not_found()
    return found


# The colours labels.create/patch accept, for text and background alike (the API
# reference's LabelColor, read December 2026); Gmail refuses any other.
_PALETTE = """
    #000000 #434343 #666666 #999999 #cccccc #efefef #f3f3f3 #ffffff #fb4c2f #ffad47 #fad165
    #16a766 #43d692 #4a86e8 #a479e2 #f691b3 #f6c5be #ffe6c7 #fef1d1 #b9e4d0 #c6f3de #c9daf8
    #e4d7f5 #fcdee8 #efa093 #ffd6a2 #fce8b3 #89d3b2 #a0eac9 #a4c2f4 #d0bcf1 #fbc8d9 #e66550
    #ffbc6b #fcda83 #44b984 #68dfa9 #6d9eeb #b694e8 #f7a7c0 #cc3a21 #eaa041 #f2c960 #149e60
    #3dc789 #3c78d8 #8e63ce #e07798 #ac2b16 #cf8933 #d5ae49 #0b804b #2a9c68 #285bac #653e9b
    #b65775 #822111 #a46a21 #aa8831 #076239 #1a764d #1c4587 #41236d #83334c #464646 #e7e7e7
    #0d3472 #b6cff5 #0d3b44 #98d7e4 #3d188e #e3d7ff #711a36 #fbd3e0 #8a1c0a #f2b2a8 #7a2e0b
    #ffc8af #7a4706 #ffdeb5 #594c05 #fbe983 #684e07 #fdedc1 #0b4f30 #b3efd3 #04502e #a2dcc1
    #c2c2c2 #4986e7 #2da2bb #b99aff #994a64 #f691b2 #ff7537 #ffad46 #662e37 #ebdbde #cca6ac
    #094228 #42d692 #16a765
"""
LABEL_PALETTE = frozenset(_PALETTE.split())


def _label_changes(body: dict) -> dict:
    changes = {}
    if "name" in body:
        name = str(body["name"])
        if not valid_label_name(name):  # before stripping: a trailing "\r" is refused too
            raise errors.invalid_argument("Invalid label name")
        changes["name"] = name.strip()
    if "messageListVisibility" in body:
        changes["message_list_visibility"] = _choice(
            body["messageListVisibility"], ("show", "hide"), "messageListVisibility"
        )
    if "labelListVisibility" in body:
        changes["label_list_visibility"] = _choice(
            body["labelListVisibility"],
            ("labelShow", "labelShowIfUnread", "labelHide"),
            "labelListVisibility",
        )
    if "color" in body:
        color = body["color"] or None
        if color is not None and not all(
            str(color.get(k, "")).lower() in LABEL_PALETTE for k in ("textColor", "backgroundColor")
        ):
            # Gmail's words for a colour outside its palette.
            raise errors.invalid_argument("Label color is not on the allowed color palette")
        changes["color"] = color
    return changes


def _choice(value, allowed: tuple, name: str) -> str:
    if value not in allowed:
        raise errors.invalid_argument(f"Invalid value for {name}: {value}")
    return value


@method("users.labels.list")
def labels_list(ctx: Ctx) -> dict:
    return {"labels": [label.as_json() for label in ctx.mailbox.labels.values()]}


@method("users.labels.get")
def labels_get(ctx: Ctx) -> dict:
    label = _label(ctx)
    return {**label.as_json(), **ctx.mailbox.label_counts(label.id)}


@method("users.labels.create")
def labels_create(ctx: Ctx) -> dict:
    changes = _label_changes(ctx.json())
    name = changes.pop("name", "")
    changes.setdefault("message_list_visibility", "show")
    changes.setdefault("label_list_visibility", "labelShow")
    return ctx.mailbox.create_label(name, **changes).as_json()


@method("users.labels.update")
def labels_update(ctx: Ctx) -> dict:
    body = ctx.json()
    if not body.get("name"):
        raise errors.invalid_argument("Invalid label name")
    return ctx.mailbox.update_label(_label(ctx), _label_changes(body)).as_json()


@method("users.labels.patch")
def labels_patch(ctx: Ctx) -> dict:
    return ctx.mailbox.update_label(_label(ctx), _label_changes(ctx.json())).as_json()


@method("users.labels.delete")
def labels_delete(ctx: Ctx) -> None:
    ctx.mailbox.delete_label(_label(ctx))


# --- settings --------------------------------------------------------------------------

VACATION_FIELDS = {
    "enableAutoReply": bool,
    "responseSubject": str,
    "responseBodyPlainText": str,
    "responseBodyHtml": str,
    "restrictToContacts": bool,
    "restrictToDomain": bool,
    "startTime": str,
    "endTime": str,
}


@method("users.settings.sendAs.list")
def send_as_list(ctx: Ctx) -> dict:
    # The primary address first, then the aliases in the order they were added.
    return {"sendAs": [entry.as_json() for entry in ctx.mailbox.send_as.values()]}


@method("users.settings.sendAs.get")
def send_as_get(ctx: Ctx) -> dict:
    entry = ctx.mailbox.send_as.get(ctx.path["sendAsEmail"].strip().lower())
    if entry is None:
        raise errors.not_found()
    return entry.as_json()


@method("users.settings.getVacation")
def get_vacation(ctx: Ctx) -> dict:
    return dict(ctx.mailbox.vacation)


@method("users.settings.updateVacation")
def update_vacation(ctx: Ctx) -> dict:
    body = ctx.json()
    settings = {"enableAutoReply": False}
    for name, value in body.items():
        kind = VACATION_FIELDS.get(name)
        if kind is None or not isinstance(value, kind):
            raise errors.invalid_argument(f"Invalid value for {name}")
        settings[name] = value
    for name in ("startTime", "endTime"):  # int64 epoch ms, as strings
        if name in settings and not settings[name].isdigit():
            raise errors.invalid_argument(f"Invalid value for {name}")
    ctx.mailbox.vacation = settings
    return dict(settings)


# --- listing ---------------------------------------------------------------------------


def _page_key(ctx: Ctx) -> tuple[int, int] | None:
    """Where a listing's page starts. A token may expire: Google's APIs may refuse a
    page token "a reasonable time after" they sent it (AIP-158), with 400."""
    token = ctx.arg("pageToken")
    if not token:
        return None
    position, _, issued = token.partition("_")
    if not position.isdigit() or not issued.isdigit():
        raise errors.invalid_argument("Invalid pageToken")
    if not _page_token_alive(ctx, int(issued)):
        raise errors.invalid_argument("Invalid pageToken")
    return divmod(int(position), 10**10)


def _page_token_alive(ctx: Ctx, issued_ms: int) -> bool:
    emulator = ctx.emulator
    ttl_s = emulator.config.page_token_ttl_s
    if ttl_s and emulator.clock.now_ms() - issued_ms > ttl_s * 1000:
        return False
    return issued_ms >= emulator.page_tokens_valid_from.get(ctx.mailbox.email, 0)


def _page_token(ctx: Ctx, message: StoredMessage) -> str:
    return f"{message.internal_date * 10**10 + message.seq}_{ctx.emulator.clock.now_ms()}"


def _message_filter(ctx: Ctx):
    """labelIds, q and includeSpamTrash combined, as messages.list and threads.list read them."""
    mailbox = ctx.mailbox
    label_ids = set(ctx.args("labelIds"))
    mailbox.check_labels(label_ids)
    query = ctx.arg("q") or ""
    if query and ctx.metadata_only:
        raise errors.forbidden("Metadata scope does not support 'q' parameter")
    predicate = search.compile_query(query, mailbox, ctx.emulator.clock.now_ms())
    hidden = set()
    if not (ctx.flag("includeSpamTrash") or search.reaches_spam_or_trash(query)):
        hidden = {"SPAM", "TRASH"} - label_ids

    def matches(message: StoredMessage) -> bool:
        return label_ids <= message.labels and not hidden & message.labels and predicate(message)

    return matches


def _estimate(ctx: Ctx, kind: str, matches) -> int:
    """Gmail's resultSizeEstimate, counted once per mailbox state and query.

    A full sync pages through an unchanging mailbox, so each query is counted once.
    """
    mailbox = ctx.mailbox
    query = tuple(sorted((k, v) for k, v in ctx.query if k not in ("pageToken", "maxResults")))
    key = (kind, mailbox.history_id, query)
    cache = mailbox.estimate_cache
    if key not in cache:
        if len(cache) > 256:
            cache.clear()
        found = [m for m in mailbox.newest_first() if matches(m)]
        cache[key] = len(found) if kind == "messages" else len({m.thread_id for m in found})
    return cache[key]


@method("users.messages.list")
def messages_list(ctx: Ctx) -> dict:
    matches = _message_filter(ctx)
    limit = ctx.number("maxResults", 100, MAX_PAGE)
    page: list[StoredMessage] = []
    more = False
    for message in ctx.mailbox.newest_first(_page_key(ctx)):
        if matches(message):
            if len(page) == limit:
                more = True
                break
            page.append(message)
    body = {}
    if page:
        body["messages"] = [m.ref() for m in page]
    if more:
        body["nextPageToken"] = _page_token(ctx, page[-1])
    body["resultSizeEstimate"] = _estimate(ctx, "messages", matches)
    return body


@method("users.threads.list")
def threads_list(ctx: Ctx) -> dict:
    matches = _message_filter(ctx)
    limit = ctx.number("maxResults", 100, MAX_PAGE)
    mailbox = ctx.mailbox
    page: list[StoredMessage] = []
    more = False
    for message in mailbox.newest_first(_page_key(ctx)):
        if not matches(message) or not _newest_match_of_thread(mailbox, message, matches):
            continue
        if len(page) == limit:
            more = True
            break
        page.append(message)
    body = {}
    if page:
        body["threads"] = [_thread_summary(mailbox, m.thread_id) for m in page]
    if more:
        body["nextPageToken"] = _page_token(ctx, page[-1])
    body["resultSizeEstimate"] = _estimate(ctx, "threads", matches)
    return body


def _newest_match_of_thread(mailbox: Mailbox, message: StoredMessage, matches) -> bool:
    # A thread is listed once, where its newest matching message falls in the order.
    for sibling in reversed(mailbox.thread_messages(message.thread_id)):
        if matches(sibling):
            return sibling is message
    return False


def _thread_summary(mailbox: Mailbox, thread_id: str) -> dict:
    messages = mailbox.thread_messages(thread_id)
    return {
        "id": thread_id,
        "snippet": messages[-1].parsed.snippet,
        "historyId": str(max(m.history_id for m in messages)),
    }


# --- messages --------------------------------------------------------------------------


def _message(ctx: Ctx, key: str = "id") -> StoredMessage:
    return ctx.mailbox.get(ctx.path[key])


@method("users.messages.get")
def messages_get(ctx: Ctx) -> dict:
    return render.message_json(_message(ctx), ctx.message_format(), ctx.args("metadataHeaders"))


def _raw_of(message_body: dict) -> bytes:
    raw = message_body.get("raw")
    if not raw:
        raise errors.invalid_argument(
            "'raw' RFC822 payload message string or uploading message via /upload/* URL required"
        )
    try:
        return mime.b64decode_any(raw)
    except ValueError as exc:
        raise errors.invalid_argument("Invalid value for ByteString") from exc


def _store(ctx: Ctx, date_source: str, *, classify: bool = False) -> StoredMessage:
    body = ctx.json()
    raw = _raw_of(body)
    parsed = mime.parse(raw)
    source = ctx.arg("internalDateSource", date_source)
    internal_date = None
    if source == "dateHeader" and parsed.date_ms is not None:
        internal_date = parsed.date_ms
    labels = set(body.get("labelIds") or ())
    if classify:
        # "Standard email delivery scanning and classification similar to receiving
        # via SMTP" (messages.import): an inbox category, as delivery would file it.
        ctx.mailbox.check_labels(labels)
        labels = delivery.classified(parsed, labels)
    message = ctx.mailbox.add(
        parsed,
        labels=labels,
        internal_date=internal_date,
        thread_hint=body.get("threadId"),
    )
    return message


@method("users.messages.insert")
def messages_insert(ctx: Ctx) -> dict:
    return render.labels_only(_store(ctx, "receivedTime"))


@method("users.messages.import")
def messages_import(ctx: Ctx) -> dict:
    return render.labels_only(_store(ctx, "dateHeader", classify=True))


@method("users.messages.send")
def messages_send(ctx: Ctx) -> dict:
    body = ctx.json()
    sent = delivery.send(ctx.emulator, ctx.mailbox, _raw_of(body), body.get("threadId"))
    return render.labels_only(sent)


def _label_edit(body: dict) -> tuple[list[str], list[str]]:
    add, remove = body.get("addLabelIds") or [], body.get("removeLabelIds") or []
    check_label_edit(add, remove)
    return add, remove


@method("users.messages.modify")
def messages_modify(ctx: Ctx) -> dict:
    message = _message(ctx)
    add, remove = _label_edit(ctx.json())
    check_not_draft(message)
    ctx.mailbox.modify(message, add=add, remove=remove)
    return render.labels_only(message)


def _ids(body: dict) -> list[str]:
    ids = body.get("ids") or []
    if not isinstance(ids, list) or len(ids) > MAX_BATCH_IDS:
        raise errors.invalid_argument(f"ids must be a list of at most {MAX_BATCH_IDS} ids")
    return ids


@method("users.messages.batchModify")
def messages_batch_modify(ctx: Ctx) -> None:
    body = ctx.json()
    add, remove = _label_edit(body)
    ctx.mailbox.check_labels([*add, *remove])
    # Unknown ids are skipped silently, as Gmail does; a draft among them refuses all.
    found = [m for m in map(ctx.mailbox.messages.get, _ids(body)) if m is not None]
    for message in found:
        check_not_draft(message)
    for message in found:
        ctx.mailbox.modify(message, add=add, remove=remove)


@method("users.messages.trash")
def messages_trash(ctx: Ctx) -> dict:
    message = _message(ctx)
    ctx.mailbox.trash(message)
    return render.labels_only(message)


@method("users.messages.untrash")
def messages_untrash(ctx: Ctx) -> dict:
    message = _message(ctx)
    ctx.mailbox.untrash(message)
    return render.labels_only(message)


@method("users.messages.delete")
def messages_delete(ctx: Ctx) -> None:
    ctx.mailbox.delete(_message(ctx))


@method("users.messages.batchDelete")
def messages_batch_delete(ctx: Ctx) -> None:
    for message_id in _ids(ctx.json()):
        message = ctx.mailbox.messages.get(message_id)
        if message is not None:
            ctx.mailbox.delete(message)


@method("users.messages.attachments.get")
def attachments_get(ctx: Ctx) -> dict:
    message = _message(ctx, "messageId")
    message_id, part_id = render.parse_attachment_id(ctx.path["id"])
    part = message.parsed.part(part_id) if message_id == message.id else None
    if part is None or part.parts:
        raise errors.invalid_argument("Invalid attachment token")
    return {"size": len(part.data), "data": part.data_b64}


# --- threads ---------------------------------------------------------------------------


def _thread(ctx: Ctx) -> list[StoredMessage]:
    return ctx.mailbox.thread_messages(ctx.path["id"])


def _thread_json(thread_id: str, messages: list[StoredMessage], fmt: str, headers) -> dict:
    return {
        "id": thread_id,
        "historyId": str(max(m.history_id for m in messages)),
        "messages": [render.message_json(m, fmt, headers) for m in messages],
    }


def _thread_labels_json(thread_id: str, messages: list[StoredMessage]) -> dict:
    return {
        "id": thread_id,
        "historyId": str(max(m.history_id for m in messages)),
        "messages": [render.labels_only(m) for m in messages],
    }


@method("users.threads.get")
def threads_get(ctx: Ctx) -> dict:
    fmt = ctx.message_format()
    if fmt == "raw":
        raise errors.invalid_argument("Invalid value at 'format' (raw)")
    return _thread_json(ctx.path["id"], _thread(ctx), fmt, ctx.args("metadataHeaders"))


@method("users.threads.modify")
def threads_modify(ctx: Ctx) -> dict:
    messages = _thread(ctx)
    add, remove = _label_edit(ctx.json())
    ctx.mailbox.check_labels([*add, *remove])
    # A thread's drafts keep their labels (only DRAFT); its other messages change.
    for message in messages:
        if "DRAFT" not in message.labels:
            ctx.mailbox.modify(message, add=add, remove=remove)
    return _thread_labels_json(ctx.path["id"], messages)


@method("users.threads.trash")
def threads_trash(ctx: Ctx) -> dict:
    messages = _thread(ctx)
    for message in messages:
        ctx.mailbox.trash(message)
    return _thread_labels_json(ctx.path["id"], messages)


@method("users.threads.untrash")
def threads_untrash(ctx: Ctx) -> dict:
    messages = _thread(ctx)
    for message in messages:
        ctx.mailbox.untrash(message)
    return _thread_labels_json(ctx.path["id"], messages)


@method("users.threads.delete")
def threads_delete(ctx: Ctx) -> None:
    for message in _thread(ctx):
        ctx.mailbox.delete(message)


# --- drafts ----------------------------------------------------------------------------


def _draft_body(ctx: Ctx) -> tuple[bytes, str | None]:
    message = ctx.json().get("message")
    if not isinstance(message, dict):
        raise errors.invalid_argument("Message is required")
    return _raw_of(message), message.get("threadId")


def _draft_json(draft_id: str, message: StoredMessage) -> dict:
    return {"id": draft_id, "message": render.labels_only(message)}


@method("users.drafts.list")
def drafts_list(ctx: Ctx) -> dict:
    mailbox = ctx.mailbox
    query = ctx.arg("q") or ""
    predicate = search.compile_query(query, mailbox, ctx.emulator.clock.now_ms())
    drafts = [
        (draft_id, mailbox.messages[message_id])
        for draft_id, message_id in mailbox.drafts.items()
        if predicate(mailbox.messages[message_id])
    ]
    drafts.sort(key=lambda pair: pair[1].key, reverse=True)
    limit = ctx.number("maxResults", 100, MAX_PAGE)
    start = int(ctx.arg("pageToken") or 0) if (ctx.arg("pageToken") or "0").isdigit() else 0
    page = drafts[start : start + limit]
    body = {}
    if page:
        body["drafts"] = [{"id": d, "message": m.ref()} for d, m in page]
    if start + limit < len(drafts):
        body["nextPageToken"] = str(start + limit)
    body["resultSizeEstimate"] = len(drafts)
    return body


@method("users.drafts.get")
def drafts_get(ctx: Ctx) -> dict:
    message = ctx.mailbox.draft_message(ctx.path["id"])
    fmt = ctx.message_format()
    return {"id": ctx.path["id"], "message": render.message_json(message, fmt)}


@method("users.drafts.create")
def drafts_create(ctx: Ctx) -> dict:
    raw, thread_hint = _draft_body(ctx)
    draft_id = ctx.mailbox.create_draft(mime.parse(raw), thread_hint)
    return _draft_json(draft_id, ctx.mailbox.draft_message(draft_id))


@method("users.drafts.update")
def drafts_update(ctx: Ctx) -> dict:
    raw, thread_hint = _draft_body(ctx)
    message = ctx.mailbox.replace_draft(ctx.path["id"], mime.parse(raw), thread_hint)
    return _draft_json(ctx.path["id"], message)


@method("users.drafts.send")
def drafts_send(ctx: Ctx) -> dict:
    body = ctx.json()
    draft_id = body.get("id")
    if not draft_id:
        raise errors.invalid_argument("Draft id is required")
    draft = ctx.mailbox.draft_message(draft_id)
    message = body.get("message") or {}
    raw = _raw_of(message) if message.get("raw") else draft.parsed.raw
    # The sent message takes the draft's place in its thread, and the draft goes away;
    # only once the send succeeded: Gmail keeps a draft whose send it refuses.
    thread_hint = ctx.mailbox.surviving_thread(message.get("threadId"), draft)
    sent = delivery.send(ctx.emulator, ctx.mailbox, raw, thread_hint)
    ctx.mailbox.delete(draft)
    return render.labels_only(sent)


@method("users.drafts.delete")
def drafts_delete(ctx: Ctx) -> None:
    ctx.mailbox.delete(ctx.mailbox.draft_message(ctx.path["id"]))


# --- history ---------------------------------------------------------------------------


@method("users.history.list")
def history_list(ctx: Ctx) -> dict:
    start = ctx.arg("startHistoryId")
    if not start or not start.isdigit():
        raise errors.invalid_argument("Invalid startHistoryId")
    types = set(ctx.args("historyTypes"))
    if types - set(HISTORY_TYPES):
        raise errors.invalid_argument(f"Invalid historyTypes: {sorted(types)}")
    label_id = ctx.arg("labelId")
    limit = ctx.number("maxResults", 100, MAX_PAGE)
    token = ctx.arg("pageToken")
    after = int(token) if token and token.isdigit() else int(start)
    records = ctx.mailbox.history_since(int(start))
    page, more = [], False
    for record in records:
        if record.id <= after:
            continue
        if types and record.kind not in types:
            continue
        if label_id and not record.touches(label_id):
            continue
        if len(page) == limit:
            more = True
            break
        page.append(record)
    body = {}
    if page:
        body["history"] = [record.as_json() for record in page]
    if more:
        body["nextPageToken"] = str(page[-1].id)
    body["historyId"] = str(ctx.mailbox.history_id)
    return body
