"""What a Gmail error means for a sync, decided in one place.

- 401 after google-auth's own refresh-and-retry, or a refused refresh: the account needs
  a reconnect (accounts.credentials.NeedsReconnect).
- 429, 403 rate limits and 5xx: back off. The account records `paused_until` and the
  task is rescheduled; no worker sleeps through a long backoff. A rate limit whose
  message says "Retry after <RFC 3339 time>" (a lockout, commonly 15 minutes) pauses
  the mailbox until that time, whoever calls.
- 400 failedPrecondition "Precondition check failed.": Gmail's transient 400, retried
  a few times before it counts as a refusal.
- 404 on history.list: the cursor is too old; only a full resync is safe.
- 404 on a message: it was deleted since it was listed; skip it.
- anything else (400, 403 forbidden...): a bug or a permanent refusal; surface it.
"""

import datetime as dt
import json
import random
import re
from typing import Any

from googleapiclient.errors import HttpError

RATE_LIMIT_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "backendError"}
BACKOFF_BASE_S = 2
BACKOFF_MAX_S = 15 * 60
# The 400 Gmail answers now and then to a request that succeeds when sent again.
TRANSIENT_PRECONDITION = "Precondition check failed."
# A rate limit says when it lifts in its message, not in a Retry-After header.
_RETRY_AFTER_IN_MESSAGE = re.compile(
    r"Retry after (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d))"
)
# The longest lockout believed: a time further ahead is clipped to it.
LOCKOUT_MAX = dt.timedelta(hours=1)
# The per-user minute ran out and Gmail said no more (403 "Queries per minute per user",
# with no time): no call for a minute, so a lockout costs one call a minute at most.
QUOTA_MINUTE = dt.timedelta(minutes=1)
LOCKOUT_MESSAGE = "gmail locked the mailbox out"


class GoogleUnavailable(Exception):
    """The token endpoint failed or could not be reached: nothing is wrong with the
    account, so it stays connected and the caller tries again later."""


class SyncError(Exception):
    message_is_safe = True  # written by us, with no token, address or mail in it


class RetryLater(SyncError):
    """Gmail asked us to slow down or failed transiently."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        lockout_until: dt.datetime | None = None,
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        # Gmail said no call may come before then (a lockout), not just "slow down".
        self.lockout_until = lockout_until
        # What a batch fetched before it gave up ({key: resource}), for the caller to keep.
        self.fetched: dict[str, Any] = {}


class HistoryTooOld(SyncError):
    """history.list answered 404: the stored cursor is no longer valid."""


class PermanentError(SyncError):
    """Gmail refused a request in a way retrying will not fix."""

    def __init__(self, message: str, *, status: int, reason: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason  # Gmail's `errors[0].reason` (failedPrecondition...), if any


def _detail(error: HttpError, field: str) -> str:
    try:
        body = json.loads(error.content)
        return str(body["error"]["errors"][0][field])
    except (ValueError, KeyError, IndexError, TypeError):
        return ""


def reason_of(error: HttpError) -> str:
    return _detail(error, "reason")


# The reason of Gmail's transient 400 ("Precondition check failed.") and of "Mail service
# not enabled" alike: neither says anything about the request's own arguments.
FAILED_PRECONDITION = "failedPrecondition"


def is_transient_precondition(error: HttpError) -> bool:
    """Gmail's 400 that succeeds on retry (not "Mail service not enabled", also a
    failedPrecondition, which stays)."""
    return (
        error.resp.status == 400
        and reason_of(error) == FAILED_PRECONDITION
        and _detail(error, "message") == TRANSIENT_PRECONDITION
    )


def is_concurrency_limit(error: HttpError) -> bool:
    """429 "Too many concurrent requests for user": too many calls in flight at once."""
    return error.resp.status == 429 and "concurrent" in _detail(error, "message").lower()


def lockout_until_of(error: HttpError) -> dt.datetime | None:
    """When a rate limit lifts, read from "Retry after <RFC 3339 time>" in its message;
    a minute from now for the per-user quota's 403, which gives no time."""
    message = _detail(error, "message")
    found = _RETRY_AFTER_IN_MESSAGE.search(message)
    if found is None:
        if error.resp.status == 403 and "per minute per user" in message:
            return dt.datetime.now(dt.UTC) + QUOTA_MINUTE
        return None
    try:
        until = dt.datetime.fromisoformat(found.group(1))
    except ValueError:
        return None
    now = dt.datetime.now(dt.UTC)
    return min(max(until, now), now + LOCKOUT_MAX)


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
        lockout_until = lockout_until_of(error)
        if lockout_until is not None:
            return lockout(lockout_until)
        return RetryLater(f"gmail answered {status}", retry_after=retry_after_of(error))
    if status == 401:
        return RetryLater("gmail answered 401 after a token refresh")
    if status == 404 and history:
        return HistoryTooOld("history id too old")
    reason = reason_of(error)
    return PermanentError(f"gmail answered {status} {reason}".strip(), status=status, reason=reason)


def lockout(until: dt.datetime) -> RetryLater:
    """The RetryLater of a mailbox that Gmail locked out until `until`."""
    wait = max(0.0, (until - dt.datetime.now(dt.UTC)).total_seconds())
    when = until.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return RetryLater(f"{LOCKOUT_MESSAGE} until {when}", retry_after=wait, lockout_until=until)


def backoff_delay(attempt: int, retry_after: float | None = None) -> float:
    """Truncated exponential backoff with full jitter, never sooner than Retry-After."""
    ceiling = min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** min(attempt, 20))
    delay = random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not security
    return max(delay, retry_after or 0)
