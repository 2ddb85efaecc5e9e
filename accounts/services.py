"""Every change to users and their connected Gmail accounts goes through here."""

import logging

from allauth.socialaccount.models import SocialAccount, SocialLogin
from django.db import transaction

from accounts.adapter import granted_scopes
from accounts.credentials import decrypt_tokens, revoke_at_google, tokens_store
from accounts.models import GmailAccount, User
from accounts.signals import gmail_account_connected, gmail_account_disconnecting

logger = logging.getLogger(__name__)


def gmail_account_connect(*, user: User, sociallogin: SocialLogin) -> GmailAccount:
    """Create or update the GmailAccount of a completed Google sign-in or connect.

    Stores the tokens encrypted, marks the account active and, after commit, starts its
    first sync (new account) or resumes it (an account that needed a reconnect).
    """
    extra = sociallogin.account.extra_data
    token = sociallogin.token
    with transaction.atomic():
        account = (
            GmailAccount.objects.select_for_update()
            .filter(google_sub=sociallogin.account.uid)
            .first()
        )
        if account is not None and account.user_id != user.pk:
            raise PermissionError("This Google account belongs to another user.")
        resume = account is None or account.status != GmailAccount.Status.ACTIVE
        if account is None:
            account = GmailAccount(user=user, google_sub=sociallogin.account.uid)
        account.email = extra["email"]
        account.display_name = extra.get("name", "")
        account.status = GmailAccount.Status.ACTIVE
        account.save()
        tokens_store(
            account=account,
            access_token=token.token,
            refresh_token=token.token_secret,
            expires_at=token.expires_at,
            # What the refresh token may do: a sign-in that brought none keeps the scopes
            # of the consent that did (an access token's wider scopes end at its expiry).
            scopes=granted_scopes(sociallogin)
            if token.token_secret or not account.scopes
            else None,
        )
        if resume:
            # sync's receiver starts the first sync (or resumes it) after commit.
            gmail_account_connected.send(sender=GmailAccount, account=account)
    return account


def gmail_account_disconnect(*, account: GmailAccount) -> None:
    """Stop the account's watch, revoke its token at Google and delete its mirror.

    Google's side is best effort: a mailbox must be removable even when Google is
    unreachable or the token is already revoked.
    """
    # sync's receiver stops the watch (best effort, and says so in the log). Robust: a
    # receiver's failure must not keep the mailbox.
    gmail_account_disconnecting.send_robust(sender=GmailAccount, account=account)
    _revoke(account)
    with transaction.atomic():
        SocialAccount.objects.filter(provider="google", uid=account.google_sub).delete()
        account.delete()  # cascades to labels, threads, messages and sync state


def user_delete(*, user: User) -> None:
    for account in list(user.gmail_accounts.all()):
        gmail_account_disconnect(account=account)
    user.delete()


def _revoke(account: GmailAccount) -> None:
    if not account.encrypted_credentials:
        return
    tokens = decrypt_tokens(account.encrypted_credentials)
    # Revoking the refresh token revokes every access token issued from it.
    if not revoke_at_google(tokens["refresh_token"] or tokens["access_token"]):
        logger.warning("could not revoke google token", extra={"account_id": account.pk})
