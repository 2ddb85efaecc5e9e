from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models

from gmail import scopes


class User(AbstractUser):
    """A person using Tern. End users sign in with Google only; staff may also use a
    password for /admin/. One user may connect several Gmail accounts."""

    class Meta:
        db_table = "accounts_user"


class GmailAccount(models.Model):
    """A Gmail mailbox connected to a Tern user, and the keys to it.

    `encrypted_credentials` holds the OAuth tokens encrypted with TOKEN_ENCRYPTION_KEYS;
    nothing here is ever a token in clear.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        NEEDS_REAUTH = "needs_reauth", "Needs reconnect"

    # The database cascades deletes through the whole mirror (DB_CASCADE down every
    # foreign key): removing a mailbox of 100k messages is one statement, not 100k
    # objects loaded into Python first.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DB_CASCADE, related_name="gmail_accounts"
    )
    email = models.EmailField(unique=True)
    google_sub = models.CharField("Google subject id", max_length=255, unique=True)
    display_name = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    encrypted_credentials = models.BinaryField(blank=True, default=b"", editable=False)
    token_expiry = models.DateTimeField(null=True, blank=True)
    scopes = models.TextField(blank=True, help_text="Space-separated OAuth scopes granted.")
    # The addresses the account sends as, from Gmail's settings.sendAs (sync/send_as.py):
    # [{"email", "name", "reply_to", "signature" (HTML), "primary", "default"}].
    send_as = models.JSONField(default=list, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["email"]
        indexes = [models.Index(fields=["user", "status"])]

    def __str__(self) -> str:
        return self.email

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    @property
    def granted_scopes(self) -> frozenset[str]:
        return frozenset(self.scopes.split())

    @property
    def can_delete_forever(self) -> bool:
        """Whether the person granted the full Gmail scope, which messages.delete needs
        (with gmail.modify alone, Tern offers Trash instead)."""
        return scopes.can_delete_forever(self.granted_scopes)
