"""Where each mailbox's sync stands. One row of each per connected account."""

import datetime as dt

from django.db import models

from accounts.models import GmailAccount


class SyncStatus(models.Model):
    class FullSync(models.TextChoices):
        PENDING = "pending", "Not started"
        RUNNING = "running", "Running"
        DONE = "done", "Done"

    account = models.OneToOneField(
        GmailAccount, on_delete=models.DB_CASCADE, related_name="sync_status"
    )
    # The history cursor: every change up to it is in the mirror. Only ever moves forward.
    history_id = models.BigIntegerField(null=True, blank=True)
    full_sync_state = models.CharField(
        max_length=8, choices=FullSync.choices, default=FullSync.PENDING
    )
    # Checkpoint of a running full sync: the profile's historyId taken before listing,
    # the next page token of messages.list, and how far it got.
    full_sync_history_id = models.BigIntegerField(null=True, blank=True)
    full_sync_page_token = models.CharField(max_length=255, blank=True)
    full_sync_messages_done = models.PositiveIntegerField(default=0)
    # The newest Message row when the full sync began: only rows up to it may be swept
    # as unseen; rows written later (a refused action's restore) came from Gmail after
    # the sync began, and history from its starting point covers them.
    full_sync_last_message_pk = models.BigIntegerField(null=True, blank=True)
    full_sync_started_at = models.DateTimeField(null=True, blank=True)
    last_push_at = models.DateTimeField(null=True, blank=True)
    last_push_history_id = models.BigIntegerField(null=True, blank=True)
    last_incremental_sync_at = models.DateTimeField(null=True, blank=True)
    last_full_sync_at = models.DateTimeField(null=True, blank=True)
    paused_until = models.DateTimeField(null=True, blank=True)
    failure_count = models.PositiveIntegerField(default=0, help_text="Failures in a row.")
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "sync status"
        verbose_name_plural = "sync statuses"
        indexes = [models.Index(fields=["last_push_at"], name="syncstatus_last_push")]

    def __str__(self) -> str:
        return f"sync of {self.account}"

    @property
    def last_synced_at(self) -> dt.datetime | None:
        moments = [self.last_incremental_sync_at, self.last_full_sync_at]
        return max((m for m in moments if m), default=None)


class GmailWatch(models.Model):
    account = models.OneToOneField(GmailAccount, on_delete=models.DB_CASCADE, related_name="watch")
    topic = models.CharField(max_length=255)
    history_id = models.BigIntegerField(null=True, blank=True)
    expiration = models.DateTimeField(null=True, blank=True)
    last_renewed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["expiration"], name="gmailwatch_expiration")]

    def __str__(self) -> str:
        return f"watch of {self.account}"
