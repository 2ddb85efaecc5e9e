"""Every change a user makes to their mail. Each one changes the mirror at once (the page
shows it immediately) and queues the same change for Gmail in the account's outbox,
which sync/outbox.py writes back in order until Gmail accepts it.

Each kind of action is declared in the table of mail/actions.py. To add one: its entry
there, a function here (copy `thread_archive`), a test; a page then gets the thread
through `mail.selectors.thread_of_user` and calls the function.
"""

import base64
import email.message
import email.utils
from collections.abc import Sequence

from django.db import transaction

from accounts.models import GmailAccount
from mail import mirror
from mail.actions import ACTIONS, ActionNotAllowed, Call, Kind
from mail.labels import label_change_problem
from mail.models import Message, OutboxAction, Thread
from mail.signals import outbox_action_queued


def thread_mark_read(*, thread: Thread) -> OutboxAction:
    return _act_on_thread(thread, Kind.READ)


def thread_mark_unread(*, thread: Thread) -> OutboxAction:
    return _act_on_thread(thread, Kind.UNREAD)


def thread_star(*, thread: Thread) -> OutboxAction:
    return _act_on_thread(thread, Kind.STAR)


def thread_unstar(*, thread: Thread) -> OutboxAction:
    return _act_on_thread(thread, Kind.UNSTAR)


def thread_mark_important(*, thread: Thread) -> OutboxAction:
    return _act_on_thread(thread, Kind.IMPORTANT)


def thread_mark_not_important(*, thread: Thread) -> OutboxAction:
    return _act_on_thread(thread, Kind.NOT_IMPORTANT)


def thread_archive(*, thread: Thread) -> OutboxAction:
    return _act_on_thread(thread, Kind.ARCHIVE)


def thread_move_to_inbox(*, thread: Thread) -> OutboxAction:
    return _act_on_thread(thread, Kind.MOVE_TO_INBOX)


def thread_spam(*, thread: Thread) -> OutboxAction:
    return _act_on_thread(thread, Kind.SPAM)


def thread_not_spam(*, thread: Thread) -> OutboxAction:
    return _act_on_thread(thread, Kind.NOT_SPAM)


def thread_labels_change(
    *, thread: Thread, add: Sequence[str] = (), remove: Sequence[str] = ()
) -> OutboxAction:
    """Add and remove the user's choice of labels; ValueError says why Gmail would refuse."""
    problem = label_change_problem(add, remove)
    if problem:
        raise ValueError(problem)
    return _act_on_thread(thread, Kind.LABELS, add=add, remove=remove)


def thread_trash(*, thread: Thread) -> OutboxAction:
    return _act_on_thread(thread, Kind.TRASH)


def thread_untrash(*, thread: Thread) -> OutboxAction:
    return _act_on_thread(thread, Kind.UNTRASH)


def thread_delete_forever(*, thread: Thread) -> OutboxAction:
    """Raises ActionNotAllowed unless the account granted the full Gmail scope
    (`GmailAccount.can_delete_forever` says whether to offer it)."""
    return _act_on_thread(thread, Kind.DELETE)


def message_send(
    *, account: GmailAccount, message: email.message.EmailMessage, thread: Thread | None = None
) -> OutboxAction:
    """Queue an email.message.EmailMessage for sending from `account`.

    It gets a Message-ID here, so that a send retried after a crash can find out
    whether Gmail already has it instead of sending it twice.
    """
    if not message["Message-ID"]:
        message["Message-ID"] = email.utils.make_msgid(domain=account.email.split("@")[-1])
    if not message["From"]:
        message["From"] = account.email
    raw = base64.urlsafe_b64encode(message.as_bytes()).decode()
    return _act(account, Kind.SEND, [], raw=raw, thread_gmail_id=thread.gmail_id if thread else "")


def _act_on_thread(
    thread: Thread, kind: Kind, *, add: Sequence[str] = (), remove: Sequence[str] = ()
) -> OutboxAction:
    messages = thread.messages.all()
    if ACTIONS[kind].call == Call.BATCH_MODIFY:
        # Gmail refuses to label a draft (the whole batch with it); a draft keeps DRAFT only.
        messages = messages.exclude(labels__gmail_id="DRAFT")
    if ACTIONS[kind].newest_message_only:
        messages = messages.order_by("-internal_date", "-id")[:1]
    return _act(thread.account, kind, list(messages), add=add, remove=remove)


def _act(
    account: GmailAccount,
    kind: Kind,
    messages: list[Message],
    *,
    add: Sequence[str] = (),
    remove: Sequence[str] = (),
    raw: str = "",
    thread_gmail_id: str = "",
) -> OutboxAction:
    spec = ACTIONS[kind]
    if not spec.allowed_with(account.granted_scopes):
        raise ActionNotAllowed(spec.not_allowed)
    action = OutboxAction(
        account=account,
        kind=kind,
        message_ids=[m.gmail_id for m in messages],
        add_label_ids=[*spec.add, *add],
        remove_label_ids=[*spec.remove, *remove],
        raw=raw,
        thread_gmail_id=thread_gmail_id,
    )
    with transaction.atomic():
        action.save()
        mirror.action_apply(account=account, action=action)
        # sync's receiver queues the flush, after commit.
        outbox_action_queued.send(sender=OutboxAction, account_id=account.pk)
    return action


def failed_action_dismiss(*, action: OutboxAction) -> None:
    """The user has read why Gmail refused an action; forget it."""
    action.delete()
