"""The keys to each mailbox: OAuth tokens, encrypted at rest, refreshed one at a time.

Tokens are stored only in `GmailAccount.encrypted_credentials`, as one Fernet token over
`{"access_token", "refresh_token"}`, with the keys of TOKEN_ENCRYPTION_KEYS (the first
encrypts, all decrypt, so keys can be rotated: see `manage.py reencrypt_tokens`).
allauth never stores them (SOCIALACCOUNT_STORE_TOKENS is off).

`account_credentials(account)` is what the Gmail client builder uses. Its credentials
never hold the refresh token: every refresh, the proactive one google-auth does before
a request and the one after a 401, goes through `refresh_access_token`, which locks the
account's row so that two workers never refresh the same account at once.
"""

import base64
import datetime as dt
import hashlib
import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any, TypedDict

import google.auth.exceptions
import google.auth.transport.requests
import google.oauth2.credentials
import requests
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import GmailAccount
from gmail.client import google_url
from gmail.errors import GoogleUnavailable

logger = logging.getLogger(__name__)

KEY_LABEL = b"tern: oauth token encryption, v1"
# google-auth treats a token as expired this long before its expiry (_helpers.py).
REFRESH_MARGIN = dt.timedelta(minutes=3, seconds=45)
REVOKE_TIMEOUT_S = 5


class Tokens(TypedDict):
    access_token: str
    refresh_token: str | None


class NeedsReconnect(Exception):
    """Google refused the refresh token (revoked, expired or consent withdrawn)."""

    message_is_safe = True  # names the account by id only


def _fernet() -> MultiFernet:
    """The first key encrypts; every key decrypts (rotation: `manage.py reencrypt_tokens`).

    TOKEN_ENCRYPTION_KEYS is required in production; only local settings fall back to
    SECRET_KEY. Any secret string works as a key: the Fernet key is derived from it with
    HKDF under a label of its own, so the same secret used elsewhere yields another key.
    Keys derived the older way (a bare SHA-256) still decrypt, so tokens stored before
    keep working until they are re-encrypted.
    """
    secrets = settings.TOKEN_ENCRYPTION_KEYS or [settings.SECRET_KEY]
    current = [Fernet(_derived_key(secret)) for secret in secrets]
    legacy = [Fernet(_legacy_key(secret)) for secret in secrets]
    return MultiFernet(current + legacy)


def _derived_key(secret: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=KEY_LABEL)
    return base64.urlsafe_b64encode(hkdf.derive(secret.encode()))


def _legacy_key(secret: str) -> bytes:
    return base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest())


def encrypt_tokens(*, access_token: str, refresh_token: str | None) -> bytes:
    payload = json.dumps({"access_token": access_token, "refresh_token": refresh_token})
    return _fernet().encrypt(payload.encode())


def decrypt_tokens(blob: bytes | memoryview) -> Tokens:
    """{"access_token", "refresh_token"}; raises InvalidToken when no key fits."""
    tokens: Tokens = json.loads(_fernet().decrypt(bytes(blob)))
    return tokens


def tokens_store(
    *,
    account: GmailAccount,
    access_token: str,
    refresh_token: str | None,
    expires_at: dt.datetime | None,
    scopes: Iterable[str] | None = None,
) -> None:
    """Save new tokens for `account`. A missing refresh token keeps the stored one
    (Google sends one only on consent, not on every sign-in)."""
    if not refresh_token and account.encrypted_credentials:
        refresh_token = decrypt_tokens(account.encrypted_credentials)["refresh_token"]
    account.encrypted_credentials = encrypt_tokens(
        access_token=access_token, refresh_token=refresh_token
    )
    account.token_expiry = expires_at
    fields = ["encrypted_credentials", "token_expiry", "updated_at"]
    if scopes is not None:
        account.scopes = " ".join(sorted(set(scopes)))
        fields.append("scopes")
    account.save(update_fields=fields)


def revoke_at_google(token: str) -> bool:
    """Revoke `token` at Google; returns whether Google has it no more.

    Revoking a refresh token, or an access token issued with one, revokes the whole
    grant. The token goes in the body, never in a URL that a proxy might log.
    """
    try:
        response = requests.post(
            google_url("revoke"), data={"token": token}, timeout=REVOKE_TIMEOUT_S
        )
    except requests.RequestException:
        return False
    return response.status_code in (200, 400)  # 400: already invalid


def reencrypt_all() -> int:
    """Re-encrypt every account's tokens with the newest key; returns how many."""
    fernet = _fernet()
    count = 0
    for account in GmailAccount.objects.exclude(encrypted_credentials=b"").iterator():
        account.encrypted_credentials = fernet.rotate(bytes(account.encrypted_credentials))
        account.save(update_fields=["encrypted_credentials"])
        count += 1
    return count


class AccountCredentials(google.oauth2.credentials.Credentials):
    """google-auth credentials whose refresh goes through the account's locked refresh."""

    def __init__(self, *, account_id: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tern_account_id = account_id

    def refresh(self, request: google.auth.transport.Request) -> None:
        self.token, self.expiry = refresh_access_token(
            account_id=self.tern_account_id, stale_token=self.token
        )


def account_credentials(account: GmailAccount) -> AccountCredentials:
    if not account.encrypted_credentials:
        raise NeedsReconnect(f"account {account.pk} has no credentials")
    try:
        tokens = decrypt_tokens(account.encrypted_credentials)
    except InvalidToken as error:
        # No key of TOKEN_ENCRYPTION_KEYS opens them (a SECRET_KEY changed without
        # setting the keys): only the person can give Tern new tokens.
        _mark_needs_reconnect(account.pk, error)
        raise NeedsReconnect(f"account {account.pk}: stored tokens unreadable") from error
    return AccountCredentials(
        account_id=account.pk,
        token=tokens["access_token"],
        expiry=_naive_utc(account.token_expiry),
        scopes=account.scopes.split() or None,
    )


def refresh_access_token(
    *, account_id: int, stale_token: str | None
) -> tuple[str, dt.datetime | None]:
    """A fresh access token and its naive-UTC expiry, refreshing at Google if needed.

    The row lock serialises refreshes of one account across processes: whoever waited
    finds the token another worker just saved and uses it instead of refreshing again.
    """
    with transaction.atomic():
        account = GmailAccount.objects.select_for_update().get(pk=account_id)
        tokens = decrypt_tokens(account.encrypted_credentials)
        if tokens["access_token"] != stale_token and _still_valid(account.token_expiry):
            return tokens["access_token"], _naive_utc(account.token_expiry)
        try:
            fresh = _refresh_at_google(tokens["refresh_token"])
        except google.auth.exceptions.RefreshError as error:
            if not _is_refusal(error):
                raise GoogleUnavailable("the token endpoint failed; try again") from error
            refused = error
        except google.auth.exceptions.TransportError as error:
            raise GoogleUnavailable("the token endpoint is unreachable") from error
        else:
            # A successful refresh sets both (Google's token response has expires_in).
            assert fresh.token is not None and fresh.expiry is not None
            expires_at = fresh.expiry.replace(tzinfo=dt.UTC)
            tokens_store(
                account=account,
                access_token=fresh.token,
                refresh_token=fresh.refresh_token,
                expires_at=expires_at,
            )
            return fresh.token, fresh.expiry
    # Outside the transaction, so that marking the account is not rolled back.
    _mark_needs_reconnect(account_id, refused)
    raise NeedsReconnect(f"account {account_id}: Google refused the refresh token") from refused


def _refresh_at_google(refresh_token: str | None) -> google.oauth2.credentials.Credentials:
    # No scope parameter: Google then grants what the person consented to.
    credentials = google.oauth2.credentials.Credentials(
        token=None,
        refresh_token=refresh_token,
        token_uri=google_url("token"),
        client_id=settings.GOOGLE_CLIENT_ID,
        client_secret=settings.GOOGLE_CLIENT_SECRET,
    )
    credentials.refresh(_TimeBoundRequest())
    return credentials


class _TimeBoundRequest(google.auth.transport.requests.Request):
    """google-auth waits up to 120 s for the token endpoint, while this refresh holds
    the account's row lock: wait 15 s at most."""

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = 15,
        **kwargs: Any,
    ) -> google.auth.transport.Response:
        return super().__call__(url, method, body, headers, timeout, **kwargs)


def _is_refusal(error: google.auth.exceptions.RefreshError) -> bool:
    """invalid_grant: the grant is revoked, expired or its consent withdrawn. Anything
    else (a 5xx, a timeout, a misconfigured client) says nothing about the person's
    consent and must not disconnect them."""
    details = error.args[1] if len(error.args) > 1 else None
    code = details.get("error") if isinstance(details, dict) else str(error).split(":")[0]
    return code == "invalid_grant"


def _mark_needs_reconnect(account_id: int, error: Exception) -> None:
    # Only the error's kind is logged: its text may quote the token response.
    logger.warning(
        "gmail account needs reconnect",
        extra={"account_id": account_id, "error": type(error).__name__},
    )
    # Sync runs only for active accounts, so this also pauses it until a reconnect.
    GmailAccount.objects.filter(pk=account_id).update(
        status=GmailAccount.Status.NEEDS_REAUTH, updated_at=timezone.now()
    )


def _still_valid(expires_at: dt.datetime | None) -> bool:
    return expires_at is not None and timezone.now() < expires_at - REFRESH_MARGIN


def _naive_utc(moment: dt.datetime | None) -> dt.datetime | None:
    # google-auth compares expiry with a naive UTC "now" (google.auth._helpers.utcnow).
    if moment is None:
        return None
    return moment.astimezone(dt.UTC).replace(tzinfo=None)
