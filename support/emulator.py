"""The emulator's client, with Gmail services built by the app's one client builder."""

import datetime as dt

from emulator.client import DEFAULT_SCOPES, EmulatorClient
from gmail.client import build_credentials, build_service


def _credentials(tokens: dict):
    # Timezone-aware, as allauth stores it: build_credentials must convert it.
    expiry = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=tokens["expires_in"])
    return build_credentials(
        token=tokens["access_token"],
        refresh_token=tokens.get("refresh_token"),
        expiry=expiry,
        scopes=tokens["scope"].split(),
    )


class Emulator(EmulatorClient):
    """The control API, plus sign-in and Gmail services through gmail/client.py."""

    def credentials(self, email: str, scopes=DEFAULT_SCOPES):
        """Credentials of ``email`` after a real sign-in (consent page, code, PKCE)."""
        return _credentials(self.sign_in(email, scopes))

    def gmail(self, email: str, scopes=DEFAULT_SCOPES):
        """A gmail v1 service for ``email``, built by gmail/client.py after a real sign-in."""
        return build_service(self.credentials(email, scopes))

    def gmail_issued(self, email: str, scopes=DEFAULT_SCOPES, ttl_s: int | None = None):
        """A gmail v1 service on tokens from the control API's shortcut (no consent page);
        ``ttl_s`` sets how long its access token lives."""
        return build_service(_credentials(self.issue_tokens(email, scopes, ttl_s)))
