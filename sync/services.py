"""The sync engine: full and incremental sync of one mailbox, and its watch.

Guarantees (docs/sync.md explains them at length):
- The mirror's history cursor moves only forward, and only in the transaction that
  commits the changes it covers: a crash anywhere replays, never skips.
- One sync per mailbox at a time (sync.coordination.coalesced_run, over a MailboxLock); a sync
  asked for while one runs is folded into one more pass of the running one.
- A cursor Gmail no longer knows (404) leads to a full resync that deletes only what
  the new full listing did not see, then catches up from the new starting point.
"""

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import cast

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from accounts.credentials import NeedsReconnect
from accounts.models import GmailAccount
from gmail.api import GmailClient, Request
from gmail.client import Json
from gmail.errors import (
    FAILED_PRECONDITION,
    HistoryTooOld,
    PermanentError,
    RetryLater,
    backoff_delay,
)
from mail import mirror
from mail import services as mail_services
from mail.mirror import GmailMessage
from mail.models import Message, OutboxAction, SkippedMessage
from mail.storable import error_summary
from sync.clients import gmail_client
from sync.coordination import Flag, MailboxLock, coalesced_run, flag_pop, flag_set
from sync.models import GmailWatch, SyncStatus

logger = logging.getLogger(__name__)

HISTORY_TYPES = ["messageAdded", "messageDeleted", "labelAdded", "labelRemoved"]
INBOX_FIRST_PAGE = 50
LIST_PAGE_SIZE = 500
HISTORY_PAGE_SIZE = 500
# A full sync runs in slices so that a huge mailbox gives its worker back now and then.
FULL_SYNC_PAGES_PER_SLICE = 3
FULL_REQUEST_TTL_S = 24 * 60 * 60
SKIPPED_RETRY_BATCH = 50


class Outcome(StrEnum):
    DONE = "done"
    MORE = "more"  # a full sync slice ended; run again
    BUSY = "busy"  # another worker holds the mailbox; it will do our pass too
    PAUSED = "paused"
    INACTIVE = "inactive"


@dataclass
class Result:
    outcome: Outcome
    retry_at: dt.datetime | None = None
    changes: dict[str, int] = field(default_factory=dict)


# --- entry point -----------------------------------------------------------------------


def mailbox_sync(*, account_id: int, full: bool = False, allow_full: bool = True) -> Result:
    """Bring the mirror of one mailbox up to date with Gmail.

    `full=True` forces a full resync. A mailbox whose full sync is not done continues
    it, one slice per call, when `allow_full` (the full-sync queue's task); otherwise
    the result is MORE and the caller hands the mailbox to that queue.
    """
    account = GmailAccount.objects.filter(pk=account_id).first()
    if account is None or account.status != GmailAccount.Status.ACTIVE:
        return Result(Outcome.INACTIVE)
    status, _ = SyncStatus.objects.get_or_create(account=account)
    if full:
        # Restarted by whoever holds the lock, so a running slice is never cut in two;
        # the request outlives any pause.
        flag_set(Flag.FULL_REQUESTED, account_id, ttl_s=FULL_REQUEST_TTL_S)
    if status.paused_until and status.paused_until > timezone.now():
        return Result(Outcome.PAUSED, retry_at=status.paused_until)
    result = coalesced_run(
        account_id,
        name="lock",
        step=lambda lock: _one_pass(account, lock, allow_full=allow_full),
        more=lambda result: result.outcome == Outcome.DONE,
    )
    # Anything but a Result is coalesced_run's BUSY.
    return result if isinstance(result, Result) else Result(Outcome.BUSY)


def _one_pass(account: GmailAccount, lock: MailboxLock, *, allow_full: bool) -> Result:
    status = SyncStatus.objects.get(account=account)
    if flag_pop(Flag.FULL_REQUESTED, account.pk):
        _restart_full_sync(status)
    needs_full = status.full_sync_state != SyncStatus.FullSync.DONE or status.history_id is None
    if needs_full and not allow_full:
        return Result(Outcome.MORE)  # the caller hands the mailbox to the full-sync queue
    try:
        gmail = gmail_client(account)
        if needs_full:
            result = _full_sync_slice(account, gmail, status, lock)
            if result.outcome == Outcome.MORE:
                return result
        try:
            result = _incremental(account, gmail, status, lock)
        except HistoryTooOld:
            logger.warning("history too old, full resync", extra={"account_id": account.pk})
            _restart_full_sync(status)
            return Result(Outcome.MORE)
    except RetryLater as error:
        return _pause(status, error)
    except NeedsReconnect:
        return Result(Outcome.INACTIVE)
    except PermanentError as error:
        _record_error(status, str(error))
        raise
    except Exception as error:
        # Not a Gmail error we know: a bug, or data we could not handle. It is recorded
        # (without the data) so that health says so, instead of failing silently.
        _record_error(status, f"unexpected error: {error_summary(error)}")
        raise
    _record_success(status)
    return result


# --- full sync -------------------------------------------------------------------------


def _restart_full_sync(status: SyncStatus) -> None:
    SyncStatus.objects.filter(pk=status.pk).update(
        full_sync_state=SyncStatus.FullSync.PENDING,
        full_sync_page_token="",
        full_sync_history_id=None,
        full_sync_messages_done=0,
    )
    status.refresh_from_db()


def _full_sync_slice(
    account: GmailAccount, gmail: GmailClient, status: SyncStatus, lock: MailboxLock
) -> Result:
    """Run (or resume) a full sync for up to FULL_SYNC_PAGES_PER_SLICE pages."""
    if status.full_sync_state == SyncStatus.FullSync.PENDING:
        _full_sync_begin(account, gmail, status)
    mark = status.full_sync_history_id
    for _ in range(FULL_SYNC_PAGES_PER_SLICE):
        response = _list_page(gmail, status)
        if response is None:
            continue  # the stored token was refused: the listing starts again
        listed = response.get("messages", [])
        fetched = _fetch_unseen(account, gmail, listed, mark)
        next_token = response.get("nextPageToken", "")
        with transaction.atomic():
            mirror.messages_store(account=account, resources=fetched, mark=mark)
            # The checkpoint commits with the page it covers: a killed worker resumes here.
            SyncStatus.objects.filter(pk=status.pk).update(
                full_sync_page_token=next_token,
                full_sync_messages_done=status.full_sync_messages_done + len(listed),
            )
        status.refresh_from_db()
        lock.extend()
        if not next_token:
            _full_sync_finish(account, status)
            return Result(Outcome.DONE)
    return Result(Outcome.MORE)


def _list_page(gmail: GmailClient, status: SyncStatus) -> Json | None:
    """The full listing's next page, or None when Gmail refused the stored page token.

    Gmail may refuse a page token after a long pause (400). The listing then starts
    again from the top, never with that token again: what this full sync stored carries
    its mark, so nothing is fetched twice, and the sweep at its end deletes only what
    neither listing saw (a message deleted meanwhile is history after the mark)."""
    token = status.full_sync_page_token
    try:
        return gmail.call(
            "messages.list",
            gmail.users.messages().list(
                userId="me",
                maxResults=LIST_PAGE_SIZE,
                includeSpamTrash=True,
                pageToken=token or None,
            ),
        )
    except PermanentError as error:
        # Gmail's transient 400 that outlasted its retries is no verdict on the token.
        if not token or error.status != 400 or error.reason == FAILED_PRECONDITION:
            raise
    logger.warning("page token refused, listing again", extra={"account_id": status.account_id})
    SyncStatus.objects.filter(pk=status.pk, full_sync_page_token=token).update(
        full_sync_page_token="", full_sync_messages_done=0
    )
    status.refresh_from_db()
    return None


def _full_sync_begin(account: GmailAccount, gmail: GmailClient, status: SyncStatus) -> None:
    """Take the starting historyId first, then labels, then the newest 50 threads of
    INBOX, so that the inbox is usable within seconds whatever the mailbox size."""
    last_pk = Message.objects.aggregate(last=Max("pk"))["last"] or 0
    profile = gmail.call("getProfile", gmail.users.getProfile(userId="me"))
    mark = int(profile["historyId"])
    labels = gmail.call("labels.list", gmail.users.labels().list(userId="me"))
    mirror.labels_replace(account=account, resources=labels.get("labels", []))
    # The inbox page lists threads, so fetch its newest 50 threads whole (threads.get):
    # 50 messages would fill fewer rows whenever conversations have replies.
    inbox = gmail.call(
        "threads.list",
        gmail.users.threads().list(userId="me", labelIds=["INBOX"], maxResults=INBOX_FIRST_PAGE),
    )
    threads = gmail.batch(
        "threads.get",
        {
            t["id"]: gmail.users.threads().get(userId="me", id=t["id"], format="full")
            for t in inbox.get("threads", [])
        },
    )
    fetched = _present(
        [m for thread in threads.values() if thread for m in thread.get("messages", [])]
    )
    with transaction.atomic():
        mirror.messages_store(account=account, resources=fetched, mark=mark)
        SyncStatus.objects.filter(pk=status.pk).update(
            full_sync_state=SyncStatus.FullSync.RUNNING,
            full_sync_history_id=mark,
            full_sync_last_message_pk=last_pk,
            full_sync_page_token="",
            full_sync_messages_done=0,
            full_sync_started_at=timezone.now(),
        )
    status.refresh_from_db()


def _fetch_unseen(
    account: GmailAccount, gmail: GmailClient, listed: list[Json], mark: int | None
) -> list[GmailMessage]:
    """Fetch the listed messages this full sync has not stored yet, choosing by cost:
    threads.get (10 units) for a thread with 2+ unseen messages here, else messages.get
    (5 units each)."""
    ids = [m["id"] for m in listed]
    seen = set(
        Message.objects.filter(account=account, gmail_id__in=ids, full_sync_mark=mark).values_list(
            "gmail_id", flat=True
        )
    )
    by_thread: dict[str, list[str]] = {}
    for m in listed:
        if m["id"] not in seen:
            by_thread.setdefault(m["threadId"], []).append(m["id"])
    whole = [tid for tid, mids in by_thread.items() if len(mids) >= 2]
    single = [mids[0] for tid, mids in by_thread.items() if len(mids) < 2]
    resources: list[GmailMessage] = []
    try:
        if whole:
            threads = gmail.batch(
                "threads.get",
                {
                    tid: gmail.users.threads().get(userId="me", id=tid, format="full")
                    for tid in whole
                },
            )
            resources += _messages_in(threads.values())
        if single:
            resources += _present(
                gmail.batch("messages.get", _message_gets(gmail, single)).values()
            )
    except RetryLater as error:
        # Keep what was fetched: stored with this full sync's mark, it counts as seen, and
        # the page's next try fetches only the rest.
        with transaction.atomic():
            kept = resources + _messages_in(error.fetched.values())
            mirror.messages_store(account=account, resources=kept, mark=mark)
        raise
    return resources


def _messages_in(fetched: Iterable[Json | None]) -> list[GmailMessage]:
    """The messages of fetched threads and messages (None: gone since listed)."""
    messages: list[Json] = []
    for resource in fetched:
        if resource and "payload" not in resource:
            messages += resource.get("messages", [])  # a thread
        elif resource:
            messages.append(resource)
    return _present(messages)


def _present(fetched: Iterable[Json | None]) -> list[GmailMessage]:
    """The messages Gmail returned (None: deleted since it was listed), as the mirror
    reads them."""
    return [cast(GmailMessage, resource) for resource in fetched if resource]


def _message_gets(gmail: GmailClient, ids: Iterable[str]) -> dict[str, Request]:
    return {mid: gmail.users.messages().get(userId="me", id=mid, format="full") for mid in ids}


def _full_sync_finish(account: GmailAccount, status: SyncStatus) -> None:
    """Delete what the full listing did not see, then hand over to incremental sync
    from the historyId taken before listing began."""
    mark = status.full_sync_history_id
    assert mark is not None  # set by _full_sync_begin, with the RUNNING state
    with transaction.atomic():
        mirror.lock_mirror(account.pk)
        stale = Message.objects.filter(
            account=account, pk__lte=status.full_sync_last_message_pk or 0
        ).exclude(full_sync_mark__gte=mark)
        thread_ids = set(stale.values_list("thread_id", flat=True))
        stale.delete()
        mirror.threads_recompute(thread_ids=thread_ids)
        # Forward only: a resync after a 404 starts from a newer id than the old cursor.
        status.history_id = max(status.history_id or 0, mark)
        status.full_sync_state = SyncStatus.FullSync.DONE
        status.full_sync_page_token = ""
        status.last_full_sync_at = timezone.now()
        status.save(
            update_fields=[
                "history_id",
                "full_sync_state",
                "full_sync_page_token",
                "last_full_sync_at",
                "updated_at",
            ]
        )


# --- incremental sync ------------------------------------------------------------------


def _incremental(
    account: GmailAccount, gmail: GmailClient, status: SyncStatus, lock: MailboxLock
) -> Result:
    """history.list from the cursor, every page; each page's changes are committed
    together with the cursor that covers them."""
    changes = {"added": 0, "deleted": 0, "relabelled": 0}
    # One listing from one start id, its pages followed by their opaque tokens; the
    # cursor advances page by page (compare-and-set against what the last page wrote).
    listing_start = status.history_id
    page_token = None
    while True:
        start = status.history_id
        assert start is not None  # _one_pass runs a full sync first when it is None
        response = gmail.call(
            "history.list",
            gmail.users.history().list(
                userId="me",
                startHistoryId=listing_start,
                historyTypes=HISTORY_TYPES,
                maxResults=HISTORY_PAGE_SIZE,
                pageToken=page_token,
            ),
            history=True,
        )
        records = response.get("history", [])
        net = net_changes(records)
        # A label change on a message the mirror lacks: fetch it whole instead.
        relabelled = set(net.labels) - set(net.to_fetch)
        present = set(
            Message.objects.filter(account=account, gmail_id__in=relabelled).values_list(
                "gmail_id", flat=True
            )
        )
        net.to_fetch += sorted(relabelled - present)
        fetched = gmail.batch("messages.get", _message_gets(gmail, net.to_fetch))
        page_token = response.get("nextPageToken")
        # history.list returns records after startHistoryId, so a record id is a valid
        # cursor: mid-way, the last record of the page; at the end, the mailbox's id.
        if page_token:
            cursor = int(records[-1]["id"]) if records else start  # an empty middle page
        else:
            cursor = int(response["historyId"])
        with transaction.atomic():
            _apply(account, net, fetched)
            _advance_cursor(status, start, cursor)
        changes["added"] += len(net.to_fetch)
        changes["deleted"] += len(net.deleted)
        changes["relabelled"] += len(net.labels)
        lock.extend()
        if not page_token:
            break
    # Labels last: history does not record label renames or deletions, and a label
    # deleted after a record mentioned it is gone from every message at Gmail, so its
    # placeholder (created while applying that record) must go too.
    labels = gmail.call("labels.list", gmail.users.labels().list(userId="me"))
    mirror.labels_replace(account=account, resources=labels.get("labels", []))
    _restore_refused(account, gmail)
    _retry_skipped(account, gmail)
    SyncStatus.objects.filter(pk=status.pk).update(last_incremental_sync_at=timezone.now())
    return Result(Outcome.DONE, changes=changes)


def _restore_refused(account: GmailAccount, gmail: GmailClient) -> None:
    """Fetch again the messages of user actions Gmail refused, and store Gmail's truth.

    Done here, under the sync lock and after history.list, so that nothing older than
    what history already applied can be written over it."""
    refused = list(
        OutboxAction.objects.filter(
            account=account, state=OutboxAction.State.FAILED, restored=False
        )
    )
    ids = list(dict.fromkeys(gid for action in refused for gid in action.message_ids))
    if not refused:
        return
    fetched = gmail.batch("messages.get", _message_gets(gmail, ids)) if ids else {}
    with transaction.atomic():
        mirror.messages_store(account=account, resources=_present(fetched.values()))
        OutboxAction.objects.filter(pk__in=[a.pk for a in refused]).update(restored=True)


def _retry_skipped(account: GmailAccount, gmail: GmailClient) -> None:
    """Fetch again the messages earlier syncs could not store and try once more (a fix
    deployed since may store them now). One that Gmail no longer has is forgotten."""
    due = SkippedMessage.objects.filter(account=account, retry_at__lte=timezone.now())
    ids = list(due.order_by("retry_at").values_list("gmail_id", flat=True)[:SKIPPED_RETRY_BATCH])
    if not ids:
        return
    try:
        fetched = gmail.batch("messages.get", _message_gets(gmail, ids))
    except PermanentError:
        # Gmail refuses to give them (an id it does not accept): the retry must never
        # become what stops the mailbox. They stay listed for the operator.
        logger.warning("skipped messages could not be fetched again", extra={"count": len(ids)})
        return
    gone = [gmail_id for gmail_id, resource in fetched.items() if resource is None]
    with transaction.atomic():
        SkippedMessage.objects.filter(account=account, gmail_id__in=gone).delete()
        mirror.messages_store(account=account, resources=_present(fetched.values()))


@dataclass
class NetChanges:
    to_fetch: list[str] = field(default_factory=list)
    deleted: set[str] = field(default_factory=set)
    # gmail id -> {label id: True (add) / False}
    labels: dict[str, dict[str, bool]] = field(default_factory=dict)


def net_changes(records: list[Json]) -> NetChanges:
    """Fold a page of history records into one change per message.

    Added messages are fetched whole (their current state covers their later label
    changes); deleted ones are dropped from everything else; for the rest, the last
    change to each label wins.
    """
    net = NetChanges()
    added: dict[str, bool] = {}
    for record in records:
        for item in record.get("messagesAdded", []):
            added[item["message"]["id"]] = True
        for item in record.get("messagesDeleted", []):
            net.deleted.add(item["message"]["id"])
        for kind, value in (("labelsAdded", True), ("labelsRemoved", False)):
            for item in record.get(kind, []):
                ops = net.labels.setdefault(item["message"]["id"], {})
                for label_id in item.get("labelIds", []):
                    ops[label_id] = value
    net.to_fetch = [mid for mid in added if mid not in net.deleted]
    for mid in list(net.labels):
        if mid in net.deleted:
            del net.labels[mid]
    return net


def _apply(account: GmailAccount, net: NetChanges, fetched: dict[str, Json | None]) -> None:
    mirror.lock_mirror(account.pk)
    touched = mirror.messages_delete(account=account, gmail_ids=net.deleted)
    resources = _present(fetched.values())
    stored_touched, stored = mirror.messages_store_each(account=account, resources=resources)
    touched |= stored_touched
    # Messages with the same net change are changed together: marking 500 messages read
    # elsewhere is one delete, not 500.
    by_change: dict[tuple[tuple[str, ...], tuple[str, ...]], list[str]] = {}
    for gmail_id, ops in net.labels.items():
        if gmail_id in fetched:
            continue  # fetched whole, already current
        change = (
            tuple(sorted(label for label, on in ops.items() if on)),
            tuple(sorted(label for label, on in ops.items() if not on)),
        )
        by_change.setdefault(change, []).append(gmail_id)
    for (add, remove), gmail_ids in by_change.items():
        touched |= mirror.messages_labels_change(
            account=account, gmail_ids=gmail_ids, add=add, remove=remove
        )
    changed = stored + list(net.labels)
    touched |= mirror.actions_reapply(account=account, gmail_ids=changed)
    mirror.threads_recompute(thread_ids=touched)
    if stored:
        # Tern's own thread states: a muted thread leaves the inbox again, a snoozed one
        # that new mail brought back is no longer snoozed.
        mail_services.threads_got_mail(account=account, gmail_ids=stored)


def _advance_cursor(status: SyncStatus, start: int, cursor: int) -> None:
    # Compare-and-set: only the holder of the cursor it read may move it, and never back.
    new = max(start, cursor)
    moved = SyncStatus.objects.filter(pk=status.pk, history_id=start).update(history_id=new)
    if not moved:
        raise RuntimeError("history cursor moved under a running sync")
    status.history_id = new


# --- state bookkeeping -----------------------------------------------------------------


def _pause(status: SyncStatus, error: RetryLater) -> Result:
    """Pause until Gmail's lockout ends, or for a backoff that grows with each failure."""
    until = error.lockout_until
    if until is None:
        delay = backoff_delay(status.failure_count, error.retry_after)
        until = timezone.now() + dt.timedelta(seconds=delay)
    SyncStatus.objects.filter(pk=status.pk).update(
        paused_until=until,
        failure_count=status.failure_count + 1,
        last_error=str(error)[:500],
        last_error_at=timezone.now(),
    )
    return Result(Outcome.PAUSED, retry_at=until)


def _record_error(status: SyncStatus, error: str) -> None:
    SyncStatus.objects.filter(pk=status.pk).update(
        failure_count=status.failure_count + 1,
        last_error=error[:500],
        last_error_at=timezone.now(),
    )


def _record_success(status: SyncStatus) -> None:
    SyncStatus.objects.filter(pk=status.pk).update(
        failure_count=0, paused_until=None, last_error=""
    )


def push_received(*, account: GmailAccount, history_id: int) -> None:
    """Record a push notification's hint: when, and the newest historyId announced."""
    updated = SyncStatus.objects.filter(account=account).update(
        last_push_at=timezone.now(),
        last_push_history_id=Greatest(Coalesce("last_push_history_id", 0), Value(history_id)),
    )
    if not updated:
        SyncStatus.objects.get_or_create(
            account=account,
            defaults={"last_push_at": timezone.now(), "last_push_history_id": history_id},
        )


# --- watches ---------------------------------------------------------------------------


def watch_register(*, account: GmailAccount) -> GmailWatch:
    """users.watch on GMAIL_PUBSUB_TOPIC; records the expiration or the failure."""
    watch, _ = GmailWatch.objects.get_or_create(
        account=account, defaults={"topic": settings.GMAIL_PUBSUB_TOPIC}
    )
    try:
        if not settings.GMAIL_PUBSUB_TOPIC:
            raise PermanentError("GMAIL_PUBSUB_TOPIC is not set", status=0)
        gmail = gmail_client(account)
        response = gmail.call(
            "watch",
            gmail.users.watch(
                userId="me",
                body={"topicName": settings.GMAIL_PUBSUB_TOPIC, "labelFilterBehavior": "exclude"},
            ),
        )
    except (RetryLater, PermanentError, NeedsReconnect) as error:
        watch.last_error = str(error)[:500] or type(error).__name__
        watch.last_error_at = timezone.now()
        watch.save(update_fields=["last_error", "last_error_at"])
        raise
    watch.topic = settings.GMAIL_PUBSUB_TOPIC
    watch.history_id = int(response["historyId"])
    watch.expiration = dt.datetime.fromtimestamp(int(response["expiration"]) / 1000, tz=dt.UTC)
    watch.last_renewed_at = timezone.now()
    watch.last_error = ""
    watch.save()
    return watch


def watch_stop(*, account: GmailAccount) -> None:
    gmail = gmail_client(account)
    gmail.call("stop", gmail.users.stop(userId="me"))
    GmailWatch.objects.filter(account=account).delete()
