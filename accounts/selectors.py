from collections.abc import Iterable

from allauth.account.utils import filter_users_by_email
from cryptography.fernet import InvalidToken
from django.shortcuts import get_object_or_404

from accounts.credentials import decrypt_tokens
from accounts.models import GmailAccount, User
from gmail.scopes import MAILBOX_SCOPES


def gmail_accounts_of(*, user: User, with_sync_status: bool = True) -> list[GmailAccount]:
    """The user's accounts, with their sync status (the sidebar shows it) unless not
    `with_sync_status`."""
    accounts = GmailAccount.objects.filter(user=user)
    if with_sync_status:
        accounts = accounts.select_related("sync_status")
    return list(accounts.defer("encrypted_credentials"))


def gmail_account_for_user(*, user: User, account_id: int) -> GmailAccount:
    """The user's own account, or 404: other people's accounts do not exist for them."""
    return get_object_or_404(GmailAccount, pk=account_id, user=user)


def is_last_account(*, user: User, account: GmailAccount) -> bool:
    """Whether `account` is the user's only connected account (it cannot be removed)."""
    return not GmailAccount.objects.filter(user=user).exclude(pk=account.pk).exists()


def actions_waiting(*, account: GmailAccount) -> int:
    """How many of the account's user actions still wait for Gmail. mail's outbox rows
    hang off the account (its related name), so this reads them without importing mail."""
    return account.outbox.filter(state="pending").count()


def gmail_address_taken(*, email: str, google_sub: str) -> bool:
    """Whether `email` is connected under another Google account than `google_sub` (a
    Google account may change its address to one another Tern user connected)."""
    return GmailAccount.objects.filter(email__iexact=email).exclude(google_sub=google_sub).exists()


def local_user_with_address(*, email: str) -> bool:
    """Whether a Tern user holds `email` (on the user or in allauth's address book, as
    allauth's own signup check looks) without this Google account: a staff account
    made with a password, say."""
    return bool(filter_users_by_email(email))


def has_mailbox(*, google_sub: str) -> bool:
    """Whether Tern has a mailbox for this Google account, connected or waiting for a
    reconnect."""
    return GmailAccount.objects.filter(google_sub=google_sub).exists()


def has_working_refresh_token(*, google_sub: str, covering: Iterable[str] = ()) -> bool:
    """Whether Tern holds a refresh token for this Google account that Google has not
    refused and that was granted every Gmail scope of `covering`: the account is active,
    its stored tokens include one, and its stored scopes (those of the consent that gave
    the refresh token) hold those scopes. A sign-in that asks for more (GMAIL_SCOPES
    widened) needs a new consent: a refresh token never gains scopes."""
    account = GmailAccount.objects.filter(
        google_sub=google_sub, status=GmailAccount.Status.ACTIVE
    ).first()
    if account is None or not account.encrypted_credentials:
        return False
    if not (MAILBOX_SCOPES & set(covering)) <= account.granted_scopes:
        return False
    try:
        return bool(decrypt_tokens(account.encrypted_credentials)["refresh_token"])
    except InvalidToken:
        return False
