"""The addresses each account sends as: Gmail's `settings.sendAs` (the primary address
and the aliases Gmail has verified), each with its name, Reply-To and signature, kept
on the account (`GmailAccount.send_as`) for compose to offer in From. Read when the
mailbox is connected and whenever its watch is renewed (every few days)."""

import logging

from accounts.models import GmailAccount
from gmail.client import Json
from sync.clients import gmail_client

logger = logging.getLogger(__name__)

MAX_ENTRIES = 100  # Gmail allows up to 99 aliases
MAX_SIGNATURE = 10_000  # Gmail's limit on a signature


def send_as_refresh(*, account: GmailAccount) -> list[dict[str, object]]:
    """Read the account's send-as addresses from Gmail and keep them. Raises
    gmail.errors' RetryLater and PermanentError, and NeedsReconnect."""
    gmail = gmail_client(account)
    listed = gmail.call("settings.sendAs.list", gmail.users.settings().sendAs().list(userId="me"))
    entries = [_entry(raw) for raw in listed.get("sendAs", [])[:MAX_ENTRIES] if _usable(raw)]
    # The primary address first, then the aliases by address.
    entries.sort(key=lambda entry: (not entry["primary"], entry["email"]))
    GmailAccount.objects.filter(pk=account.pk).update(send_as=entries)
    account.send_as = entries
    return entries


def _usable(raw: Json) -> bool:
    """The primary address, or an alias Gmail has verified (one still pending cannot
    send: Gmail refuses it as From)."""
    if not isinstance(raw.get("sendAsEmail"), str) or "@" not in raw["sendAsEmail"]:
        return False
    return bool(raw.get("isPrimary")) or raw.get("verificationStatus", "accepted") == "accepted"


def _entry(raw: Json) -> dict[str, object]:
    return {
        "email": str(raw["sendAsEmail"]).strip().lower()[:320],
        "name": str(raw.get("displayName") or "")[:255],
        "reply_to": str(raw.get("replyToAddress") or "")[:320],
        "signature": str(raw.get("signature") or "")[:MAX_SIGNATURE],
        "primary": bool(raw.get("isPrimary")),
        "default": bool(raw.get("isDefault")),
    }
