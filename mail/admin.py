from typing import ClassVar

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from mail.models import Attachment, Label, Message, OutboxAction, SkippedMessage, Thread


class LargeTableAdmin(admin.ModelAdmin):
    """Mailboxes hold 100k+ rows: no full COUNT(*) and no choice widgets over them."""

    show_full_result_count = False
    list_per_page = 50


@admin.register(Label)
class LabelAdmin(LargeTableAdmin):
    list_display = ["name", "gmail_id", "type", "account", "label_list_visibility"]
    list_filter = ["type"]
    search_fields = ["name", "gmail_id", "account__email"]
    list_select_related = ["account"]
    raw_id_fields = ["account"]


class MirrorAdmin(LargeTableAdmin):
    """The mirror is Gmail's data, read-only here: only sync writes it. Operators see
    where mail is and how it syncs, never what it says (no subject, name, address,
    snippet, body or file name is shown or searchable)."""

    fields: ClassVar[tuple[str, ...]]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def get_fields(self, request: HttpRequest, obj: Model | None = None) -> tuple[str, ...]:
        return self.fields

    def get_readonly_fields(
        self, request: HttpRequest, obj: Model | None = None
    ) -> tuple[str, ...]:
        return self.fields


@admin.register(Thread)
class ThreadAdmin(MirrorAdmin):
    list_display: tuple[str, ...] = (
        "gmail_id",
        "account",
        "last_message_at",
        "message_count",
        "is_unread",
        "is_starred",
        "has_attachments",
    )
    fields = list_display
    list_filter = ["is_unread", "is_starred", "has_attachments"]
    search_fields = ["gmail_id", "account__email"]
    list_select_related = ["account"]
    date_hierarchy = "last_message_at"


class AttachmentInline(admin.TabularInline):
    model = Attachment
    extra = 0
    fields = ("part_id", "mime_type", "size", "is_inline")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(Message)
class MessageAdmin(MirrorAdmin):
    list_display: tuple[str, ...] = (
        "gmail_id",
        "account",
        "internal_date",
        "size_estimate",
        "history_id",
    )
    fields = (*list_display, "thread", "full_sync_mark", "has_attachments")
    list_filter = ["has_attachments"]
    search_fields = ["gmail_id", "account__email"]
    list_select_related = ["account"]
    date_hierarchy = "internal_date"
    inlines = [AttachmentInline]


@admin.register(Attachment)
class AttachmentAdmin(MirrorAdmin):
    list_display: tuple[str, ...] = ("part_id", "mime_type", "size", "is_inline", "message")
    fields = list_display
    list_filter = ["is_inline"]
    search_fields = ["message__gmail_id"]
    list_select_related = ["message"]


@admin.register(OutboxAction)
class OutboxActionAdmin(LargeTableAdmin):
    # `raw` (a message being sent) is mail content: not listed, not searchable.
    list_display = ["id", "account", "kind", "state", "attempts", "last_error", "created_at"]
    list_filter = ["state", "kind"]
    search_fields = ["account__email"]
    list_select_related = ["account"]
    raw_id_fields = ["account"]
    exclude = ["raw"]


@admin.register(SkippedMessage)
class SkippedMessageAdmin(LargeTableAdmin):
    """Messages the mirror could not store: which, why, since when. Each incremental
    sync tries them again; there is nothing to edit."""

    list_display: tuple[str, ...] = (
        "gmail_id",
        "account",
        "error",
        "attempts",
        "first_failed_at",
        "last_failed_at",
    )
    search_fields = ["gmail_id", "account__email"]
    list_select_related = ["account"]
    readonly_fields = list_display

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False
