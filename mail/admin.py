from django.contrib import admin

from mail.models import Attachment, Label, Message, OutboxAction, Thread


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


@admin.register(Thread)
class ThreadAdmin(LargeTableAdmin):
    list_display = [
        "subject",
        "account",
        "last_message_at",
        "message_count",
        "is_unread",
        "is_starred",
        "has_attachments",
    ]
    list_filter = ["is_unread", "is_starred", "has_attachments"]
    search_fields = ["gmail_id", "subject", "account__email"]
    list_select_related = ["account"]
    raw_id_fields = ["account"]
    date_hierarchy = "last_message_at"


class AttachmentInline(admin.TabularInline):
    model = Attachment
    extra = 0
    fields = ["filename", "mime_type", "size", "content_id", "is_inline"]
    readonly_fields = fields


@admin.register(Message)
class MessageAdmin(LargeTableAdmin):
    list_display = ["subject", "sender", "account", "internal_date", "size_estimate"]
    list_filter = ["has_attachments"]
    search_fields = ["gmail_id", "rfc822_message_id", "subject", "account__email"]
    list_select_related = ["account"]
    raw_id_fields = ["account", "thread"]
    date_hierarchy = "internal_date"
    inlines = [AttachmentInline]
    # Operators see where a message is and how it syncs, not what it says.
    exclude = ["body_text", "body_html", "bcc"]


@admin.register(Attachment)
class AttachmentAdmin(LargeTableAdmin):
    list_display = ["filename", "mime_type", "size", "is_inline", "message"]
    list_filter = ["is_inline"]
    search_fields = ["filename", "mime_type"]
    list_select_related = ["message"]
    raw_id_fields = ["message"]


@admin.register(OutboxAction)
class OutboxActionAdmin(LargeTableAdmin):
    # `raw` (a message being sent) is mail content: not listed, not searchable.
    list_display = ["id", "account", "kind", "state", "attempts", "last_error", "created_at"]
    list_filter = ["state", "kind"]
    search_fields = ["account__email"]
    list_select_related = ["account"]
    raw_id_fields = ["account"]
    exclude = ["raw"]
