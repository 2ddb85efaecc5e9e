"""The table of user actions: every kind of change a user makes to their mail, once.

Each entry says what the action does to the mirror (the page shows it at once), which
Gmail call writes it back (sync/outbox.py), whether consecutive actions share that call,
whether the call may be repeated safely, and what the user reads if Gmail refuses it.
mail.services creates the actions, mail.mirror applies them, sync.outbox sends them,
and the tests read the same table.

To add an action: one entry here, one service function in mail/services.py, one test.
"""

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from gmail.scopes import GMAIL_FULL


class Kind(StrEnum):
    """What is stored in OutboxAction.kind."""

    READ = "read"
    UNREAD = "unread"
    STAR = "star"
    UNSTAR = "unstar"
    IMPORTANT = "important"
    NOT_IMPORTANT = "not_important"
    ARCHIVE = "archive"
    MOVE_TO_INBOX = "inbox"
    SPAM = "spam"
    NOT_SPAM = "not_spam"
    LABELS = "labels"  # the user's own choice of labels to add and remove
    TRASH = "trash"
    UNTRASH = "untrash"
    DELETE = "delete"
    SEND = "send"
    DRAFT_SAVE = "draft_save"
    DRAFT_DELETE = "draft_delete"


class Effect(StrEnum):
    """What an action does to the mirror's copy of its messages."""

    LABELS = "labels"  # adds and removes labels (the action row holds which)
    DELETE = "delete"  # deletes the messages
    NONE = "none"  # nothing until Gmail has it (a sent message arrives through sync)


class Call(StrEnum):
    """The Gmail method that writes an action back (its quota cost: gmail.api.COST)."""

    BATCH_MODIFY = "messages.batchModify"  # up to 1000 ids in one call
    TRASH = "messages.trash"  # one call per message, batched
    UNTRASH = "messages.untrash"
    BATCH_DELETE = "messages.batchDelete"
    SEND = "drafts.send"  # after drafts.create: sync/outbox.py
    DRAFT_SAVE = "drafts.update"  # drafts.create the first time
    DRAFT_DELETE = "drafts.delete"


REFUSED = "Gmail refused this change ({error})."


class ActionNotAllowed(Exception):
    """The account did not grant Tern the scope this action needs: it is refused before
    anything is queued (the page should not have offered it)."""

    message_is_safe = True  # the table's own words


@dataclass(frozen=True)
class Action:
    kind: Kind
    title: str  # what the user did, as a page names it
    call: Call
    effect: Effect = Effect.LABELS
    add: tuple[str, ...] = ()  # labels added to each message
    remove: tuple[str, ...] = ()  # labels removed from each message
    # Consecutive pending actions of kinds that coalesce, with the same labels added and
    # removed, are written back in one call.
    coalesces: bool = False
    # Whether sending the call twice does no harm. One that is not (a send) is never
    # retried blindly: the outbox first looks whether Gmail has it already.
    idempotent: bool = True
    # Gmail stars a conversation by starring its newest message.
    newest_message_only: bool = False
    refused: str = REFUSED  # what the user reads when Gmail refuses it for good
    # The OAuth scope the call needs beyond gmail.modify, if any; without it the action
    # is not offered, and refused with `not_allowed` before it is queued.
    needs_scope: str | None = None
    not_allowed: str = ""

    def refused_message(self, error: Exception) -> str:
        return self.refused.format(error=error)

    def allowed_with(self, scopes: Collection[str]) -> bool:
        """Whether an account that granted `scopes` may take this action."""
        return self.needs_scope is None or self.needs_scope in scopes


def _modify(
    kind: Kind, title: str, *, add: tuple[str, ...] = (), remove: tuple[str, ...] = ()
) -> Action:
    return Action(kind, title, Call.BATCH_MODIFY, add=add, remove=remove, coalesces=True)


ACTIONS: dict[Kind, Action] = {
    action.kind: action
    for action in [
        _modify(Kind.READ, "Mark as read", remove=("UNREAD",)),
        _modify(Kind.UNREAD, "Mark as unread", add=("UNREAD",)),
        Action(
            Kind.STAR,
            "Star",
            Call.BATCH_MODIFY,
            add=("STARRED",),
            coalesces=True,
            newest_message_only=True,
        ),
        _modify(Kind.UNSTAR, "Remove star", remove=("STARRED",)),
        _modify(Kind.IMPORTANT, "Mark as important", add=("IMPORTANT",)),
        _modify(Kind.NOT_IMPORTANT, "Mark as not important", remove=("IMPORTANT",)),
        _modify(Kind.ARCHIVE, "Archive", remove=("INBOX",)),
        _modify(Kind.MOVE_TO_INBOX, "Move to Inbox", add=("INBOX",)),
        _modify(Kind.SPAM, "Report spam", add=("SPAM",), remove=("INBOX",)),
        _modify(Kind.NOT_SPAM, "Not spam", add=("INBOX",), remove=("SPAM",)),
        _modify(Kind.LABELS, "Change labels"),
        # messages.trash also takes the message out of INBOX and SPAM.
        Action(Kind.TRASH, "Move to Trash", Call.TRASH, add=("TRASH",), remove=("INBOX", "SPAM")),
        Action(Kind.UNTRASH, "Restore from Trash", Call.UNTRASH, remove=("TRASH",)),
        Action(
            Kind.DELETE,
            "Delete forever",
            Call.BATCH_DELETE,
            effect=Effect.DELETE,
            # messages.batchDelete answers 403 insufficientPermissions under gmail.modify.
            needs_scope=GMAIL_FULL,
            not_allowed="Tern's access to this Gmail account does not include deleting "
            "forever. Move the conversation to Trash instead; Gmail empties it after 30 days.",
            refused="Gmail did not allow deleting forever (Tern's access to Gmail does not "
            "include it): the messages are still in Gmail. Move them to Trash instead; Gmail "
            "empties it after 30 days.",
        ),
        Action(
            Kind.SEND,
            "Send",
            Call.SEND,
            effect=Effect.NONE,
            idempotent=False,
            refused="Gmail did not send this message ({error}). A message written in Tern "
            "is a draft again: change it and send it again.",
        ),
        # A draft is the user's until it is sent: Tern's copy (mail.models.Draft) is
        # saved to Gmail, never read back over what was typed.
        Action(
            Kind.DRAFT_SAVE,
            "Save draft",
            Call.DRAFT_SAVE,
            effect=Effect.NONE,
            refused="Gmail refused to save this draft ({error}). It is kept in Tern.",
        ),
        Action(Kind.DRAFT_DELETE, "Discard draft", Call.DRAFT_DELETE, effect=Effect.NONE),
    ]
}
assert set(ACTIONS) == set(Kind), "every kind has its entry"
