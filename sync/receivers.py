"""What sync does when the layers below it tell of a change (their signals)."""

from typing import Any

from django.dispatch import receiver

from accounts.models import GmailAccount
from accounts.signals import gmail_account_connected, gmail_account_disconnecting
from mail.signals import outbox_action_queued
from sync import services, tasks


@receiver(gmail_account_connected)
def start_sync(sender: type, account: GmailAccount, **kwargs: Any) -> None:
    """Watch the mailbox and sync it (from its cursor or checkpoint, so a reconnect
    resumes where sync stopped), and send the user actions that waited."""
    tasks.mailbox_connected_enqueue(account.pk)


@receiver(gmail_account_disconnecting)
def stop_watch(sender: type, account: GmailAccount, **kwargs: Any) -> None:
    services.watch_stop(account=account)


@receiver(outbox_action_queued)
def flush_outbox(sender: type, account_id: int, **kwargs: Any) -> None:
    tasks.outbox_flush_enqueue(account_id)
