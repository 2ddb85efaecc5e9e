"""What sync does when the layers below it tell of a change (their signals)."""

import datetime as dt
import logging
from typing import Any

from django.dispatch import receiver

from accounts.models import GmailAccount
from accounts.signals import gmail_account_connected, gmail_account_disconnecting
from mail.signals import outbox_action_queued
from sync import services, tasks

logger = logging.getLogger(__name__)


@receiver(gmail_account_connected)
def start_sync(sender: type, account: GmailAccount, **kwargs: Any) -> None:
    """Watch the mailbox and sync it (from its cursor or checkpoint, so a reconnect
    resumes where sync stopped), and send the user actions that waited."""
    tasks.mailbox_connected_enqueue(account.pk)


@receiver(gmail_account_disconnecting)
def stop_watch(sender: type, account: GmailAccount, **kwargs: Any) -> None:
    """Best effort: a mailbox must be removable even when Google is unreachable or the
    token is already revoked."""
    try:
        services.watch_stop(account=account)
    except Exception as error:
        logger.warning(
            "could not stop gmail watch",
            extra={"account_id": account.pk, "error": type(error).__name__},
        )


@receiver(outbox_action_queued)
def flush_outbox(
    sender: type, account_id: int, due: dt.datetime | None = None, **kwargs: Any
) -> None:
    if due is None:
        tasks.outbox_flush_enqueue(account_id)
    else:
        tasks.outbox_flush_at(account_id, due)
