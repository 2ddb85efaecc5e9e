"""The Gmail client of a connected account: its stored tokens, its quota bucket, and
Gmail's per-user limits shared with the account's other workers."""

import datetime as dt
from functools import partial

from django.db.models import Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from accounts.credentials import account_credentials
from accounts.models import GmailAccount
from gmail.api import GmailClient
from gmail.client import build_service
from gmail.errors import lockout
from sync.coordination import MailboxLimits, quota_reserve
from sync.models import SyncStatus


class AccountLimits(MailboxLimits):
    """The mailbox's limits; a lockout also pauses its sync, for admin and health."""

    def lockout(self, until: dt.datetime) -> None:
        super().lockout(until)
        SyncStatus.objects.filter(account_id=self.account_id).update(
            paused_until=Greatest(Coalesce("paused_until", Value(until)), Value(until)),
            last_error=str(lockout(until)),
            last_error_at=timezone.now(),
        )


def gmail_client(account: GmailAccount) -> GmailClient:
    """The account's Gmail, on its (encrypted) tokens, spending from its quota bucket."""
    service = build_service(account_credentials(account))
    return GmailClient(
        service, reserve=partial(quota_reserve, account.pk), limits=AccountLimits(account.pk)
    )
