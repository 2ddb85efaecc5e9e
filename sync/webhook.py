"""Checking and reading a Pub/Sub push before the webhook believes it.

Two independent checks, each on when its setting is set:
- PUBSUB_VERIFICATION_TOKEN: the `?token=` secret of the push endpoint, compared in
  constant time;
- PUBSUB_AUDIENCE: the OIDC JWT in `Authorization: Bearer`, signed by Google (the keys
  at the certs URL, cached), with iss accounts.google.com, aud = PUBSUB_AUDIENCE,
  email = PUBSUB_SERVICE_ACCOUNT and email_verified.
With neither configured the webhook accepts pushes only when DEBUG is on.
"""

import base64
import binascii
import hmac
import json
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from google.auth import exceptions as google_exceptions
from google.auth import jwt

from gmail.client import google_url

ISSUERS = {"accounts.google.com", "https://accounts.google.com"}
CERTS_CACHE_KEY = "sync:pubsub-certs"
CERTS_CACHE_S = 60 * 60
CERTS_TIMEOUT_S = 5
CERTS_REFETCH_KEY = "sync:pubsub-certs-refetched"
CERTS_REFETCH_EVERY_S = 60
UNKNOWN_KID_KEY = "sync:pubsub-unknown-kid:"
UNKNOWN_KID_S = 10 * 60
MAX_HISTORY_ID = 2**63 - 1  # the database's bigint


class PushRejected(Exception):
    message_is_safe = True

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Push:
    message_id: str
    email: str
    history_id: int


def verify(request: HttpRequest) -> None:
    """Raise PushRejected (401 missing, 403 wrong) unless the push is authentic."""
    token_on = bool(settings.PUBSUB_VERIFICATION_TOKEN)
    oidc_on = bool(settings.PUBSUB_AUDIENCE)
    if not token_on and not oidc_on and not settings.DEBUG:
        raise PushRejected(403, "push authentication is not configured")
    if token_on:
        given = request.GET.get("token", "")
        if not given:
            raise PushRejected(401, "missing token")
        if not hmac.compare_digest(given.encode(), settings.PUBSUB_VERIFICATION_TOKEN.encode()):
            raise PushRejected(403, "wrong token")
    if oidc_on:
        _verify_oidc(request.headers.get("Authorization", ""))


def _verify_oidc(header: str) -> None:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise PushRejected(401, "missing bearer token")
    try:
        claims = _decode(token)
    except (ValueError, google_exceptions.GoogleAuthError) as error:
        raise PushRejected(403, f"bad token: {type(error).__name__}") from error
    if claims.get("iss") not in ISSUERS:
        raise PushRejected(403, "wrong issuer")
    # Any Google account can mint a token for our audience: the service account is what
    # says it comes from our subscription. Without one configured, only DEBUG accepts.
    if not settings.PUBSUB_SERVICE_ACCOUNT and not settings.DEBUG:
        raise PushRejected(403, "PUBSUB_SERVICE_ACCOUNT is not configured")
    if settings.PUBSUB_SERVICE_ACCOUNT and claims.get("email") != settings.PUBSUB_SERVICE_ACCOUNT:
        raise PushRejected(403, "wrong service account")
    if claims.get("email_verified") is not True:
        raise PushRejected(403, "service account email not verified")


def _decode(token: str) -> dict[str, Any]:
    """Check signature, expiry and audience. An unknown key id makes Tern refetch the
    keys (Google rotates them), but at most once a minute, and a key id still unknown
    after that is remembered as unknown: forged tokens with made-up key ids cannot make
    every push fetch Google's certificates."""
    kid = _key_id(token)
    certs = _certs()
    if kid not in certs:
        # A key id seen unknown right after a refetch is not asked about again for a
        # while; any other may trigger the one refetch a minute. (The memo is only set
        # after a real refetch, so a forger cannot get a new genuine key refused.)
        if cache.get(UNKNOWN_KID_KEY + kid) or not cache.add(
            CERTS_REFETCH_KEY, 1, CERTS_REFETCH_EVERY_S
        ):
            raise ValueError("unknown key id")
        certs = _certs(refresh=True)
        if kid not in certs:
            cache.set(UNKNOWN_KID_KEY + kid, 1, UNKNOWN_KID_S)
            raise ValueError("unknown key id")
    return jwt.decode(token, certs=certs, audience=settings.PUBSUB_AUDIENCE)


def _key_id(token: str) -> str:
    try:
        header = jwt.decode_header(token)
    except (ValueError, TypeError) as error:
        raise ValueError("malformed token") from error
    kid = header.get("kid") if isinstance(header, dict) else None
    if not isinstance(kid, str) or not 0 < len(kid) <= 128:
        raise ValueError("no key id")
    return kid


def _certs(*, refresh: bool = False) -> dict[str, str]:
    certs = None if refresh else cache.get(CERTS_CACHE_KEY)
    if certs is None:
        try:
            response = requests.get(google_url("certs_pem"), timeout=CERTS_TIMEOUT_S)
            response.raise_for_status()
            certs = response.json()
            if not isinstance(certs, dict):
                raise ValueError("certificates are not a JSON object")
        except (requests.RequestException, ValueError) as error:
            raise ValueError("could not fetch Google's certificates") from error
        cache.set(CERTS_CACHE_KEY, certs, CERTS_CACHE_S)
    return certs


def parse(body: bytes) -> Push:
    """The push envelope as a Push; ValueError for anything malformed."""
    try:
        envelope = json.loads(body)
        if not isinstance(envelope, dict):
            raise TypeError("not an object")
        message = envelope["message"]
        message_id = str(message.get("messageId") or message.get("message_id") or "")
        data = message["data"]
        decoded = json.loads(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))
        email = decoded["emailAddress"]
        history_id = int(decoded["historyId"])  # Gmail sends a string or a number
    except (
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        binascii.Error,
        RecursionError,  # JSON nested thousands deep
    ) as error:
        raise ValueError("malformed push") from error
    if not message_id or not isinstance(email, str) or "@" not in email:
        raise ValueError("malformed push")
    if not 0 < history_id <= MAX_HISTORY_ID:
        raise ValueError("malformed push")
    return Push(message_id=message_id, email=email, history_id=history_id)
