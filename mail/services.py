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
from dataclasses import asdict, dataclass, replace

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import GmailAccount, User
from mail import compose, mirror, sanitize
from mail.actions import ACTIONS, ActionNotAllowed, Call, Kind
from mail.labels import label_change_problem
from mail.mirror_version import mirror_changed
from mail.models import (
    Attachment,
    Draft,
    DraftAttachment,
    Message,
    Mute,
    OutboxAction,
    Snooze,
    Thread,
    ThreadLabel,
    TrustedSender,
)
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
        _snooze_end(thread)
        return _act_on_thread(thread, Kind.MOVE_TO_INBOX)


def thread_spam(*, thread: Thread) -> OutboxAction:
    """Also ends a snooze, as trashing does: Gmail snoozes nothing in Spam or Trash."""
    with transaction.atomic():
        _snooze_end(thread)
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
        _snooze_end(thread)
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
        mirror_changed(account_ids=[thread.account_id])  # the Snoozed list shows it
        return _act_on_thread(thread, Kind.ARCHIVE)


def thread_unsnooze(*, thread: Thread) -> OutboxAction:
    """Back to the inbox now."""
    return thread_move_to_inbox(thread=thread)


def _snooze_end(thread: Thread) -> None:
    """The thread is not snoozed any more (if it was): the Snoozed list, kept in the
    cache under the mirror's version, shows it at once."""
    if Snooze.objects.filter(thread=thread).delete()[0]:
        mirror_changed(account_ids=[thread.account_id])


def snooze_forget(*, thread: Thread) -> None:
    """The snooze's time is dropped; where the thread is stays as it is (Undo of a
    snooze drops it, then puts the labels back)."""
    _snooze_end(thread)


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
            mirror_changed(account_ids={snooze.thread.account_id for snooze in due})
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
        mirror_changed(account_ids=[thread.account_id])  # the kept thread page says muted
        return _act_on_thread(thread, Kind.ARCHIVE)


def thread_unmute(*, thread: Thread) -> None:
    Mute.objects.filter(thread=thread).delete()
    mirror_changed(account_ids=[thread.account_id])  # the kept thread page says muted


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
    if Snooze.objects.filter(thread_id__in=in_inbox).delete()[0]:
        mirror_changed(account_ids=[account.pk])


def sender_trust(*, user: User, address: str) -> None:
    """Always show images from `address` (lowercased), for this user."""
    TrustedSender.objects.get_or_create(user=user, address=address.strip().lower())
    _pages_changed(user)


def sender_forget(*, sender: TrustedSender) -> None:
    sender.delete()
    _pages_changed(sender.user)


def _pages_changed(user: User) -> None:
    """What the user's thread pages show changed, though no mirror did (whose images
    show): they are kept under the mirror versions of the user's accounts."""
    mirror_changed(account_ids=user.gmail_accounts.values_list("pk", flat=True))


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


@dataclass(frozen=True)
class Typed:
    """What the compose form holds: all of it is kept, whatever it is."""

    to: str = ""
    cc: str = ""
    bcc: str = ""
    subject: str = ""
    body_text: str = ""
    from_address: str = ""
    body_html: str = ""  # rich mode's, sanitised when kept

    @classmethod
    def of(cls, draft: Draft) -> "Typed":
        """What the draft holds, as the form shows it again."""
        return cls(**{name: getattr(draft, name) for name in cls.__dataclass_fields__})


class DraftBusy(Exception):
    """The draft is waiting to be sent: it changes only after Undo brings it back."""

    message_is_safe = True

    def __init__(self) -> None:
        super().__init__("This message is being sent. Undo the send to change it.")


def draft_create(
    *,
    account: GmailAccount,
    typed: Typed,
    start: compose.Start | None = None,
    thread: Thread | None = None,
    gmail_save: bool = True,
) -> Draft:
    """A new draft of `account` holding what was typed (a reply's or forward's `start`
    gives its mode, headers and forwarded files), saved to Gmail a moment later; not
    when `gmail_save` is False (it is about to be sent: `draft_send` or, if refused,
    `draft_save_soon`)."""
    with transaction.atomic():
        typed = _cleaned(typed)
        draft = Draft.objects.create(
            account=account,
            message_id=compose.new_message_id(account.email.rpartition("@")[2]),
            mode=start.mode if start else Draft.Mode.NEW,
            thread=thread,
            in_reply_to=start.in_reply_to if start else "",
            references=start.references if start else "",
            quoted_html=start.quoted_html if start else "",
            **asdict(typed),
        )
        if start:
            _files_carried(draft, start.forwarded)
        if gmail_save:
            _draft_save_queue(draft)
    return draft


def _files_carried(draft: Draft, files: Iterable[Attachment]) -> None:
    """Files of a message in the mirror, carried into the draft (a forward's, or those of
    a draft written elsewhere): their bytes stay at Gmail until the outbox needs them."""
    DraftAttachment.objects.bulk_create(
        DraftAttachment(
            draft=draft,
            filename=file.filename or "attachment",
            mime_type=file.mime_type,
            size=file.size,
            source=file,
            content_id=file.content_id,
        )
        for file in files
    )


def _cleaned(typed: Typed) -> Typed:
    """What was typed, rich mode's HTML through compose's allowlist."""
    if not typed.body_html:
        return typed
    return replace(typed, body_html=sanitize.compose_html(typed.body_html))


def draft_adopt(*, message: Message) -> Draft:
    """A draft written elsewhere (Gmail's web app, a phone), opened in Tern: a Tern
    draft holding everything in it, which saves back to the same Gmail draft (the outbox
    finds its draft id by the message's)."""
    with transaction.atomic():
        draft = Draft.objects.create(
            account=message.account,
            message_id=compose.new_message_id(message.account.email.rpartition("@")[2]),
            mode=Draft.Mode.REPLY if message.in_reply_to else Draft.Mode.NEW,
            thread=message.thread if message.thread.message_count > 1 else None,
            in_reply_to=message.in_reply_to,
            references=message.references,
            gmail_message_id=message.gmail_id,
            to=message.to,
            cc=message.cc,
            bcc=message.bcc,
            subject=message.subject,
            body_text=message.body_text,
            # Its formatting too, as far as compose's rich mode has it (bold, italic,
            # lists, links, quotes): it opens in rich mode.
            body_html=sanitize.compose_html(message.body_html) if message.body_html else "",
        )
        _files_carried(draft, message.attachments.all())
    return draft


def draft_update(
    *, draft: Draft, typed: Typed, account: GmailAccount | None = None, gmail_save: bool = True
) -> Draft:
    """Keep what was typed, and save it to Gmail a moment later (`gmail_save`: see
    draft_create). A new `account` (the From changed to another of the user's accounts)
    moves the draft: its copy in the old account's Gmail is discarded."""
    with transaction.atomic():
        draft = Draft.objects.select_for_update().get(pk=draft.pk)
        if draft.state != Draft.State.EDITING:
            raise DraftBusy()
        if account is not None and account.pk != draft.account_id:
            _gmail_draft_discard(draft)
            draft.account = account
            draft.gmail_draft_id = draft.gmail_message_id = ""
            draft.save_attempts = 0
            draft.thread = None  # a thread is one account's
        for name, value in asdict(_cleaned(typed)).items():
            setattr(draft, name, value)
        draft.save()
        if gmail_save:
            _draft_save_queue(draft)
    return draft


def draft_attach(*, draft: Draft, filename: str, mime_type: str, data: bytes) -> DraftAttachment:
    """Add an uploaded file; refused (ComposeError) past Gmail's 25 MB."""
    with transaction.atomic():
        draft = Draft.objects.select_for_update().get(pk=draft.pk)
        if draft.state != Draft.State.EDITING:
            raise DraftBusy()
        problems = compose.attachment_problems(draft.attachments.all(), adding=len(data))
        if problems:
            raise compose.ComposeError(problems)
        file = DraftAttachment.objects.create(
            draft=draft,
            filename=filename,
            mime_type=mime_type or "application/octet-stream",
            size=len(data),
            data=data,
        )
        _draft_save_queue(draft)
    return file


def draft_attachment_remove(*, file: DraftAttachment) -> None:
    with transaction.atomic():
        draft = Draft.objects.select_for_update().get(pk=file.draft_id)
        if draft.state != Draft.State.EDITING:
            raise DraftBusy()
        file.delete()
        _draft_save_queue(draft)


def draft_send(*, draft: Draft, at: dt.datetime | None = None) -> OutboxAction:
    """Send the draft: it waits in the outbox for the undo window (UNDO_SEND_SECONDS), or
    until `at` (scheduled send), then goes. Refused (ComposeError) with every reason it
    cannot go as it is; nothing changes then."""
    with transaction.atomic():
        draft = (
            Draft.objects.select_for_update(of=("self",)).select_related("account").get(pk=draft.pk)
        )
        if draft.state != Draft.State.EDITING:
            raise DraftBusy()
        problems = compose.problems_before_send(draft)
        if problems:
            raise compose.ComposeError(problems)
        now = timezone.now()
        due = at or now + dt.timedelta(seconds=settings.UNDO_SEND_SECONDS)
        draft.state = Draft.State.QUEUED
        draft.send_at = due
        draft.scheduled = at is not None
        draft.save(update_fields=["state", "send_at", "scheduled", "updated_at"])
        # The send writes the final text itself: a save still waiting is not needed.
        draft.actions.filter(kind=Kind.DRAFT_SAVE, started=False).delete()
        return _act(
            draft.account,
            Kind.SEND,
            [],
            draft=draft,
            not_before=due,
            thread_gmail_id=draft.thread.gmail_id if draft.thread else "",
        )


def send_undo(*, draft: Draft) -> bool:
    """Bring a waiting send back as a draft. False when the outbox has taken it already
    (it is being sent, or was): then nothing changes."""
    with transaction.atomic():
        taken = not draft.actions.filter(kind=Kind.SEND, started=False).delete()[0]
        if taken:
            return False
        Draft.objects.filter(pk=draft.pk).update(
            state=Draft.State.EDITING, send_at=None, scheduled=False
        )
        draft.refresh_from_db()
        _draft_save_queue(draft)
    return True


def draft_discard(*, draft: Draft) -> None:
    """Delete the draft, here and (a moment later) at Gmail."""
    with transaction.atomic():
        draft = Draft.objects.select_for_update().get(pk=draft.pk)
        if draft.state == Draft.State.QUEUED:
            raise DraftBusy()
        _gmail_draft_discard(draft)
        draft.delete()


def late_send_dismiss(*, draft: Draft) -> None:
    """The user has read that a scheduled message went late; forget it."""
    Draft.objects.filter(pk=draft.pk, state=Draft.State.SENT).delete()


def draft_save_soon(*, draft: Draft) -> None:
    """Save the draft to Gmail a moment later, as it is then: one kept without a save
    because it was to be sent, and then was not (refused here, or by Gmail)."""
    with transaction.atomic():
        if Draft.objects.filter(pk=draft.pk, state=Draft.State.EDITING).exists():
            _draft_save_queue(draft)


def _draft_save_queue(draft: Draft) -> None:
    """One save waiting per draft is enough: it writes the draft as it is when the outbox
    gets to it."""
    if not draft.actions.filter(kind=Kind.DRAFT_SAVE, started=False).exists():
        _act(draft.account, Kind.DRAFT_SAVE, [], draft=draft)


def _gmail_draft_discard(draft: Draft) -> None:
    """Queue the deletion of the draft's copy at Gmail (its pending saves go with it)."""
    draft.actions.filter(kind=Kind.DRAFT_SAVE).delete()
    if draft.gmail_draft_id:
        # Not tied to the draft: the action outlives it.
        _act(draft.account, Kind.DRAFT_DELETE, [], draft_gmail_id=draft.gmail_draft_id)


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
    draft: Draft | None = None,
    not_before: dt.datetime | None = None,
    draft_gmail_id: str = "",
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
        draft=draft,
        not_before=not_before,
        draft_gmail_id=draft_gmail_id,
    )
    with transaction.atomic():
        action.save()
        mirror.action_apply(account=account, action=action)
        # sync's receiver queues the flush, after commit.
        due = not_before if not_before and not_before > timezone.now() else None
        outbox_action_queued.send(sender=OutboxAction, account_id=account.pk, due=due)
    return action


def failed_action_dismiss(*, action: OutboxAction) -> None:
    """The user has read why Gmail refused an action; forget it."""
    action.delete()
    mirror_changed(account_ids=[action.account_id])  # the lists' banner is kept under it
