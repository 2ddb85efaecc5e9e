"""The one Gmail API client of the app: credentials and the service, Google or emulator.

Every Google endpoint is Google's real one unless ``settings.GOOGLE_EMULATOR_URL`` is set,
in which case it is the same path on the emulator (see docs/emulator.md). Nothing else
in the app builds a Gmail client or names a Google URL for the API.
"""

import datetime as dt
import json
import threading
from collections.abc import Iterable
from typing import Any

import google_auth_httplib2
import httplib2
from django.conf import settings
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build_from_document
from googleapiclient.discovery_cache import get_static_doc

# name -> (Google's base URL, path). The emulator serves every path on its one base URL.
ENDPOINTS = {
    "authorize": ("https://accounts.google.com", "/o/oauth2/v2/auth"),
    "token": ("https://oauth2.googleapis.com", "/token"),
    "revoke": ("https://oauth2.googleapis.com", "/revoke"),
    "userinfo": ("https://www.googleapis.com", "/oauth2/v3/userinfo"),
    "certs_pem": ("https://www.googleapis.com", "/oauth2/v1/certs"),
    "certs_jwks": ("https://www.googleapis.com", "/oauth2/v3/certs"),
    "gmail": ("https://gmail.googleapis.com", "/"),
}
HTTP_TIMEOUT_S = 30

# googleapiclient builds its resources at run time from the discovery document and ships
# no types: a service, its `users()` and the requests they make are all untyped.
type Resource = Any
# A Gmail API answer: the JSON object of the method's response.
type Json = dict[str, Any]

_documents: dict[str | None, str] = {}
_documents_lock = threading.Lock()


def emulator_url() -> str | None:
    base = getattr(settings, "GOOGLE_EMULATOR_URL", None)
    return base.rstrip("/") if base else None


def google_url(name: str) -> str:
    """The URL of a named Google endpoint (a key of ENDPOINTS), following the emulator setting."""
    google_base, path = ENDPOINTS[name]
    return f"{emulator_url() or google_base}{path}"


def build_credentials(
    *,
    token: str | None,
    refresh_token: str | None,
    expiry: dt.datetime | None,
    scopes: Iterable[str] | None,
) -> Credentials:
    """google-auth credentials that refresh against Google's (or the emulator's) token URI.

    ``expiry`` may be timezone-aware (as allauth stores it); google-auth compares it with
    a naive UTC clock and raises TypeError otherwise, so it is converted here.
    """
    return Credentials(
        token=token,
        refresh_token=refresh_token,
        token_uri=google_url("token"),
        client_id=settings.GOOGLE_CLIENT_ID,
        client_secret=settings.GOOGLE_CLIENT_SECRET,
        scopes=list(scopes) if scopes else None,
        expiry=_naive_utc(expiry),
    )


def _naive_utc(expiry: dt.datetime | None) -> dt.datetime | None:
    if expiry is None or expiry.tzinfo is None:
        return expiry
    return expiry.astimezone(dt.UTC).replace(tzinfo=None)


def _discovery_document(root_url: str | None) -> str:
    """Gmail v1's shipped discovery document, its root URLs pointed at the emulator.

    ``client_options={"api_endpoint": ...}`` would miss batch (built from rootUrl +
    batchPath) and media upload (which keeps https), so the document itself is patched.
    The JSON text is cached and each service parses its own copy: the client library
    writes into the document as it builds methods, so a shared dict is not thread-safe.
    """
    with _documents_lock:
        if root_url not in _documents:
            document = json.loads(get_static_doc("gmail", "v1"))
            if root_url:
                for key in ("rootUrl", "baseUrl", "mtlsRootUrl"):
                    document[key] = f"{root_url}/"
            _documents[root_url] = json.dumps(document)
        return _documents[root_url]


def build_service(credentials: Credentials) -> Resource:
    """A gmail v1 service with its own HTTP connection (httplib2 is not thread-safe).

    Build one per task or request; never share it between threads.
    """
    http = google_auth_httplib2.AuthorizedHttp(
        credentials, http=httplib2.Http(timeout=HTTP_TIMEOUT_S)
    )
    return build_from_document(_discovery_document(emulator_url()), http=http)
