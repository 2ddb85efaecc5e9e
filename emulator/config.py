"""Runtime settings: from command-line flags at start, changed by ``PUT /_emulator/config``."""

import dataclasses
from dataclasses import dataclass


@dataclass
class Config:
    # OAuth. With client_id unset any client id is accepted (and becomes the ID token's
    # aud); set it to reject other clients with invalid_client, as Google would.
    client_id: str | None = None
    client_secret: str | None = None
    issuer: str = "https://accounts.google.com"
    auto_consent: bool = False
    token_ttl_s: int = 3599
    code_ttl_s: int = 600
    # Refresh tokens older than this answer invalid_grant, and the grant goes with them
    # (the next consent issues a new refresh token): Google's 7 days (604800) for an app
    # in "Testing" publishing status. None: they live until revoked, as in production.
    refresh_token_ttl_s: int | None = None

    # Quota, in Google's units.
    quota_units_per_minute: int = 15_000
    project_quota_units_per_minute: int = 1_200_000
    # Calls one user may have in flight, each call of a batch counted (0: no limit).
    # Google publishes no figure: a cold batch of 25 passes and one of 100 is refused
    # in part (amd/gaia #2720), so one batch of Google's recommended 50 fits here.
    concurrent_requests_per_user: int = 50

    # messages.list / threads.list page tokens older than this are refused (0: never).
    page_token_ttl_s: float = 0.0

    # Pub/Sub push. The audience defaults to the endpoint URL, as Pub/Sub's does.
    push_endpoint: str | None = None
    push_token: str | None = None
    push_audience: str | None = None
    push_service_account: str = "gmail-push@tern-emulator.iam.gserviceaccount.com"
    push_subscription: str = "projects/tern-emulator/subscriptions/gmail-push"
    push_min_interval_ms: int = 1000
    push_backoff_min_ms: int = 100
    push_backoff_max_ms: int = 10_000
    push_timeout_s: float = 10.0

    # Sending: Gmail may replace the Message-ID a client chose with one of its own.
    send_replaces_message_id: bool = False

    # Demo: deliver a new message to every user each N seconds (0 = off).
    live_interval_s: float = 0.0

    def copy(self) -> "Config":
        return dataclasses.replace(self)

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    def update(self, changes: dict) -> None:
        """Apply a partial update; unknown keys or wrong types raise ValueError."""
        fields = {f.name: f for f in dataclasses.fields(self)}
        for key, value in changes.items():
            if key not in fields:
                raise ValueError(f"unknown config key: {key}")
            setattr(self, key, _coerce(key, fields[key].type, value))


def _coerce(key: str, kind, value):
    if value is None:
        if "None" in str(kind):
            return None
        raise ValueError(f"{key} cannot be null")
    if kind == int | None:
        kind = int
    if kind is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{key} must be a boolean")
        return value
    if kind in (int, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{key} must be a number")
        return kind(value)
    if not isinstance(value, str):
        raise ValueError(f"{key} must be a string")
    return value
