"""Celery tasks: ids in, a service called, the follow-up queued. Nothing else.

Every task is queued through `enqueue`, after the current transaction commits; only
this module decides what follows what. Queues: `sync` (incremental syncs, polls,
watches), `sync_full` (full-sync slices, so a huge first sync never holds back other
mailboxes' new mail), and `outbox`.
"""

import contextlib
import datetime as dt
import logging
from functools import partial
from typing import Any

from celery import Task, shared_task
from django.db import transaction
from django.utils import timezone

from accounts.credentials import NeedsReconnect
from accounts.models import GmailAccount
from gmail.errors import RetryLater, SyncError
from mail import services as mail_services
from sync import outbox, selectors, send_as, services
from sync.coordination import Flag, flag_pop, flag_set
from sync.models import SyncStatus
from sync.services import Outcome, Result

logger = logging.getLogger(__name__)

# Set while a task waits in the queue; it lapses on its own if a task is ever lost.
QUEUED_TTL_S = 2 * 60
POLL_QUIET_FOR = dt.timedelta(minutes=5)
# Gmail sends at most one push a second per mailbox and drops the rest, so the last
# change of a burst may come with no push at all: a sync that saw a busy burst looks
# once more this long after it, when any push Gmail would have dropped is past.
PUSH_DROP_WINDOW = dt.timedelta(seconds=1)
FOLLOW_UP_AFTER = dt.timedelta(seconds=3)


def enqueue(
    task: Task, *, flag: Flag | None = None, eta: dt.datetime | None = None, **kwargs: Any
) -> None:
    """Queue `task(**kwargs)` once the current transaction commits (at once outside one).

    With a `flag` (per mailbox: kwargs hold its account_id), a burst of asks while the
    task waits in its queue, or until `eta`, is one task: the task pops the flag when it
    starts, so asks that arrive while it runs queue the next one.
    """
    transaction.on_commit(partial(_send, task, flag, eta, kwargs))


def _send(task: Task, flag: Flag | None, eta: dt.datetime | None, kwargs: dict[str, Any]) -> None:
    if flag is not None:
        # A scheduled run's flag lapses when the run is due; a queued one's when it
        # should long have started.
        ttl_s = max(1, int((eta - timezone.now()).total_seconds()) + 1) if eta else QUEUED_TTL_S
        if not flag_set(flag, kwargs["account_id"], ttl_s=ttl_s):
            return  # one is queued already
    try:
        # Celery reads eta=None as "no eta"; celery-types allows only a datetime.
        task.apply_async(kwargs=kwargs, eta=eta)  # type: ignore[arg-type]
    except Exception as error:
        if flag is not None:
            flag_pop(flag, kwargs["account_id"])  # not queued: the next ask must try again
        if not task.app.conf.task_always_eager:
            raise
        # Embedded defaults run the task right here, inside the request that queued it:
        # its failure is recorded by the task (on the mailbox) and retried by beat, as it
        # would be on a worker; the request goes on.
        logger.warning("task failed", extra={"task": task.name, "error": type(error).__name__})


def mailbox_sync_enqueue(account_id: int) -> None:
    enqueue(mailbox_sync, flag=Flag.QUEUED, account_id=account_id)


def mailbox_full_sync_enqueue(account_id: int) -> None:
    enqueue(mailbox_full_sync, flag=Flag.FULL_QUEUED, account_id=account_id)


def outbox_flush_enqueue(account_id: int) -> None:
    enqueue(outbox_flush, flag=Flag.OUTBOX_QUEUED, account_id=account_id)


def outbox_flush_at(account_id: int, due: dt.datetime) -> None:
    """A flush when a waiting send is due. One per send, with no flag: a later send's
    must not wait for an earlier one's (beat's `sends_due` catches any that is lost)."""
    enqueue(outbox_flush, eta=due, account_id=account_id)


def mailbox_connected_enqueue(account_id: int) -> None:
    enqueue(mailbox_connected, account_id=account_id)


@shared_task(name="sync.tasks.mailbox_connected", acks_late=True)
def mailbox_connected(account_id: int) -> None:
    """A mailbox was connected or reconnected: watch it, sync it, send what waited."""
    account = GmailAccount.objects.filter(pk=account_id).first()
    if account is None or not account.is_active:
        return
    # A failure is recorded on the watch, and the hourly renewal tries again.
    with contextlib.suppress(SyncError, NeedsReconnect):
        services.watch_register(account=account)
    _send_as_refresh(account)
    mailbox_sync_enqueue(account_id)
    outbox_flush_enqueue(account_id)


@shared_task(name="sync.tasks.mailbox_sync", acks_late=True)
def mailbox_sync(account_id: int, full: bool = False, follow_up: bool = False) -> None:
    flag_pop(Flag.FOLLOW_UP_SCHEDULED if follow_up else Flag.QUEUED, account_id)
    started = timezone.now()
    result = services.mailbox_sync(account_id=account_id, full=full, allow_full=False)
    _after_sync(account_id, result)
    if _burst_was_busy(account_id, result, started):
        _follow_up_enqueue(account_id)


def _burst_was_busy(account_id: int, result: Result, started: dt.datetime) -> bool:
    """Whether changes may have come right after this sync with their push dropped: it
    found changes, or a push came less than PUSH_DROP_WINDOW before it began (or while
    it ran), so Gmail may have dropped the next push in the same second."""
    if result.outcome != Outcome.DONE:
        return False  # paused, busy or resumed elsewhere: that run looks again
    if any(result.changes.values()):
        return True
    last_push_at = (
        SyncStatus.objects.filter(account_id=account_id)
        .values_list("last_push_at", flat=True)
        .first()
    )
    return last_push_at is not None and last_push_at >= started - PUSH_DROP_WINDOW


def _follow_up_enqueue(account_id: int) -> None:
    """One more incremental sync FOLLOW_UP_AFTER from now; asks meanwhile fold into it.

    Not on embedded defaults: there tasks run inline, where an eta means nothing and a
    follow-up would run at once, inside the sync that asked for it."""
    if mailbox_sync.app.conf.task_always_eager:
        return
    enqueue(
        mailbox_sync,
        flag=Flag.FOLLOW_UP_SCHEDULED,
        eta=timezone.now() + FOLLOW_UP_AFTER,
        account_id=account_id,
        follow_up=True,
    )


@shared_task(name="sync.tasks.mailbox_full_sync", acks_late=True)
def mailbox_full_sync(account_id: int) -> None:
    flag_pop(Flag.FULL_QUEUED, account_id)
    _after_sync(account_id, services.mailbox_sync(account_id=account_id))


def _after_sync(account_id: int, result: Result) -> None:
    if result.outcome == Outcome.MORE:
        mailbox_full_sync_enqueue(account_id)
    elif result.outcome == Outcome.PAUSED:
        # One delayed run per mailbox: while paused, every push would otherwise schedule
        # another identical run for when the pause ends.
        enqueue(mailbox_sync, flag=Flag.RETRY_SCHEDULED, eta=result.retry_at, account_id=account_id)


@shared_task(name="sync.tasks.quiet_mailboxes_poll")
def quiet_mailboxes_poll() -> None:
    """The fallback for lost pushes: sync every mailbox that has been quiet too long."""
    for account_id in selectors.mailboxes_to_poll(quiet_for=POLL_QUIET_FOR):
        mailbox_sync_enqueue(account_id)
    # A full sync whose chain of slices died (a crash the task could not survive) is
    # picked up again; one that is running returns BUSY to the extra task.
    for account_id in selectors.unfinished_full_syncs():
        mailbox_full_sync_enqueue(account_id)


@shared_task(name="sync.tasks.snoozes_wake")
def snoozes_wake() -> None:
    """Snoozed threads whose time has come go back to the inbox: every minute, and any
    that were due while Tern was down come back on the first run after."""
    returned = mail_services.snoozes_wake(now=timezone.now())
    if returned:
        logger.info("snoozed threads returned", extra={"count": returned})


@shared_task(name="sync.tasks.watches_renew")
def watches_renew() -> None:
    for account in selectors.watches_due():
        enqueue(watch_renew, account_id=account.pk)


@shared_task(
    name="sync.tasks.watch_renew",
    acks_late=True,
    autoretry_for=(RetryLater,),
    retry_backoff=60,
    retry_backoff_max=30 * 60,
    max_retries=5,
)
def watch_renew(account_id: int) -> None:
    account = GmailAccount.objects.filter(pk=account_id).first()
    if account is not None and account.is_active:
        services.watch_register(account=account)
        _send_as_refresh(account)  # aliases added in Gmail since show up within days


def _send_as_refresh(account: GmailAccount) -> None:
    """Compose's From addresses; on failure the ones read before stay (the account's own
    address is always offered), and the next renewal reads them again."""
    try:
        send_as.send_as_refresh(account=account)
    except (SyncError, NeedsReconnect) as error:
        logger.warning(
            "could not read send-as addresses",
            extra={"account_id": account.pk, "error": type(error).__name__},
        )


@shared_task(name="sync.tasks.outbox_flush", acks_late=True)
def outbox_flush(account_id: int) -> None:
    flag_pop(Flag.OUTBOX_QUEUED, account_id)
    flushed = outbox.outbox_flush(account_id=account_id)
    if flushed.refused or flushed.sent:
        # The mirror showed a change Gmail refused: a sync shows Gmail's truth again. Or
        # a message went: a sync shows it in its thread now, not when Gmail's push comes.
        mailbox_sync_enqueue(account_id)
    if flushed.retry_at is not None:
        enqueue(
            outbox_flush,
            flag=Flag.OUTBOX_RETRY_SCHEDULED,
            eta=flushed.retry_at,
            account_id=account_id,
        )


@shared_task(name="sync.tasks.sends_due")
def sends_due() -> None:
    """Sends whose time has come (after the undo window, or scheduled) and that no flush
    has taken yet: their own timed flush was lost, or Tern was down when it was due."""
    for account_id in selectors.accounts_with_sends_due(now=timezone.now()):
        outbox_flush_enqueue(account_id)


@shared_task(name="sync.tasks.pending_outboxes_flush")
def pending_outboxes_flush() -> None:
    """Safety net: any pending user action gets another try, whatever was lost."""
    for account_id in selectors.accounts_with_pending_actions():
        outbox_flush_enqueue(account_id)
