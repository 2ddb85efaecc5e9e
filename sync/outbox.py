"""Writing users' actions back to Gmail, in order, until Gmail has each one.

What each kind of action does, and which Gmail call writes it back, is declared in the
table of mail/actions.py. Consecutive actions of kinds that coalesce, with the same
labels, become one messages.batchModify (up to 1000 ids, 50 units, however many
messages). An action Gmail refuses for good (400, 403 forbidden) is marked FAILED and
shown to its user; it is never dropped silently. A transient failure leaves it and
everything after it pending, to keep their order.
"""

import base64
import datetime as dt
import email
import logging
from dataclasses import dataclass

from django.db.models import F
from django.utils import timezone

from accounts.credentials import NeedsReconnect
from accounts.models import GmailAccount
from gmail.api import GmailClient
from gmail.errors import PermanentError, RetryLater, backoff_delay
from mail.actions import Call
from mail.models import OutboxAction
from sync.clients import gmail_client
from sync.coordination import MailboxLimits, MailboxLock, coalesced_run

logger = logging.getLogger(__name__)

BATCH_MODIFY_MAX = 1000
PENDING_WINDOW = 100


@dataclass
class Flushed:
    """What a flush left to do: when to try again (None: nothing waits), and whether
    Gmail refused an action, so a sync must show Gmail's truth again."""

    retry_at: dt.datetime | None = None
    refused: bool = False


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
        lock.extend()
    return None


def _next_group(account: GmailAccount) -> list[OutboxAction]:
    """The oldest pending action, with the ones right after it that can share its call."""
    pending = list(
        OutboxAction.objects.filter(account=account, state=OutboxAction.State.PENDING).order_by(
            "id"
        )[:PENDING_WINDOW]
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
            _send_message(gmail, first)


def _send_message(gmail: GmailClient, action: OutboxAction) -> None:
    if action.attempts and _already_sent(gmail, action):
        # Done: forget it at once, so that no later retry has to find it again (the
        # sender may delete their sent copy meanwhile).
        OutboxAction.objects.filter(pk=action.pk).delete()
        return
    # Count the attempt before making it: if the worker dies after Gmail accepted the
    # message, the next attempt knows to look before sending again.
    OutboxAction.objects.filter(pk=action.pk).update(attempts=F("attempts") + 1)
    body = {"raw": action.raw}
    if action.thread_gmail_id:
        body["threadId"] = action.thread_gmail_id
    request = gmail.users.messages().send(userId="me", body=body)
    gmail.call(Call.SEND, request, idempotent=action.spec.idempotent)


def _already_sent(gmail: GmailClient, action: OutboxAction) -> bool:
    """A send retried after a crash may have reached Gmail: look for its Message-ID."""
    raw = base64.urlsafe_b64decode(action.raw + "=" * (-len(action.raw) % 4))
    message_id = email.message_from_bytes(raw).get("Message-ID", "").strip("<> ")
    if not message_id:
        return False
    found = gmail.call(
        "messages.list",
        # Trash and spam too: the sender may have binned their sent copy meanwhile.
        gmail.users.messages().list(
            userId="me", q=f"rfc822msgid:{message_id}", maxResults=1, includeSpamTrash=True
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
