from django.contrib import admin

from sync.models import GmailWatch, SyncStatus


@admin.register(SyncStatus)
class SyncStatusAdmin(admin.ModelAdmin):
    list_display = [
        "account",
        "full_sync_state",
        "history_id",
        "last_push_at",
        "last_incremental_sync_at",
        "paused_until",
        "last_error_at",
    ]
    list_filter = ["full_sync_state"]
    search_fields = ["account__email"]
    list_select_related = ["account"]
    raw_id_fields = ["account"]


@admin.register(GmailWatch)
class GmailWatchAdmin(admin.ModelAdmin):
    list_display = ["account", "topic", "expiration", "last_renewed_at", "last_error_at"]
    search_fields = ["account__email", "topic"]
    list_select_related = ["account"]
    raw_id_fields = ["account"]
