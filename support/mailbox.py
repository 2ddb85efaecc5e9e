"""A Gmail account connected in Tern with real tokens from the emulator, and syncs run
until a full sync has no slices left."""

import datetime as dt

from accounts.credentials import tokens_store
from accounts.models import GmailAccount
from sync.services import Outcome, mailbox_sync


def account_connect(emulator, *, user, email, name="Test Person", identity=None):
    """An emulated mailbox connected to ``user`` with real tokens from the emulator, stored
    encrypted. The emulated user is created unless its ``identity`` (the answer of
    ``create_user``) is given."""
    identity = identity or emulator.create_user(email, name)
    tokens = emulator.issue_tokens(email)
    account = GmailAccount.objects.create(
        user=user, email=email, google_sub=identity.get("sub", email), display_name=name
    )
    tokens_store(
        account=account,
        access_token=tokens["access_token"],
        refresh_token=tokens.get("refresh_token"),
        expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=tokens["expires_in"]),
        scopes=tokens["scope"].split(),
    )
    return account


def sync_to_end(account, **kwargs):
    """mailbox_sync, again while a full sync has slices left; returns the last result."""
    result = mailbox_sync(account_id=account.pk, **kwargs)
    while result.outcome == Outcome.MORE:
        result = mailbox_sync(account_id=account.pk)
    return result


def sync_until_done(account, **kwargs):
    """sync_to_end, which must end DONE."""
    result = sync_to_end(account, **kwargs)
    if result.outcome != Outcome.DONE:
        raise AssertionError(result)
    return result
