import datetime as dt

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from sync import tasks
from sync.models import GmailWatch, SyncStatus


@admin.register(SyncStatus)
class SyncStatusAdmin(admin.ModelAdmin):
    list_display = [
        "account",
        "full_sync_state",
        "history_id",
        "lag",
        "last_push_at",
        "last_incremental_sync_at",
        "pause",
        "watch_expiration",
        "last_error_at",
    ]
    list_filter = ["full_sync_state"]
    search_fields = ["account__email"]
    list_select_related = ["account", "account__watch"]
    raw_id_fields = ["account"]
    readonly_fields = ["lag", "pause", "watch_expiration", "updated_at"]
    actions = ["full_resync", "sync_now"]

    @admin.display(description="lag (history ids behind the last push)")
    def lag(self, status: SyncStatus) -> int | None:
        if status.last_push_history_id is None or status.history_id is None:
            return None
        return max(0, status.last_push_history_id - status.history_id)

    @admin.display(description="paused")
    def pause(self, status: SyncStatus) -> str:
        """Until when, and why: a Gmail lockout says so in the last error."""
        if status.paused_until is None or status.paused_until <= timezone.now():
            return ""
        until = status.paused_until.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return f"until {until}: {status.last_error}" if status.last_error else f"until {until}"

    @admin.display(description="watch expires")
    def watch_expiration(self, status: SyncStatus) -> dt.datetime | None:
        watch = getattr(status.account, "watch", None)
        return watch.expiration if watch else None

    @admin.action(description="Full resync")
    def full_resync(self, request: HttpRequest, queryset: QuerySet[SyncStatus]) -> None:
        for status in queryset:
            tasks.enqueue(tasks.mailbox_sync, account_id=status.account_id, full=True)
        messages.info(request, f"Full resync queued for {queryset.count()} mailbox(es).")

    @admin.action(description="Sync now")
    def sync_now(self, request: HttpRequest, queryset: QuerySet[SyncStatus]) -> None:
        for status in queryset:
            tasks.enqueue(tasks.mailbox_sync, account_id=status.account_id)
        messages.info(request, f"Sync queued for {queryset.count()} mailbox(es).")


@admin.register(GmailWatch)
class GmailWatchAdmin(admin.ModelAdmin):
    list_display = [
        "account",
        "topic",
        "history_id",
        "expiration",
        "last_renewed_at",
        "last_error",
        "last_error_at",
    ]
    search_fields = ["account__email", "topic"]
    list_select_related = ["account"]
    raw_id_fields = ["account"]
    actions = ["renew"]

    @admin.action(description="Renew watch")
    def renew(self, request: HttpRequest, queryset: QuerySet[GmailWatch]) -> None:
        for watch in queryset:
            tasks.enqueue(tasks.watch_renew, account_id=watch.account_id)
        messages.info(request, f"Renewal queued for {queryset.count()} watch(es).")
