"""The OAuth scopes of the Gmail API that Tern knows (a module of constants, so that
settings can read it without loading the API client)."""

from collections.abc import Iterable

# Read, label, trash and send: everything Tern does but deleting for good.
GMAIL_MODIFY = "https://www.googleapis.com/auth/gmail.modify"
# Everything gmail.modify allows, and messages.delete/batchDelete ("delete forever"),
# which gmail.modify is refused with 403 insufficientPermissions.
GMAIL_FULL = "https://mail.google.com/"
# Either one lets Tern mirror and organise a mailbox.
MAILBOX_SCOPES = frozenset({GMAIL_MODIFY, GMAIL_FULL})
# What sign-in asks for besides the Gmail scopes: who the person is.
IDENTITY_SCOPES = ("openid", "email", "profile")


def can_use_mailbox(scopes: Iterable[str]) -> bool:
    """Whether `scopes` (as granted) let Tern mirror and organise the mailbox."""
    return not MAILBOX_SCOPES.isdisjoint(scopes)


def can_delete_forever(scopes: Iterable[str]) -> bool:
    return GMAIL_FULL in set(scopes)
