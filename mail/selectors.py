"""Reads of the mailbox mirror. Every read is scoped to a user: pass the user, always."""

import datetime as dt

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import User
from mail.models import Attachment, Label, Message, MessageLabel, OutboxAction, Thread, ThreadLabel

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
) -> QuerySet[ThreadLabel]:
    """ThreadLabel rows (with their thread) of `user`, newest first, lazily.

    Either `label_gmail_id` (e.g. "INBOX": that label in every account of the user, the
    unified view) or `label` (one label of one account). `before` is the keyset cursor
    `(last_message_at, thread_id)` of the last row of the previous page.

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
    # Only the thread: the page names accounts from the user's account list it has already.
    return rows.select_related("thread").order_by("-last_message_at", "-thread_id")


def thread_of_user(*, user: User, thread_id: int) -> Thread:
    """The user's own thread, or 404: other people's threads do not exist for them."""
    return get_object_or_404(
        Thread.objects.select_related("account"), pk=thread_id, account__user=user
    )


def thread_messages(*, user: User, thread: Thread) -> list[Message]:
    """The thread's messages, oldest first, each with `is_unread` and its attachments,
    in two queries whatever the thread's length."""
    unread = MessageLabel.objects.filter(message=OuterRef("pk"), label__gmail_id="UNREAD")
    return list(
        Message.objects.filter(thread=thread, account__user=user)
        .annotate(is_unread=Exists(unread))
        .prefetch_related(Prefetch("attachments", queryset=Attachment.objects.order_by("part_id")))
        .order_by("internal_date", "id")
    )


def thread_labels(*, user: User, thread: Thread) -> list[Label]:
    """The labels the thread carries, as chips: system ones first, then by name."""
    return list(
        Label.objects.filter(thread_labels__thread=thread, account__user=user).order_by(
            "type", "name"
        )
    )


def failed_actions(*, user: User) -> list[OutboxAction]:
    """The user's actions Gmail refused for good, newest first, to show them why."""
    return list(
        OutboxAction.objects.filter(account__user=user, state=OutboxAction.State.FAILED)
        .select_related("account")
        .order_by("-id")[:20]
    )


def failed_action_for_user(*, user: User, action_id: int) -> OutboxAction:
    return get_object_or_404(
        OutboxAction, pk=action_id, account__user=user, state=OutboxAction.State.FAILED
    )
