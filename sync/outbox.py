"""Writing users' actions back to Gmail, in order, until Gmail has each one.

Consecutive label changes with the same labels become one messages.batchModify (up to
1000 ids, 50 units, however many messages). An action Gmail refuses for good (400, 403
forbidden) is marked FAILED and shown to its user; it is never dropped silently. A
transient failure leaves it and everything after it pending, to keep their order.
"""

import base64
import datetime as dt
import email
import logging

from django.db.models import F
from django.utils import timezone

from accounts.credentials import NeedsReconnect
from accounts.models import GmailAccount
from gmail.errors import PermanentError, RetryLater, backoff_delay
from mail.models import OutboxAction
from sync.api import Mailbox
from sync.coordination import BUSY, drain

logger = logging.getLogger(__name__)

Kind = OutboxAction.Kind
BATCH_MODIFY_MAX = 1000
FAILURE_MESSAGES = {
    Kind.DELETE: "Gmail did not allow deleting forever (Tern's access to Gmail does not "
    "include it): the messages are still in Gmail. Move them to Trash instead; Gmail "
    "empties it after 30 days.",
}


def outbox_flush(*, account_id):
    """Send the account's pending actions; returns when to try again, or None."""
    account = GmailAccount.objects.filter(pk=account_id).first()
    if account is None or not account.is_active:
        return None
    try:
        retry_at = drain(
            account_id,
            name="outbox",
            step=lambda lock: _drain(account, lock),
            more=lambda retry_at: retry_at is None,
        )
    except NeedsReconnect:
        return None  # kept pending; reconnecting flushes again
    return None if retry_at is BUSY else retry_at


def _drain(account, lock):
    mailbox = Mailbox(account)
    while group := _next_group(account):
        try:
            _send(mailbox, group)
        except RetryLater as error:
            return _postpone(group, error)
        except PermanentError as error:
            _fail(mailbox, group, error)
        else:
            OutboxAction.objects.filter(pk__in=[a.pk for a in group]).delete()
        lock.extend()
    return None


def _next_group(account):
    """The oldest pending action, with the ones right after it that can share its call."""
    pending = list(
        OutboxAction.objects.filter(account=account, state=OutboxAction.State.PENDING).order_by(
            "id"
        )[:100]
    )
    if not pending:
        return []
    group = [pending[0]]
    if pending[0].kind != Kind.MODIFY:
        return group
    ids = len(pending[0].message_ids)
    for action in pending[1:]:
        same = action.kind == Kind.MODIFY and action.label_delta() == pending[0].label_delta()
        if not same or ids + len(action.message_ids) > BATCH_MODIFY_MAX:
            break
        group.append(action)
        ids += len(action.message_ids)
    return group


def _send(mailbox, group):
    users = mailbox.users
    first = group[0]
    ids = list(dict.fromkeys(gid for action in group for gid in action.message_ids))
    if first.kind == Kind.MODIFY:
        add, remove = first.label_delta()
        if ids and (add or remove):
            body = {"ids": ids, "addLabelIds": add, "removeLabelIds": remove}
            mailbox.call(
                "messages.batchModify", users.messages().batchModify(userId="me", body=body)
            )
    elif first.kind in (Kind.TRASH, Kind.UNTRASH):
        method = "messages.trash" if first.kind == Kind.TRASH else "messages.untrash"
        verb = users.messages().trash if first.kind == Kind.TRASH else users.messages().untrash
        # A 404 means the message is gone from Gmail already: nothing left to do.
        mailbox.batch(method, {gid: verb(userId="me", id=gid) for gid in ids})
    elif first.kind == Kind.DELETE:
        mailbox.call(
            "messages.batchDelete", users.messages().batchDelete(userId="me", body={"ids": ids})
        )
    elif first.kind == Kind.SEND:
        _send_message(mailbox, first)


def _send_message(mailbox, action):
    if action.attempts and _already_sent(mailbox, action):
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
    mailbox.call("messages.send", mailbox.users.messages().send(userId="me", body=body))


def _already_sent(mailbox, action):
    """A send retried after a crash may have reached Gmail: look for its Message-ID."""
    raw = base64.urlsafe_b64decode(action.raw + "=" * (-len(action.raw) % 4))
    message_id = email.message_from_bytes(raw).get("Message-ID", "").strip("<> ")
    if not message_id:
        return False
    found = mailbox.call(
        "messages.list",
        # Trash and spam too: the sender may have binned their sent copy meanwhile.
        mailbox.users.messages().list(
            userId="me", q=f"rfc822msgid:{message_id}", maxResults=1, includeSpamTrash=True
        ),
    )
    return bool(found.get("messages"))


def _postpone(group, error):
    attempts = max(action.attempts for action in group) + 1
    OutboxAction.objects.filter(pk__in=[a.pk for a in group]).update(
        attempts=attempts, last_error=str(error)[:500]
    )
    return timezone.now() + dt.timedelta(seconds=backoff_delay(attempts, error.retry_after))


def _fail(mailbox, group, error):
    """Gmail refused the group for good: mark it FAILED, for its user to see. The
    mirror showed the change already; the next sync fetches those messages again and
    shows Gmail's truth (under the sync's lock, so no older snapshot overwrites newer
    history)."""
    logger.warning(
        "gmail refused a user action",
        extra={"account_id": mailbox.account.pk, "kind": group[0].kind, "status": error.status},
    )
    message = FAILURE_MESSAGES.get(group[0].kind, f"Gmail refused this change ({error}).")
    OutboxAction.objects.filter(pk__in=[a.pk for a in group]).update(
        state=OutboxAction.State.FAILED, last_error=message
    )
    from sync.tasks import sync_enqueue  # the tasks module imports this one

    sync_enqueue(mailbox.account.pk)
