"""The Gmail client of a connected account: its stored tokens, its quota bucket."""

from functools import partial

from accounts.credentials import account_credentials
from accounts.models import GmailAccount
from gmail.api import GmailClient
from gmail.client import build_service
from sync.coordination import quota_reserve


def gmail_client(account: GmailAccount) -> GmailClient:
    """The account's Gmail, on its (encrypted) tokens, spending from its quota bucket."""
    service = build_service(account_credentials(account))
    return GmailClient(service, reserve=partial(quota_reserve, account.pk))
