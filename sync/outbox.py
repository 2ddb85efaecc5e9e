"""Writing users' actions back to Gmail, in order, until Gmail has each one.

What each kind of action does, and which Gmail call writes it back, is declared in the
table of mail/actions.py. Consecutive actions of kinds that coalesce, with the same
labels, become one messages.batchModify (up to 1000 ids, 50 units, however many
messages). An action Gmail refuses for good (400, 403 forbidden) is marked FAILED and
shown to its user; it is never dropped silently. A transient failure leaves it and
everything after it pending, to keep their order. A send goes through a Gmail draft,
each step stored as Gmail answers it, so that no crash or retry sends it twice.
"""

import base64
import datetime as dt
import email
import logging
import re
from dataclasses import dataclass

from django.db.models import F, Q
from django.utils import timezone

from accounts.credentials import NeedsReconnect
from accounts.models import GmailAccount
from gmail.api import GmailClient
from gmail.client import Json
from gmail.errors import PermanentError, RetryLater, backoff_delay
from mail import compose, services
from mail.actions import Call
from mail.mirror_version import mirror_changed
from mail.models import Draft, DraftAttachment, Message, OutboxAction
from sync.attachments import attachment_data, decoded_chunks
from sync.clients import gmail_client
from sync.coordination import MailboxLimits, MailboxLock, coalesced_run

logger = logging.getLogger(__name__)

BATCH_MODIFY_MAX = 1000
PENDING_WINDOW = 100

# Gmail may replace the Message-ID of a message it sends (docs/sync.md), so a send is
# recognised by a header of Tern's own, which Gmail keeps.
OUTBOX_ID_HEADER = "X-Tern-Outbox-Id"
# How far back a retry looks for its draft, or its sent message, after a crash.
RECOVERY_WINDOW = 50
MESSAGE_ID = re.compile(r"<[^<>\s]+>")
MAX_REFERENCES = 10  # ids in a reply's References; each is short, the line stays < 998


@dataclass
class Flushed:
    """What a flush left to do: when to try again (None: nothing waits), whether Gmail
    refused an action, so a sync must show Gmail's truth again, and whether it sent."""

    retry_at: dt.datetime | None = None
    refused: bool = False
    sent: bool = False  # a message went: a sync brings it into its thread at once


def outbox_flush(*, account_id: int) -> Flushed:
    """Send the account's pending actions to Gmail, oldest first."""
    account = GmailAccount.objects.filter(pk=account_id).first()
    if account is None or not account.is_active:
        return Flushed()
    locked_out_until = MailboxLimits(account_id).lockout_until()
    if locked_out_until is not None and locked_out_until > timezone.now():
        return Flushed(retry_at=locked_out_until)  # not one call before Gmail lifts it
    flushed = Flushed()
    try:
        result = coalesced_run(
            account_id,
            name="outbox",
            step=lambda lock: _send_pending(account, lock, flushed),
            more=lambda retry_at: retry_at is None,
        )
    except NeedsReconnect:
        return flushed  # kept pending; reconnecting flushes again
    if isinstance(result, dt.datetime):
        flushed.retry_at = result
    return flushed


def _send_pending(account: GmailAccount, lock: MailboxLock, flushed: Flushed) -> dt.datetime | None:
    """Send pending actions until none is left (None) or Gmail asks to wait (when)."""
    gmail = gmail_client(account)
    while group := _next_group(account):
        try:
            _write_back(gmail, group)
        except RetryLater as error:
            return _postpone(group, error)
        except PermanentError as error:
            _fail(account, group, error)
            flushed.refused = True
        else:
            OutboxAction.objects.filter(pk__in=[a.pk for a in group]).delete()
            flushed.sent |= group[0].spec.call == Call.SEND and bool(group[0].sent_gmail_id)
        lock.extend()
    return None


def _next_group(account: GmailAccount) -> list[OutboxAction]:
    """The oldest pending action, with the ones right after it that can share its call."""
    # A send waiting out its undo window or its scheduled time lets the rest go by: its
    # own timed flush (or beat's sends_due) comes back for it.
    waiting = Q(not_before__gt=timezone.now())
    pending = list(
        OutboxAction.objects.filter(account=account, state=OutboxAction.State.PENDING)
        .exclude(waiting)
        .order_by("id")[:PENDING_WINDOW]
    )
    if not pending:
        return []
    first = pending[0]
    group = [first]
    if not first.spec.coalesces:
        return group
    ids = len(first.message_ids)
    for action in pending[1:]:
        same = (
            action.spec.coalesces
            and action.spec.call == first.spec.call
            and action.label_delta() == first.label_delta()
        )
        if not same or ids + len(action.message_ids) > BATCH_MODIFY_MAX:
            break
        group.append(action)
        ids += len(action.message_ids)
    return group


def _write_back(gmail: GmailClient, group: list[OutboxAction]) -> None:
    """Make the group's one Gmail call (the `call` of its kind)."""
    first = group[0]
    spec = first.spec
    messages = gmail.users.messages()
    ids = list(dict.fromkeys(gid for action in group for gid in action.message_ids))
    match spec.call:
        case Call.BATCH_MODIFY:
            add, remove = first.label_delta()
            if ids and (add or remove):
                body = {"ids": ids, "addLabelIds": add, "removeLabelIds": remove}
                gmail.call(spec.call, messages.batchModify(userId="me", body=body))
        case Call.TRASH | Call.UNTRASH:
            verb = messages.trash if spec.call == Call.TRASH else messages.untrash
            # A 404 means the message is gone from Gmail already: nothing left to do.
            gmail.batch(spec.call, {gid: verb(userId="me", id=gid) for gid in ids})
        case Call.BATCH_DELETE:
            gmail.call(spec.call, messages.batchDelete(userId="me", body={"ids": ids}))
        case Call.SEND:
            if first.draft_id is None or _send_taken(first):
                _send_message(gmail, first)
        case Call.DRAFT_SAVE:
            _draft_save(gmail, first)
        case Call.DRAFT_DELETE:
            try:
                gmail.call(
                    spec.call, gmail.users.drafts().delete(userId="me", id=first.draft_gmail_id)
                )
            except PermanentError as error:
                if error.status != 404:  # gone already: nothing left to do
                    raise


class DraftVanished(PermanentError):
    """The draft of a send is gone from Gmail and no sent message carries its id: the
    user discarded it elsewhere, or deleted the sent copy for good. Sending again could
    send twice, so Tern tells the user instead."""

    def __init__(self) -> None:
        super().__init__(
            "its draft is gone from Gmail and no sent copy was found: "
            "check Sent before sending it again",
            status=404,
        )


def _send_message(gmail: GmailClient, action: OutboxAction) -> None:
    """Send through a Gmail draft, so that every retry knows what Gmail has.

    Each step is recorded on the action as soon as Gmail answers it: the attempt (before
    drafts.create), the draft's id, the sent message's id. A worker killed between two
    of them leaves a trace the retry follows: an attempt without a draft id looks for
    the draft by OUTBOX_ID_HEADER; a draft id whose drafts.send answers 404 means it was
    sent (or discarded): the sent message is looked for by the same header.
    """
    if action.sent_gmail_id:
        return
    draft_id = (
        action.draft_gmail_id
        or _saved_draft_reuse(gmail, action)
        or (action.attempts and _find_draft(gmail, action))
    )
    if not draft_id:
        if action.attempts and _sent_before_drafts(gmail, action):
            return
        draft_id = _create_draft(gmail, action)
    try:
        sent = gmail.call(
            "drafts.send",
            gmail.users.drafts().send(userId="me", body={"id": draft_id}),
            idempotent=False,
        )
    except PermanentError as error:
        if error.status != 404:
            _draft_discard(gmail, draft_id)  # refused for good: no draft left behind
            raise
        sent = _sent_copy(gmail, action, error)
    _record(action, sent_gmail_id=str(sent["id"]))
    if action.draft_id is not None:
        _draft_sent(action)


# A scheduled send that went later than this after its time says so to its writer.
LATE_AFTER = dt.timedelta(minutes=2)


def _send_taken(action: OutboxAction) -> bool:
    """Take a draft's send from the undo window: from here on Undo cannot have it. Its
    MIME is made once, now, so that every retry sends the same bytes. False: the user
    took it back first (mail.services.send_undo deleted it)."""
    if not action.started:
        taken = OutboxAction.objects.filter(
            pk=action.pk, started=False, not_before__lte=timezone.now()
        ).update(started=True)
        if not taken:
            return False
        action.started = True
    if not action.raw:
        draft = _draft_of(action)
        if draft is None:
            return False  # discarded with its send: nothing to send
        raw = compose.message_of(draft, fetch=_forwarded_bytes).as_bytes()
        _record(action, raw=base64.urlsafe_b64encode(raw).decode())
    return True


def _draft_of(action: OutboxAction) -> Draft | None:
    if action.draft_id is None:
        return None
    return Draft.objects.select_related("account", "thread").filter(pk=action.draft_id).first()


def _forwarded_bytes(file: DraftAttachment) -> bytes:
    """A forwarded file's bytes, from Gmail the first time, then kept with the draft (a
    file gone from Gmail meanwhile is refused for good: the user is told)."""
    if file.source is None:
        raise PermanentError("a forwarded file is no longer in Gmail", status=404)
    data = b"".join(decoded_chunks(attachment_data(file.source)))
    DraftAttachment.objects.filter(pk=file.pk).update(data=data, size=len(data))
    return data


def _saved_draft_reuse(gmail: GmailClient, action: OutboxAction) -> str:
    """The Gmail draft the user's typing was saved to, now holding the message to send
    (so no second draft is left behind), if it is still as Tern saved it. "" otherwise:
    gone, or edited in Gmail meanwhile, which Tern does not overwrite."""
    if action.attempts:
        return ""
    draft = _draft_of(action)
    if draft is None or not draft.gmail_draft_id or not _gmail_draft_is_ours(gmail, draft):
        return ""
    message: dict[str, str] = {"raw": _raw_with_outbox_id(action)}
    if action.thread_gmail_id:
        message["threadId"] = action.thread_gmail_id
    try:
        gmail.call(
            "drafts.update",
            gmail.users.drafts().update(
                userId="me",
                id=draft.gmail_draft_id,
                body={"id": draft.gmail_draft_id, "message": message},
            ),
        )
    except PermanentError as error:
        if error.status != 404:
            raise
        return ""
    _record(action, draft_gmail_id=draft.gmail_draft_id)
    return draft.gmail_draft_id


def _gmail_draft_is_ours(gmail: GmailClient, draft: Draft) -> bool | None:
    """Whether Gmail's copy of the draft is the version Tern saved last (True), was
    edited elsewhere since (False), or is gone (None)."""
    try:
        current = gmail.call(
            "drafts.get",
            gmail.users.drafts().get(userId="me", id=draft.gmail_draft_id, format="minimal"),
        )
    except PermanentError as error:
        if error.status != 404:
            raise
        return None
    return bool(current.get("message", {}).get("id") == draft.gmail_message_id)


def _draft_sent(action: OutboxAction) -> None:
    """The draft went: forget it, unless it was scheduled and went late (Tern or Gmail was
    down at its time), which its writer is told until they dismiss it."""
    now = timezone.now()
    draft = _draft_of(action)
    if draft is None:
        return
    late = draft.scheduled and draft.send_at is not None and now - draft.send_at > LATE_AFTER
    if late:
        Draft.objects.filter(pk=draft.pk).update(state=Draft.State.SENT, sent_at=now)
        DraftAttachment.objects.filter(draft=draft).delete()
        OutboxAction.objects.filter(pk=action.pk).delete()
    else:
        draft.delete()  # its send action with it


def _draft_save(gmail: GmailClient, action: OutboxAction) -> None:
    """Write the draft as it is now to its Gmail draft (drafts.update), or to a new one:
    the first time, or when Gmail's copy was edited there meanwhile (kept, not
    overwritten: the user is told), or is gone."""
    draft = _draft_of(action)
    if draft is None or draft.state != Draft.State.EDITING:
        return  # discarded, or being sent: the send writes the final text
    OutboxAction.objects.filter(pk=action.pk).update(started=True)
    raw = compose.message_of(draft, fetch=_forwarded_bytes, for_gmail_drafts=True).as_bytes()
    message: dict[str, str] = {"raw": base64.urlsafe_b64encode(raw).decode()}
    if draft.thread is not None:
        message["threadId"] = draft.thread.gmail_id
    drafts = gmail.users.drafts()
    conflict = False
    if not draft.gmail_draft_id and draft.gmail_message_id:
        draft.gmail_draft_id = _draft_id_of_message(gmail, draft.gmail_message_id)
    draft_id = draft.gmail_draft_id or (
        _find_saved_draft(gmail, draft) if draft.save_attempts else ""
    )
    if draft_id and draft_id == draft.gmail_draft_id:
        ours = _gmail_draft_is_ours(gmail, draft)
        conflict = ours is False
        if not ours:
            draft_id = ""
    if draft_id:
        saved = gmail.call(
            "drafts.update",
            drafts.update(userId="me", id=draft_id, body={"id": draft_id, "message": message}),
        )
    else:
        # Counted first: a worker killed before the id is stored leaves a trace, and the
        # retry looks for the draft it made (by DRAFT_ID_HEADER) instead of making another.
        Draft.objects.filter(pk=draft.pk).update(save_attempts=F("save_attempts") + 1)
        saved = gmail.call(
            "drafts.create", drafts.create(userId="me", body={"message": message}), idempotent=False
        )
    stored = Draft.objects.filter(pk=draft.pk).update(
        gmail_draft_id=saved["id"],
        gmail_message_id=saved.get("message", {}).get("id", ""),
        conflict=draft.conflict or conflict,
    )
    if not stored:  # discarded while it was being saved
        _draft_discard(gmail, str(saved["id"]))


def _draft_id_of_message(gmail: GmailClient, gmail_message_id: str) -> str:
    """The id of the Gmail draft whose message this is (a draft written elsewhere and
    opened in Tern); "" if it is gone, or edited since (a newer message id)."""
    token = None
    for _ in range(20):  # 20 pages of 100 drafts: more than anyone keeps
        listed = gmail.call(
            "drafts.list",
            gmail.users.drafts().list(userId="me", maxResults=100, pageToken=token),
        )
        for entry in listed.get("drafts", []):
            if entry.get("message", {}).get("id") == gmail_message_id:
                return str(entry["id"])
        token = listed.get("nextPageToken")
        if not token:
            break
    return ""


def _find_saved_draft(gmail: GmailClient, draft: Draft) -> str:
    """The Gmail draft an earlier save of `draft` made but did not live to record."""
    listed = gmail.call(
        "drafts.list", gmail.users.drafts().list(userId="me", maxResults=RECOVERY_WINDOW)
    )
    drafts = {d["message"]["id"]: d["id"] for d in listed.get("drafts", [])}
    found = _carrying(gmail, list(drafts), compose.DRAFT_ID_HEADER, draft.message_id)
    return drafts[found] if found else ""


def _sent_copy(gmail: GmailClient, action: OutboxAction, gone: PermanentError) -> Json:
    """The sent message of a send whose draft is gone (sent by a run that died before
    recording it, or discarded elsewhere). A failed lookup proves nothing either way:
    it is tried again later, since marking the send refused could have it sent twice."""
    try:
        found = _find_sent(gmail, action)
    except PermanentError as error:
        raise RetryLater(f"looking for a sent copy: {error}") from error
    if found is None:
        raise DraftVanished() from gone
    return found


def _draft_discard(gmail: GmailClient, draft_id: str) -> None:
    """Best effort: the user sees the refusal in Tern and may send again from there."""
    try:
        gmail.call("drafts.delete", gmail.users.drafts().delete(userId="me", id=draft_id))
    except (PermanentError, RetryLater):
        logger.warning("could not discard the draft of a refused send")


def _create_draft(gmail: GmailClient, action: OutboxAction) -> str:
    # Count the attempt before making it: if the worker dies before the draft's id is
    # stored, the next attempt knows to look for the draft before creating another.
    OutboxAction.objects.filter(pk=action.pk).update(attempts=F("attempts") + 1)
    message: dict[str, str] = {"raw": _raw_with_outbox_id(action)}
    if action.thread_gmail_id:
        message["threadId"] = action.thread_gmail_id  # Gmail threads a reply by it
    draft = gmail.call(
        "drafts.create",
        gmail.users.drafts().create(userId="me", body={"message": message}),
        idempotent=False,  # a second draft would wait in the user's Drafts for ever
    )
    _record(action, draft_gmail_id=draft["id"])
    return str(draft["id"])


def _record(action: OutboxAction, **ids: str) -> None:
    OutboxAction.objects.filter(pk=action.pk).update(**ids)
    for name, value in ids.items():
        setattr(action, name, value)


def _outbox_id(action: OutboxAction) -> str:
    """The action's id at Gmail: the Message-ID Tern chose (unique across installs),
    else the row's id."""
    return _tern_message_id(action) or f"outbox-{action.pk}"


def _tern_message_id(action: OutboxAction) -> str:
    return email.message_from_bytes(_raw(action)).get("Message-ID", "").strip("<> ")


def _raw(action: OutboxAction) -> bytes:
    return base64.urlsafe_b64decode(action.raw + "=" * (-len(action.raw) % 4))


def _raw_with_outbox_id(action: OutboxAction) -> str:
    """The message to draft: the user's, with OUTBOX_ID_HEADER and, for a reply that
    lacks them, In-Reply-To and References (Gmail threads by them besides threadId and
    the subject; so do the recipients' mail programs)."""
    raw = _raw(action)
    headers = [(OUTBOX_ID_HEADER, _outbox_id(action)), *_reply_headers(action, raw)]
    newline = b"\r\n" if raw.split(b"\n", 1)[0].endswith(b"\r") else b"\n"
    # References is folded between ids, so that no line outgrows RFC 5322's 998.
    head = b"".join(
        f"{name}: {value}".encode("ascii", "replace").replace(b"> <", b">" + newline + b" <")
        + newline
        for name, value in headers
    )
    return base64.urlsafe_b64encode(head + raw).decode()


def _reply_headers(action: OutboxAction, raw: bytes) -> list[tuple[str, str]]:
    """In-Reply-To and References naming the newest message of the thread replied to,
    each only where the message has none of its own."""
    message = email.message_from_bytes(raw)
    if not action.thread_gmail_id or (message["In-Reply-To"] and message["References"]):
        return []
    parent = (
        Message.objects.filter(
            account_id=action.account_id, thread__gmail_id=action.thread_gmail_id
        )
        .exclude(rfc822_message_id="")
        .exclude(labels__gmail_id="DRAFT")
        .order_by("-internal_date", "-id")
        .first()
    )
    if parent is None:
        return []
    parent_id = MESSAGE_ID.findall(parent.rfc822_message_id)[:1]
    if not parent_id:
        return []
    earlier = MESSAGE_ID.findall(parent.references or parent.in_reply_to)
    # Long threads: the first and the newest ids, as RFC 5322 suggests trimming.
    references = list(dict.fromkeys([*earlier[:1], *earlier[-(MAX_REFERENCES - 2) :], *parent_id]))
    headers = []
    if not message["In-Reply-To"]:
        headers.append(("In-Reply-To", parent_id[0]))
    if not message["References"]:
        headers.append(("References", " ".join(references)))
    return headers


def _find_draft(gmail: GmailClient, action: OutboxAction) -> str | None:
    """The draft an earlier attempt created but did not live to record, if any."""
    listed = gmail.call(
        "drafts.list", gmail.users.drafts().list(userId="me", maxResults=RECOVERY_WINDOW)
    )
    drafts = {d["message"]["id"]: d["id"] for d in listed.get("drafts", [])}
    found = _carrying_outbox_id(gmail, action, list(drafts))
    if found is None:
        return None
    _record(action, draft_gmail_id=drafts[found])
    return drafts[found]


def _find_sent(gmail: GmailClient, action: OutboxAction) -> Json | None:
    """The sent message of this action (trash included: the sender may have binned it)."""
    listed = gmail.call(
        "messages.list",
        gmail.users.messages().list(
            userId="me", labelIds=["SENT"], includeSpamTrash=True, maxResults=RECOVERY_WINDOW
        ),
    )
    found = _carrying_outbox_id(gmail, action, [m["id"] for m in listed.get("messages", [])])
    return None if found is None else {"id": found}


def _carrying_outbox_id(gmail: GmailClient, action: OutboxAction, ids: list[str]) -> str | None:
    """The first of `ids` whose message carries this action's OUTBOX_ID_HEADER."""
    return _carrying(gmail, ids, OUTBOX_ID_HEADER, _outbox_id(action))


def _carrying(gmail: GmailClient, ids: list[str], header: str, wanted: str) -> str | None:
    """The first of `ids` whose message has `header` with the value `wanted`."""
    messages = gmail.users.messages()
    fetched = gmail.batch(
        "messages.get",
        {
            gid: messages.get(userId="me", id=gid, format="metadata", metadataHeaders=[header])
            for gid in ids
        },
    )
    for gid in ids:
        headers = (fetched.get(gid) or {}).get("payload", {}).get("headers", [])
        if any(h["name"].lower() == header.lower() and h["value"] == wanted for h in headers):
            return gid
    return None


def _sent_before_drafts(gmail: GmailClient, action: OutboxAction) -> bool:
    """An attempt made before sends went through drafts (messages.send, no draft id):
    look for its Message-ID, which is all such a send can be found by."""
    message_id = _tern_message_id(action)
    if not message_id:
        return False
    found = gmail.call(
        "messages.list",
        gmail.users.messages().list(
            userId="me",
            q=f"rfc822msgid:{message_id}",
            labelIds=["SENT"],  # not the draft of a later attempt, which shares the id
            maxResults=1,
            includeSpamTrash=True,
        ),
    )
    return bool(found.get("messages"))


def _postpone(group: list[OutboxAction], error: RetryLater) -> dt.datetime:
    attempts = max(action.attempts for action in group) + 1
    OutboxAction.objects.filter(pk__in=[a.pk for a in group]).update(
        attempts=attempts, last_error=str(error)[:500]
    )
    return timezone.now() + dt.timedelta(seconds=backoff_delay(attempts, error.retry_after))


def _fail(account: GmailAccount, group: list[OutboxAction], error: PermanentError) -> None:
    """Gmail refused the group for good: mark it FAILED, for its user to see. The
    mirror showed the change already; the next sync (the task queues it) fetches those
    messages again and shows Gmail's truth (under the sync's lock, so no older snapshot
    overwrites newer history)."""
    spec = group[0].spec
    logger.warning(
        "gmail refused a user action",
        extra={"account_id": account.pk, "kind": spec.kind, "status": error.status},
    )
    OutboxAction.objects.filter(pk__in=[a.pk for a in group]).update(
        state=OutboxAction.State.FAILED, last_error=spec.refused_message(error)
    )
    mirror_changed(account_ids=[account.pk])  # the lists say so (mail.selectors.Sidebar)
    if spec.call == Call.SEND:
        # Not sent: the message is the writer's draft again, to change and send again,
        # and in Gmail's Drafts too (a message sent at once was never saved there).
        drafts = Draft.objects.filter(pk__in=[a.draft_id for a in group if a.draft_id])
        drafts.update(state=Draft.State.EDITING, send_at=None, scheduled=False)
        for draft in drafts:
            services.draft_save_soon(draft=draft)
