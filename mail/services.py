"""Every change a user makes to their mail. Each one changes the mirror at once (the page
shows it immediately) and queues the same change for Gmail in the account's outbox,
which sync/outbox.py writes back in order until Gmail accepts it.

Each kind of action is declared in the table of mail/actions.py. To add one: its entry
there, a function here (copy `thread_archive`), a test; a page then gets the thread
through `mail.selectors.thread_of_user` and calls the function.
"""

import base64
import datetime as dt
import email.message
import email.utils
from collections.abc import Iterable, Sequence

from django.db import transaction

from accounts.models import GmailAccount, User
from mail import mirror
from mail.actions import ACTIONS, ActionNotAllowed, Call, Kind
from mail.labels import label_change_problem
from mail.models import Message, Mute, OutboxAction, Snooze, Thread, ThreadLabel, TrustedSender
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
    """Also ends a snooze: a snoozed thread back in the inbox is not snoozed any more."""
    with transaction.atomic():
        Snooze.objects.filter(thread=thread).delete()
        return _act_on_thread(thread, Kind.MOVE_TO_INBOX)


def thread_spam(*, thread: Thread) -> OutboxAction:
    """Also ends a snooze, as trashing does: Gmail snoozes nothing in Spam or Trash."""
    with transaction.atomic():
        Snooze.objects.filter(thread=thread).delete()
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
    """Also ends a snooze (see thread_spam)."""
    with transaction.atomic():
        Snooze.objects.filter(thread=thread).delete()
        return _act_on_thread(thread, Kind.TRASH)


def thread_untrash(*, thread: Thread) -> OutboxAction:
    return _act_on_thread(thread, Kind.UNTRASH)


def thread_delete_forever(*, thread: Thread) -> OutboxAction:
    """Raises ActionNotAllowed unless the account granted the full Gmail scope
    (`GmailAccount.can_delete_forever` says whether to offer it)."""
    return _act_on_thread(thread, Kind.DELETE)


def thread_snooze(*, thread: Thread, until: dt.datetime) -> OutboxAction:
    """Out of the inbox until `until` (snoozing again moves the time); Tern keeps the
    time, Gmail gets the archive, and `snoozes_wake` brings it back."""
    with transaction.atomic():
        Snooze.objects.update_or_create(thread=thread, defaults={"until": until})
        return _act_on_thread(thread, Kind.ARCHIVE)


def thread_unsnooze(*, thread: Thread) -> OutboxAction:
    """Back to the inbox now."""
    return thread_move_to_inbox(thread=thread)


def snooze_forget(*, thread: Thread) -> None:
    """The snooze's time is dropped; where the thread is stays as it is (Undo of a
    snooze drops it, then puts the labels back)."""
    Snooze.objects.filter(thread=thread).delete()


WAKE_BATCH = 100


def snoozes_wake(*, now: dt.datetime) -> int:
    """Bring back every snoozed thread whose time has come, however late (a missed
    beat, Tern down at that moment): to the inbox, unread, through the outbox. Each
    snooze is taken under a row lock that concurrent runs skip, and deleted in the same
    transaction as its actions, so a thread comes back once. Returns how many came back."""
    returned = 0
    while True:
        with transaction.atomic():
            due = list(
                Snooze.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("thread__account")
                .filter(until__lte=now)
                .order_by("until", "pk")[:WAKE_BATCH]
            )
            # Trashed or marked spam since (here or in Gmail): the snooze just ends.
            binned = set(
                ThreadLabel.objects.filter(
                    thread_id__in=[s.thread_id for s in due], label_gmail_id__in=("TRASH", "SPAM")
                ).values_list("thread_id", flat=True)
            )
            for snooze in due:
                snooze.delete()
                if snooze.thread_id in binned:
                    continue
                _act_on_thread(snooze.thread, Kind.MOVE_TO_INBOX)
                _act_on_thread(snooze.thread, Kind.UNREAD)
                returned += 1
        if len(due) < WAKE_BATCH:
            return returned


def thread_mute(*, thread: Thread) -> OutboxAction:
    """Archived now, and again whenever new mail arrives in it (`threads_got_mail`)."""
    with transaction.atomic():
        Mute.objects.get_or_create(thread=thread)
        return _act_on_thread(thread, Kind.ARCHIVE)


def thread_unmute(*, thread: Thread) -> None:
    Mute.objects.filter(thread=thread).delete()


def threads_got_mail(*, account: GmailAccount, gmail_ids: Iterable[str]) -> None:
    """Sync stored these messages (new mail, mostly). A muted thread they put in the
    inbox leaves it again; a snoozed thread they put there has come back early, as in
    Gmail, and is no longer snoozed. Two queries when nothing is muted or snoozed."""
    thread_ids = Message.objects.filter(account=account, gmail_id__in=list(gmail_ids)).values(
        "thread_id"
    )
    in_inbox = ThreadLabel.objects.filter(thread_id__in=thread_ids, label_gmail_id="INBOX").values(
        "thread_id"
    )
    for thread in Thread.objects.filter(pk__in=in_inbox, mute__isnull=False).select_related(
        "account"
    ):
        _act_on_thread(thread, Kind.ARCHIVE)
    Snooze.objects.filter(thread_id__in=in_inbox).delete()


def sender_trust(*, user: User, address: str) -> None:
    """Always show images from `address` (lowercased), for this user."""
    TrustedSender.objects.get_or_create(user=user, address=address.strip().lower())


def sender_forget(*, sender: TrustedSender) -> None:
    sender.delete()


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
