"""Celery tasks: ids in, a service called, the follow-up scheduled. Nothing else.

Queues: `sync` (incremental syncs, polls, watches), `sync_full` (full-sync slices, so
a huge first sync never holds back other mailboxes' new mail), and `outbox`.
"""

import contextlib
import datetime as dt

from celery import shared_task
from django.utils import timezone

from accounts.credentials import NeedsReconnect
from accounts.models import GmailAccount
from gmail.errors import RetryLater, SyncError
from sync import outbox, selectors, services
from sync.coordination import Flag, flag_pop, flag_set
from sync.services import Outcome

# Set while a task waits in the queue; it lapses on its own if a task is ever lost.
QUEUED_TTL_S = 2 * 60
POLL_QUIET_FOR = dt.timedelta(minutes=5)


def sync_enqueue(account_id):
    _enqueue_once(sync_mailbox, Flag.QUEUED, account_id)


def full_sync_enqueue(account_id):
    _enqueue_once(full_sync, Flag.FULL_QUEUED, account_id)


def outbox_flush_enqueue(account_id):
    _enqueue_once(flush_outbox, Flag.OUTBOX_QUEUED, account_id)


def _schedule_once(task, flag, account_id, eta):
    """One delayed run per mailbox: while paused, every push would otherwise schedule
    another identical run for when the pause ends."""
    seconds = max(1, int((eta - timezone.now()).total_seconds()) + 1)
    if flag_set(flag, account_id, ttl_s=seconds):
        task.apply_async(kwargs={"account_id": account_id}, eta=eta)


def _enqueue_once(task, flag, account_id):
    """A burst of asks while the task waits in its queue is one task; the task pops the
    flag when it starts, so asks that arrive while it runs queue the next one."""
    if flag_set(flag, account_id, ttl_s=QUEUED_TTL_S):
        try:
            task.delay(account_id=account_id)
        except Exception:
            flag_pop(flag, account_id)  # not queued after all: the next ask must try again
            raise


@shared_task(name="sync.tasks.mailbox_connected", acks_late=True)
def mailbox_connected(account_id):
    """A mailbox was connected or reconnected: watch it, sync it, send what waited."""
    account = GmailAccount.objects.filter(pk=account_id).first()
    if account is None or not account.is_active:
        return
    # A failure is recorded on the watch, and the hourly renewal tries again.
    with contextlib.suppress(SyncError, NeedsReconnect):
        services.watch_register(account=account)
    sync_enqueue(account_id)
    outbox_flush_enqueue(account_id)


@shared_task(name="sync.tasks.sync_mailbox", acks_late=True)
def sync_mailbox(account_id, full=False):
    flag_pop(Flag.QUEUED, account_id)
    result = services.mailbox_sync(account_id=account_id, full=full, allow_full=False)
    _follow_up(account_id, result)


@shared_task(name="sync.tasks.full_sync", acks_late=True)
def full_sync(account_id):
    flag_pop(Flag.FULL_QUEUED, account_id)
    _follow_up(account_id, services.mailbox_sync(account_id=account_id))


def _follow_up(account_id, result):
    if result.outcome == Outcome.MORE:
        full_sync_enqueue(account_id)
    elif result.outcome == Outcome.PAUSED:
        _schedule_once(sync_mailbox, Flag.RETRY_SCHEDULED, account_id, result.retry_at)


@shared_task(name="sync.tasks.poll_quiet_mailboxes")
def poll_quiet_mailboxes():
    """The fallback for lost pushes: sync every mailbox that has been quiet too long."""
    for account_id in selectors.mailboxes_to_poll(quiet_for=POLL_QUIET_FOR):
        sync_enqueue(account_id)
    # A full sync whose chain of slices died (a crash the task could not survive) is
    # picked up again; one that is running answers BUSY to the extra task.
    for account_id in selectors.unfinished_full_syncs():
        full_sync_enqueue(account_id)


@shared_task(name="sync.tasks.renew_watches")
def renew_watches():
    for account in selectors.watches_due():
        renew_watch.delay(account_id=account.pk)


@shared_task(
    name="sync.tasks.renew_watch",
    acks_late=True,
    autoretry_for=(RetryLater,),
    retry_backoff=60,
    retry_backoff_max=30 * 60,
    max_retries=5,
)
def renew_watch(account_id):
    account = GmailAccount.objects.filter(pk=account_id).first()
    if account is not None and account.is_active:
        services.watch_register(account=account)


@shared_task(name="sync.tasks.flush_outbox", acks_late=True)
def flush_outbox(account_id):
    flag_pop(Flag.OUTBOX_QUEUED, account_id)
    retry_at = outbox.outbox_flush(account_id=account_id)
    if retry_at is not None:
        _schedule_once(flush_outbox, Flag.OUTBOX_RETRY_SCHEDULED, account_id, retry_at)


@shared_task(name="sync.tasks.flush_pending_outboxes")
def flush_pending_outboxes():
    """Safety net: any pending user action gets another try, whatever was lost."""
    for account_id in selectors.accounts_with_pending_actions():
        outbox_flush_enqueue(account_id)
