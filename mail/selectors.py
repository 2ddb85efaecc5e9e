"""Reads of the mailbox mirror. Every read is scoped to a user: pass the user, always."""

import datetime as dt
import functools
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
)
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse

from accounts.models import GmailAccount, User
from mail.actions import ACTIONS, Kind
from mail.addresses import sender_of
from mail.mirror_version import mirror_versions
from mail.models import (
    Attachment,
    Draft,
    DraftAttachment,
    Label,
    Message,
    MessageLabel,
    OutboxAction,
    Thread,
    ThreadLabel,
    TrustedSender,
)

PAGE_SIZE = 50

# The keyset cursor of a thread list: (last_message_at, thread id) of a page's last row.
type Cursor = tuple[dt.datetime, int]


def thread_list(
    *,
    user: User,
    label_gmail_id: str | None = None,
    label: Label | None = None,
    before: Cursor | None = None,
    limit: int = PAGE_SIZE,
) -> list[Thread]:
    """The newest threads carrying a label, newest first, in one query.

    Each thread's snippet, unread state and last message time are its row in this list
    (ThreadLabel's): what the label's messages say, not what the whole thread says.
    """
    rows = threads_with_label(user=user, label_gmail_id=label_gmail_id, label=label, before=before)
    return [_as_listed(row) for row in rows[:limit]]


def _as_listed(row: ThreadLabel) -> Thread:
    thread = row.thread
    thread.snippet = row.snippet
    thread.is_unread = row.is_unread
    thread.last_message_at = row.last_message_at
    return thread


def threads_with_label(
    *,
    user: User,
    label_gmail_id: str | None = None,
    label: Label | None = None,
    before: Cursor | None = None,
    after: Cursor | None = None,
) -> QuerySet[ThreadLabel]:
    """ThreadLabel rows (with their thread) of `user`, newest first, lazily.

    Either `label_gmail_id` (e.g. "INBOX": that label in every account of the user, the
    unified view) or `label` (one label of one account). `before` is the keyset cursor
    `(last_message_at, thread_id)` of the last row of the previous page; `after` the
    cursor of the first row of the next (newer) page, which then comes oldest first.

    The query starts from ThreadLabel and orders by its own indexed columns, so the
    database walks one index and stops after a page instead of sorting every thread
    that carries the label.
    """
    if (label is None) == (label_gmail_id is None):
        raise ValueError("Pass exactly one of label and label_gmail_id.")
    rows = ThreadLabel.objects.filter(user=user)
    if label is not None:
        rows = rows.filter(label=label)
    else:
        rows = rows.filter(label_gmail_id=label_gmail_id)
    if before is not None:
        at, thread_id = before
        rows = rows.filter(
            Q(last_message_at__lt=at) | Q(last_message_at=at, thread_id__lt=thread_id)
        )
    if after is not None:
        at, thread_id = after
        rows = rows.filter(
            Q(last_message_at__gt=at) | Q(last_message_at=at, thread_id__gt=thread_id)
        )
        # Only the thread: the page names accounts from the user's account list it has.
        return rows.select_related("thread").order_by("last_message_at", "thread_id")
    return rows.select_related("thread").order_by("-last_message_at", "-thread_id")


# Gmail's own lists, in the order its sidebar shows them. "SNOOZED" and "ALL" are not
# labels at Gmail: All mail is every thread, Snoozed is Tern's (not built yet: empty).
SYSTEM_FOLDERS: tuple[tuple[str, str], ...] = (
    ("INBOX", "Inbox"),
    ("STARRED", "Starred"),
    ("SNOOZED", "Snoozed"),
    ("IMPORTANT", "Important"),
    ("SENT", "Sent"),
    ("DRAFT", "Drafts"),
    ("ALL", "All mail"),
    ("SPAM", "Spam"),
    ("TRASH", "Trash"),
)
FOLDER_NAMES = dict(SYSTEM_FOLDERS)
NOT_LABELS = frozenset({"SNOOZED", "ALL"})
# Lists whose unread count Gmail's sidebar leaves out (and so does the count query).
UNCOUNTED = ("SENT", "TRASH", "STARRED", "IMPORTANT", "UNREAD", "CHAT")
MAX_SENDERS = 3


# The marker of each account in lists of every account, in the order they were added.
ACCOUNT_COLORS = ("#1a73e8", "#c5221f", "#188038", "#b06000", "#9334e6", "#007b83")


def account_color(index: int) -> str:
    return ACCOUNT_COLORS[index % len(ACCOUNT_COLORS)]


@dataclass
class Chip:
    name: str
    color: str


@dataclass(frozen=True)
class Sender:
    name: str
    is_me: bool = False


@dataclass
class Row:
    """A thread as a list shows it: the thread (its snippet, unread state and time are
    the list's, ThreadLabel's), its account, user-label chips, senders."""

    thread: Thread
    account: GmailAccount | None = None
    color: str = ""
    chips: list[Chip] = field(default_factory=list)
    senders: list[Sender] = field(default_factory=list)
    is_important: bool = False
    url: str = ""  # the thread page's


@dataclass
class ThreadPage:
    """One page of a thread list, newest first, with the cursors of its neighbours."""

    rows: list[Row]
    newer: Cursor | None = None
    older: Cursor | None = None


@dataclass
class SidebarLabel:
    label: Label
    depth: int
    short_name: str
    unread: int = 0
    url: str = ""
    current: bool = False


@dataclass(frozen=True)
class FailedAction:
    """An action Gmail refused for good, as the lists' banner tells of it."""

    pk: int
    kind: str  # as shown: "Archive"
    account_email: str
    last_error: str


@dataclass
class Sidebar:
    """What every mail page shows around its content, kept in the cache under the
    mirror versions of the user's accounts: the lists' unread counts, the user labels,
    and the actions Gmail refused (mail.services and sync.outbox renew the versions
    when one is refused or dismissed)."""

    unread: dict[tuple[int | None, str], int] = field(default_factory=dict)
    user_labels: dict[int, list[SidebarLabel]] = field(default_factory=dict)
    failed_actions: list[FailedAction] = field(default_factory=list)

    def unread_in(self, account_id: int | None, gmail_id: str) -> int:
        """Unread threads of a list: one account's, or every account's (None)."""
        return self.unread.get((account_id, gmail_id), 0)


def thread_page(
    *,
    user: User,
    accounts: Sequence[GmailAccount],
    folder: str,
    account: GmailAccount | None = None,
    label: Label | None = None,
    before: Cursor | None = None,
    after: Cursor | None = None,
    limit: int = PAGE_SIZE,
) -> ThreadPage:
    """A page of the list `folder` (a label's Gmail id, or "ALL"/"SNOOZED") of one
    account, or of every account of the user when `account` is None; `label` is that
    account's Label when the folder is one. Three queries whatever the page or mailbox:
    the rows, their labels, their senders."""
    if folder in NOT_LABELS:  # ALL, SNOOZED
        ids = [account.pk] if account else [a.pk for a in accounts]
        rows = _all_mail(account_ids=ids, before=before, after=after, snoozed=folder == "SNOOZED")
        threads = list(rows[: limit + 1])
    else:
        listed = threads_with_label(
            user=user,
            label=label,
            label_gmail_id=None if label else folder,
            before=before,
            after=after,
        )
        threads = [_as_listed(row) for row in listed[: limit + 1]]
    return _paged(
        threads, accounts=accounts, folder=folder, after=after, before=before, limit=limit
    )


def _paged(
    threads: list[Thread],
    *,
    accounts: Sequence[GmailAccount],
    folder: str,
    before: Cursor | None,
    after: Cursor | None,
    limit: int,
) -> ThreadPage:
    """The page of `threads` (up to `limit` + 1, to tell whether there are more), with
    the cursors of its neighbours."""
    more = len(threads) > limit
    threads = threads[:limit]
    if after is not None:
        threads.reverse()
    page = ThreadPage(rows=_describe(threads, accounts=accounts, folder=folder))
    if threads:
        first, last = threads[0], threads[-1]
        went_newer = after is not None
        if (went_newer and more) or (not went_newer and before is not None):
            page.newer = (first.last_message_at, first.pk)
        if (not went_newer and more) or went_newer:
            page.older = (last.last_message_at, last.pk)
    return page


SEARCH_CAP = 2000  # matching messages


def search_page(
    *,
    accounts: Sequence[GmailAccount],
    matching: Q,
    before: Cursor | None = None,
    after: Cursor | None = None,
    limit: int = PAGE_SIZE,
) -> ThreadPage:
    """A page of the threads of `accounts` with a message matching `matching` (a Q on
    Message, mail.search's), newest first, keyset-paginated like every list.

    Two ways to the same rows, chosen by how much matches. When PostgreSQL expects at most
    SEARCH_CAP matching messages, their threads are read first, through the search
    indexes: a rare word is found at once instead of by probing every thread newest
    first. When it expects more, or more turn up, the query matches so much that walking
    the threads newest first meets 50 matches at once, so it walks; reading the first
    SEARCH_CAP matches of a common phrase would cost more than the whole walk."""
    account_ids = [a.pk for a in accounts]
    matched = Message.objects.filter(matching, account_id__in=account_ids).order_by()
    walk = _estimated_rows(matched) > SEARCH_CAP
    if not walk:
        # No DISTINCT and no order: PostgreSQL stops at the cap instead of reading all.
        found = list(matched.values_list("thread_id", flat=True)[: SEARCH_CAP + 1])
        walk = len(found) > SEARCH_CAP
    if not walk:
        rows = Thread.objects.filter(pk__in=set(found))
    else:
        messages = Message.objects.filter(matching, thread=OuterRef("pk"))
        rows = Thread.objects.filter(Exists(messages), account_id__in=account_ids)
    page_rows = _keyset(rows, before=before, after=after)[: limit + 1]
    if walk and connection.vendor == "postgresql":
        # Parallel workers would take 20 ms of a 30 ms walk to start: it stops after 50
        # matches, long before they would pay off (bench search).
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
            threads = list(page_rows)
    else:
        threads = list(page_rows)
    return _paged(
        threads, accounts=accounts, folder="SEARCH", after=after, before=before, limit=limit
    )


def _estimated_rows(rows: QuerySet[Message]) -> float:
    """How many rows PostgreSQL expects `rows` to have (planned, not run: a millisecond).
    A query it expects to match more than SEARCH_CAP messages walks the threads at once:
    reading the first SEARCH_CAP of a common word or phrase costs more than the walk.
    Elsewhere (SQLite), 0: the matches are read first."""
    if connection.vendor != "postgresql":
        return 0.0
    plan = rows.explain(format="json")
    if not plan:  # a query Django knows matches nothing (no account): nothing to plan
        return 0.0
    return float(json.loads(plan)[0]["Plan"]["Plan Rows"])


def _all_mail(
    *, account_ids: list[int], before: Cursor | None, after: Cursor | None, snoozed: bool = False
) -> QuerySet[Thread]:
    """All mail (Gmail's: every thread with a message outside Trash and Spam), or the
    snoozed threads, newest first."""
    if snoozed:
        rows = Thread.objects.filter(account_id__in=account_ids, snooze__isnull=False)
        rows = rows.select_related("snooze")
    else:
        outside = Message.objects.filter(thread=OuterRef("pk")).exclude(
            Exists(
                MessageLabel.objects.filter(
                    message=OuterRef("pk"), label__gmail_id__in=("TRASH", "SPAM")
                )
            )
        )
        rows = Thread.objects.filter(Exists(outside), account_id__in=account_ids)
    return _keyset(rows, before=before, after=after)


def _keyset(
    rows: QuerySet[Thread], *, before: Cursor | None, after: Cursor | None
) -> QuerySet[Thread]:
    """Threads after `before` or before `after` (a page's neighbours), in list order."""
    if before is not None:
        at, thread_id = before
        rows = rows.filter(Q(last_message_at__lt=at) | Q(last_message_at=at, id__lt=thread_id))
    if after is not None:
        at, thread_id = after
        rows = rows.filter(Q(last_message_at__gt=at) | Q(last_message_at=at, id__gt=thread_id))
        return rows.order_by("last_message_at", "id")
    return rows.order_by("-last_message_at", "-id")


def _describe(threads: list[Thread], *, accounts: Sequence[GmailAccount], folder: str) -> list[Row]:
    """What each row shows beyond its thread: its account, label chips, the Important
    marker and its senders ("me" for the account's own address). Two queries."""
    if not threads:
        return []
    account_of = {account.pk: (account, account_color(n)) for n, account in enumerate(accounts)}
    # One reverse() for the page, not one per row: /mail/thread/<id>/.
    thread_url = reverse("mail:thread", args=[0]).removesuffix("0/")
    rows = {}
    for thread in threads:
        account, color = account_of.get(thread.account_id, (None, ""))
        url = f"{thread_url}{thread.pk}/"
        rows[thread.pk] = Row(thread=thread, account=account, color=color, url=url)
    # Only what a row shows: user labels (chips) and Important, as plain values.
    carried = (
        ThreadLabel.objects.filter(thread_id__in=rows)
        .filter(Q(label__type=Label.Type.USER) | Q(label_gmail_id="IMPORTANT"))
        .values_list("thread_id", "label_gmail_id", "label__name", "label__background_color")
        .order_by("label__name")
    )
    for thread_id, gmail_id, name, color in carried:
        row = rows[thread_id]
        if gmail_id == "IMPORTANT":
            row.is_important = True
        elif gmail_id != folder:
            row.chips.append(Chip(name=name, color=color))
    senders = (
        Message.objects.filter(thread_id__in=rows)
        .values("thread_id", "sender")
        .annotate(last=Max("internal_date"))
        .order_by("thread_id", "last")
    )
    for message in senders:
        row = rows[message["thread_id"]]
        own = row.account.email.lower() if row.account else ""
        sender = _sender(message["sender"], own=own)
        if sender and sender not in row.senders:
            row.senders.append(sender)
    for row in rows.values():
        row.senders = row.senders[-MAX_SENDERS:]
    return list(rows.values())


# The same people write again and again: parse each From header once per process.
@functools.lru_cache(maxsize=8192)
def _sender(header: str, *, own: str) -> Sender | None:
    name, address = sender_of(header[:512])
    if address and address.lower() == own:
        return Sender(name="me", is_me=True)
    shown = (name or address.split("@")[0]).strip()
    return Sender(name=shown) if shown else None


SIDEBAR_TTL_S = 10 * 60


def sidebar(
    *, user: User, accounts: Sequence[GmailAccount], versions: Sequence[str] | None = None
) -> Sidebar:
    """The user labels of each account, nested by "/", and the unread threads of every
    list, per account and summed over the accounts. From the cache while none of the
    accounts' mirrors changed (mail.mirror_version: two cache round trips, no query),
    else made in three queries and kept. `versions`: the accounts' mirror versions, when
    read already."""
    ids = [account.pk for account in accounts]
    if versions is None:
        versions = mirror_versions(ids)
    made_of = json.dumps([user.pk, ids, list(versions)])
    key = f"mail:sidebar:{hashlib.sha256(made_of.encode()).hexdigest()}"
    bar = cache.get(key)
    if bar is None:
        bar = _sidebar_made(user=user, accounts=accounts)
        cache.set(key, bar, SIDEBAR_TTL_S)
    return bar


def _sidebar_made(*, user: User, accounts: Sequence[GmailAccount]) -> Sidebar:
    bar = Sidebar()
    ids = [account.pk for account in accounts]
    labels = Label.objects.filter(account_id__in=ids, type=Label.Type.USER).order_by(
        "account_id", "name"
    )
    entries: dict[int, SidebarLabel] = {}
    for label in labels:
        if label.label_list_visibility == "labelHide":
            continue
        parts = label.name.split("/")
        entry = SidebarLabel(label=label, depth=min(len(parts) - 1, 3), short_name=parts[-1])
        bar.user_labels.setdefault(label.account_id, []).append(entry)
        entries[label.pk] = entry
    counts = (
        ThreadLabel.objects.filter(user=user, is_unread=True)
        .exclude(label_gmail_id__in=UNCOUNTED)
        .values("label_id", "label_gmail_id", "label__account_id")
        .annotate(unread=Count("label_id"))  # in the index: no visit to the table
    )
    totals: dict[tuple[int | None, str], int] = defaultdict(int)
    for row in counts:
        gmail_id, unread = row["label_gmail_id"], row["unread"]
        totals[(row["label__account_id"], gmail_id)] += unread
        totals[(None, gmail_id)] += unread
        if row["label_id"] in entries:
            entries[row["label_id"]].unread = unread
    bar.unread = dict(totals)
    refused = (
        OutboxAction.objects.filter(account__user=user, state=OutboxAction.State.FAILED)
        .order_by("-id")
        .values_list("pk", "kind", "account__email", "last_error")[:FAILED_SHOWN]
    )
    bar.failed_actions = [
        FailedAction(pk=pk, kind=ACTIONS[Kind(kind)].title, account_email=email, last_error=error)
        for pk, kind, email, error in refused
    ]
    return bar


def label_of_user(*, user: User, account: GmailAccount, gmail_id: str) -> Label:
    """The label `gmail_id` of one of the user's accounts, or 404."""
    return get_object_or_404(Label, account=account, account__user=user, gmail_id=gmail_id)


def label_in_any_account(*, user: User, gmail_id: str) -> Label:
    """The label `gmail_id` in the first of the user's accounts that has it (a list of
    every account names itself after it), or 404."""
    label = (
        Label.objects.filter(account__user=user, gmail_id=gmail_id).order_by("account_id").first()
    )
    if label is None:
        raise Http404
    return label


def thread_of_user(*, user: User, thread_id: int) -> Thread:
    """The user's own thread, or 404: other people's threads do not exist for them."""
    return get_object_or_404(
        Thread.objects.select_related("account", "mute", "snooze"), pk=thread_id, account__user=user
    )


def threads_of_user(*, user: User, thread_ids: Sequence[int]) -> list[Thread]:
    """Those of `thread_ids` that are the user's own threads (others' are left out)."""
    return list(
        Thread.objects.select_related("account")
        .filter(pk__in=thread_ids, account__user=user)
        .order_by("pk")
    )


def user_labels_of_user(*, user: User, label_ids: Sequence[int]) -> list[Label]:
    """Those of `label_ids` that are user labels of the user's own accounts."""
    return list(Label.objects.filter(pk__in=label_ids, account__user=user, type=Label.Type.USER))


def user_label_of_user(*, user: User, label_id: int) -> Label:
    """A user label (not a system one) of the user's own accounts, or 404."""
    return get_object_or_404(
        Label.objects.select_related("account"),
        pk=label_id,
        account__user=user,
        type=Label.Type.USER,
    )


def user_labels_by_account(*, user: User) -> dict[int, list[Label]]:
    """The user labels of each of the user's accounts, by name (so nested ones follow
    their parent)."""
    by_account: dict[int, list[Label]] = {}
    labels = Label.objects.filter(account__user=user, type=Label.Type.USER)
    for label in labels.order_by("account_id", "name"):
        by_account.setdefault(label.account_id, []).append(label)
    return by_account


def message_of_user(*, user: User, message_id: int) -> Message:
    """The user's own message (with its thread), or 404."""
    return get_object_or_404(
        Message.objects.select_related("thread"), pk=message_id, account__user=user
    )


def trusted_senders_of_user(*, user: User) -> list[TrustedSender]:
    return list(TrustedSender.objects.filter(user=user))


def trusted_sender_of_user(*, user: User, sender_id: int) -> TrustedSender:
    return get_object_or_404(TrustedSender, pk=sender_id, user=user)


def trusted_addresses(*, user: User, addresses: Iterable[str]) -> set[str]:
    """Those of `addresses` (lowercase) whose images the user always wants shown."""
    wanted = {address.lower() for address in addresses if address}
    if not wanted:
        return set()
    rows = TrustedSender.objects.filter(user=user, address__in=wanted)
    return set(rows.values_list("address", flat=True))


def attachment_of_user(*, user: User, attachment_id: int) -> Attachment:
    """The user's own attachment (with its message and account), or 404."""
    return get_object_or_404(
        Attachment.objects.select_related("message__account"),
        pk=attachment_id,
        message__account__user=user,
    )


MESSAGE_BODIES = ("body_text", "body_html", "body_html_safe", "body_html_safe_version")


def thread_messages(*, user: User, thread: Thread) -> list[Message]:
    """The thread's messages, oldest first, each with `is_unread`, `is_draft`, `has_html`
    and its attachments, in two queries whatever the thread's length. Without their
    bodies, which the thread page takes from its cache: `message_bodies_load` brings
    those of the messages it must render."""
    unread = MessageLabel.objects.filter(message=OuterRef("pk"), label__gmail_id="UNREAD")
    draft = MessageLabel.objects.filter(message=OuterRef("pk"), label__gmail_id="DRAFT")
    return list(
        Message.objects.filter(thread=thread, account__user=user)
        .defer(*MESSAGE_BODIES)
        .annotate(
            is_unread=Exists(unread),
            is_draft=Exists(draft),
            has_html=ExpressionWrapper(~Q(body_html=""), output_field=BooleanField()),
        )
        .prefetch_related(Prefetch("attachments", queryset=Attachment.objects.order_by("part_id")))
        .order_by("internal_date", "id")
    )


def message_bodies_load(messages: Sequence[Message]) -> None:
    """The bodies of `messages` (of thread_messages, so the user's), in one query."""
    bodies = Message.objects.filter(pk__in=[m.pk for m in messages]).values("pk", *MESSAGE_BODIES)
    by_pk = {row.pop("pk"): row for row in bodies}
    gone = dict.fromkeys(MESSAGE_BODIES, "") | {"body_html_safe_version": 0}
    for message in messages:
        # A message deleted meanwhile (by a sync) shows empty, this once.
        for name, value in by_pk.get(message.pk, gone).items():
            setattr(message, name, value)


def thread_labels(*, user: User, thread: Thread) -> list[Label]:
    """Every label of the thread's account, each with `on` (whether the thread carries
    it), system ones first, then by name: the page's chips and its label menu in one
    query."""
    on = ThreadLabel.objects.filter(thread=thread, label=OuterRef("pk"))
    return list(
        Label.objects.filter(account=thread.account_id, account__user=user)
        .annotate(on=Exists(on))
        .order_by("type", "name")
    )


FAILED_SHOWN = 20


def failed_action_for_user(*, user: User, action_id: int) -> OutboxAction:
    return get_object_or_404(
        OutboxAction, pk=action_id, account__user=user, state=OutboxAction.State.FAILED
    )


def draft_of_user(*, user: User, draft_id: int) -> Draft:
    """The user's own draft (with its account, thread and files), or 404."""
    return get_object_or_404(
        Draft.objects.select_related("account", "thread").prefetch_related(
            Prefetch("attachments", queryset=DraftAttachment.objects.defer("data"))
        ),
        pk=draft_id,
        account__user=user,
    )


def draft_attachment_of_user(*, user: User, attachment_id: int) -> DraftAttachment:
    return get_object_or_404(
        DraftAttachment.objects.defer("data").select_related("draft"),
        pk=attachment_id,
        draft__account__user=user,
    )


def scheduled_drafts(*, user: User) -> list[Draft]:
    """Messages waiting for the time they are scheduled for, soonest first."""
    return list(
        Draft.objects.filter(account__user=user, state=Draft.State.QUEUED, scheduled=True)
        .select_related("account")
        .order_by("send_at", "id")
    )


def late_sends(*, user: User) -> list[Draft]:
    """Scheduled messages that went later than their time (Tern was down then)."""
    return list(
        Draft.objects.filter(account__user=user, state=Draft.State.SENT)
        .select_related("account")
        .order_by("-sent_at")[:20]
    )


def drafts_by_gmail_message(*, user: User, gmail_ids: Iterable[str]) -> dict[str, Draft]:
    """Tern's drafts among these Gmail messages (a draft in the Drafts list that Tern
    can reopen, or one waiting to be sent), by the Gmail message id of the version saved
    last."""
    wanted = [gid for gid in gmail_ids if gid]
    if not wanted:
        return {}
    rows = Draft.objects.filter(
        account__user=user,
        state__in=[Draft.State.EDITING, Draft.State.QUEUED],
        gmail_message_id__in=wanted,
    )
    return {draft.gmail_message_id: draft for draft in rows}


def own_addresses(*, user: User) -> set[str]:
    """The user's addresses, lowercase: every connected account's."""
    return {
        a.lower() for a in GmailAccount.objects.filter(user=user).values_list("email", flat=True)
    }
