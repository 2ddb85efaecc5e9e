from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts.models import GmailAccount, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "email", "is_staff", "is_active", "date_joined"]


@admin.register(GmailAccount)
class GmailAccountAdmin(admin.ModelAdmin):
    # encrypted_credentials is not editable and never shown, not even encrypted.
    list_display = ["email", "user", "status", "token_expiry", "created_at"]
    list_filter = ["status"]
    search_fields = ["email", "user__email", "user__username"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
    readonly_fields = ["google_sub", "scopes", "token_expiry", "created_at", "updated_at"]
