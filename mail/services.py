"""Every change a user makes to their mail. Each one changes the mirror at once (the page
shows it immediately) and queues the same change for Gmail in the account's outbox,
which sync/outbox.py writes back in order until Gmail accepts it.

To add an action, copy `thread_archive`: a named function here, a view that fetches the
thread through `mail.selectors.thread_for_user` and calls it, a URL, a button, a test.
"""

import base64
import email.utils

from django.db import transaction

from mail import mirror
from mail.models import OutboxAction

Kind = OutboxAction.Kind


def thread_mark_read(*, thread):
    return _modify(thread, remove=["UNREAD"])


def thread_mark_unread(*, thread):
    return _modify(thread, add=["UNREAD"])


def thread_star(*, thread):
    # Gmail stars a conversation by starring its newest message.
    newest = thread.messages.order_by("-internal_date", "-id")[:1]
    return _act(thread.account, Kind.MODIFY, list(newest), add=["STARRED"])


def thread_unstar(*, thread):
    return _modify(thread, remove=["STARRED"])


def thread_archive(*, thread):
    return _modify(thread, remove=["INBOX"])


def thread_move_to_inbox(*, thread):
    return _modify(thread, add=["INBOX"])


def thread_spam(*, thread):
    return _modify(thread, add=["SPAM"], remove=["INBOX"])


def thread_not_spam(*, thread):
    return _modify(thread, add=["INBOX"], remove=["SPAM"])


def thread_labels_change(*, thread, add=(), remove=()):
    return _modify(thread, add=list(add), remove=list(remove))


def thread_trash(*, thread):
    return _act(thread.account, Kind.TRASH, list(thread.messages.all()))


def thread_untrash(*, thread):
    return _act(thread.account, Kind.UNTRASH, list(thread.messages.all()))


def thread_delete_forever(*, thread):
    return _act(thread.account, Kind.DELETE, list(thread.messages.all()))


def message_send(*, account, message, thread=None):
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


def _modify(thread, *, add=(), remove=()):
    return _act(thread.account, Kind.MODIFY, list(thread.messages.all()), add=add, remove=remove)


def _act(account, kind, messages, *, add=(), remove=(), raw="", thread_gmail_id=""):
    action = OutboxAction(
        account=account,
        kind=kind,
        message_ids=[m.gmail_id for m in messages],
        add_label_ids=list(add),
        remove_label_ids=list(remove),
        raw=raw,
        thread_gmail_id=thread_gmail_id,
    )
    with transaction.atomic():
        action.save()
        mirror.action_apply(account=account, action=action)
        transaction.on_commit(lambda: _flush_soon(account.pk))
    return action


def _flush_soon(account_id):
    from sync.tasks import outbox_flush_enqueue  # sync builds on mail's models

    outbox_flush_enqueue(account_id)


def failed_action_dismiss(*, action):
    """The user has read why Gmail refused an action; forget it."""
    action.delete()
