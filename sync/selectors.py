"""Reads of sync state: which mailboxes need what. Writes are in sync/services.py."""

import datetime as dt
from typing import TypedDict

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import GmailAccount
from mail.models import Message, MessageLabel, OutboxAction
from sync.models import SyncStatus

WATCH_RENEW_BEFORE = dt.timedelta(hours=48)


class MessageState(TypedDict):
    threadId: str
    labelIds: list[str]


class MailboxState(TypedDict):
    historyId: str
    messages: dict[str, MessageState]


def mailbox_state(*, account: GmailAccount) -> MailboxState:
    """The mirror in the emulator's state shape (docs/emulator.md, the control API):
    {"historyId": "…", "messages": {"<id>": {"threadId": "…", "labelIds": [sorted]}}}."""
    labels: dict[int, list[str]] = {}
    for message_id, gmail_id in MessageLabel.objects.filter(message__account=account).values_list(
        "message_id", "label__gmail_id"
    ):
        labels.setdefault(message_id, []).append(gmail_id)
    messages: dict[str, MessageState] = {
        gmail_id: {"threadId": thread_gmail_id, "labelIds": sorted(labels.get(pk, []))}
        for pk, gmail_id, thread_gmail_id in Message.objects.filter(account=account).values_list(
            "pk", "gmail_id", "thread__gmail_id"
        )
    }
    # Read fresh: `account.sync_status` may be a copy cached before the last sync.
    history_id = (
        SyncStatus.objects.filter(account=account).values_list("history_id", flat=True).first()
    )
    return {"historyId": str(history_id or ""), "messages": messages}


def watches_due() -> QuerySet[GmailAccount]:
    """Active accounts whose watch is missing or expires within 48 hours."""
    soon = timezone.now() + WATCH_RENEW_BEFORE
    return GmailAccount.objects.filter(status=GmailAccount.Status.ACTIVE).exclude(
        watch__expiration__gt=soon
    )


# --- fallback polling ------------------------------------------------------------------


def mailboxes_to_poll(*, quiet_for: dt.timedelta) -> list[int]:
    """Active, fully synced mailboxes with no push and no sync for `quiet_for`."""
    since = timezone.now() - quiet_for
    statuses = SyncStatus.objects.filter(
        account__status=GmailAccount.Status.ACTIVE,
        full_sync_state=SyncStatus.FullSync.DONE,
    )
    quiet_push = statuses.filter(last_push_at__lt=since) | statuses.filter(last_push_at=None)
    quiet = quiet_push.filter(last_incremental_sync_at__lt=since) | quiet_push.filter(
        last_incremental_sync_at=None
    )
    return list(quiet.values_list("account_id", flat=True))


def accounts_with_pending_actions() -> list[int]:
    return list(
        OutboxAction.objects.filter(
            state=OutboxAction.State.PENDING, account__status=GmailAccount.Status.ACTIVE
        )
        .values_list("account_id", flat=True)
        .distinct()
    )


def accounts_with_sends_due(*, now: dt.datetime) -> list[int]:
    return list(
        OutboxAction.objects.filter(
            not_before__lte=now,
            started=False,
            state=OutboxAction.State.PENDING,
            account__status=GmailAccount.Status.ACTIVE,
        )
        .values_list("account_id", flat=True)
        .distinct()
    )


def unfinished_full_syncs() -> list[int]:
    """Active mailboxes whose full sync has not finished."""
    return list(
        SyncStatus.objects.filter(account__status=GmailAccount.Status.ACTIVE)
        .exclude(full_sync_state=SyncStatus.FullSync.DONE)
        .values_list("account_id", flat=True)
    )
