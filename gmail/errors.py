"""What a Gmail error means for a sync, decided in one place.

- 401 after google-auth's own refresh-and-retry, or a refused refresh: the account needs
  a reconnect (accounts.credentials.NeedsReconnect).
- 429, 403 rate limits and 5xx: back off. The account records `paused_until` and the
  task is rescheduled; no worker sleeps through a long backoff.
- 404 on history.list: the cursor is too old; only a full resync is safe.
- 404 on a message: it was deleted since it was listed; skip it.
- anything else (400, 403 forbidden...): a bug or a permanent refusal; surface it.
"""

import json
import random

from googleapiclient.errors import HttpError

RATE_LIMIT_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "backendError"}
BACKOFF_BASE_S = 2
BACKOFF_MAX_S = 15 * 60


class GoogleUnavailable(Exception):
    """The token endpoint failed or could not be reached: nothing is wrong with the
    account, so it stays connected and the caller tries again later."""


class SyncError(Exception):
    message_is_safe = True  # written by us, with no token, address or mail in it


class RetryLater(SyncError):
    """Gmail asked us to slow down or failed transiently."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class HistoryTooOld(SyncError):
    """history.list answered 404: the stored cursor is no longer valid."""


class PermanentError(SyncError):
    """Gmail refused a request in a way retrying will not fix."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


def reason_of(error: HttpError) -> str:
    try:
        body = json.loads(error.content)
        return body["error"]["errors"][0]["reason"]
    except (ValueError, KeyError, IndexError, TypeError):
        return ""


def retry_after_of(error: HttpError) -> float | None:
    value = error.resp.get("retry-after") if error.resp is not None else None
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return None


def is_retryable(error: HttpError) -> bool:
    status = error.resp.status
    if status == 429 or status >= 500:
        return True
    return status == 403 and reason_of(error) in RATE_LIMIT_REASONS


def classify(error: HttpError, *, history: bool = False) -> SyncError:
    """The SyncError an HttpError stands for. The message carries no token or address."""
    status = error.resp.status
    if is_retryable(error):
        return RetryLater(f"gmail answered {status}", retry_after=retry_after_of(error))
    if status == 401:
        return RetryLater("gmail answered 401 after a token refresh")
    if status == 404 and history:
        return HistoryTooOld("history id too old")
    return PermanentError(f"gmail answered {status} {reason_of(error)}".strip(), status=status)


def backoff_delay(attempt: int, retry_after: float | None = None) -> float:
    """Truncated exponential backoff with full jitter, never sooner than Retry-After."""
    ceiling = min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** min(attempt, 20))
    delay = random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not security
    return max(delay, retry_after or 0)
