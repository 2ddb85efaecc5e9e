"""Google's error bodies, so that clients classify them as they would Google's.

google-api-python-client retries 5xx and 429, and 403 only when ``errors[0].reason`` is
``rateLimitExceeded`` or ``userRateLimitExceeded``; the bodies below keep those fields
where Google puts them.
"""

import datetime as dt


class GoogleError(Exception):
    """An API error answered as ``{"error": {code, message, errors[], status}}``."""

    def __init__(
        self,
        code: int,
        message: str,
        *,
        reason: str,
        status: str,
        domain: str = "global",
        headers: dict | None = None,
        extra: dict | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason
        self.status = status
        self.domain = domain
        self.headers = headers or {}
        self.extra = extra or {}

    def body(self) -> dict:
        detail = {"message": self.message, "domain": self.domain, "reason": self.reason}
        detail.update(self.extra)
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "errors": [detail],
                "status": self.status,
            }
        }


def not_found() -> GoogleError:
    return GoogleError(
        404, "Requested entity was not found.", reason="notFound", status="NOT_FOUND"
    )


def invalid_argument(message: str) -> GoogleError:
    return GoogleError(400, message, reason="invalidArgument", status="INVALID_ARGUMENT")


def failed_precondition(message: str) -> GoogleError:
    return GoogleError(400, message, reason="failedPrecondition", status="FAILED_PRECONDITION")


def conflict(message: str) -> GoogleError:
    return GoogleError(409, message, reason="duplicate", status="ALREADY_EXISTS")


def unauthenticated() -> GoogleError:
    return GoogleError(
        401,
        "Request had invalid authentication credentials. Expected OAuth 2 access token, "
        "login cookie or other valid authentication credential.",
        reason="authError",
        status="UNAUTHENTICATED",
        headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'},
        extra={"location": "Authorization", "locationType": "header"},
    )


def insufficient_scope() -> GoogleError:
    return GoogleError(
        403,
        "Request had insufficient authentication scopes.",
        reason="insufficientPermissions",
        status="PERMISSION_DENIED",
        headers={
            "WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", '
            'error="insufficient_scope"'
        },
    )


def forbidden(message: str) -> GoogleError:
    return GoogleError(403, message, reason="forbidden", status="PERMISSION_DENIED")


def _rfc3339(moment: float) -> str:
    when = dt.datetime.fromtimestamp(moment, dt.UTC).isoformat(timespec="milliseconds")
    return when.replace("+00:00", "Z")


def user_rate_limited(retry_at: float) -> GoogleError:
    # What Gmail answers today when a user's per-minute units run out: a 429 whose
    # message says when to retry (there is no Retry-After header).
    message = f"User-rate limit exceeded.  Retry after {_rfc3339(retry_at)}"
    return GoogleError(429, message, reason="rateLimitExceeded", status="RESOURCE_EXHAUSTED")


def user_quota_exceeded() -> GoogleError:
    # The other shape of a per-user lockout: a 403 in the Cloud quota wording, as
    # reported with no retry time at all (inbox-zero #480, gmail-cleaner #5,
    # got-your-back #309).
    return GoogleError(
        403,
        "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user' of "
        "service 'gmail.googleapis.com' for consumer 'project_number:000000000000'.",
        reason="rateLimitExceeded",
        status="PERMISSION_DENIED",
        domain="usageLimits",
    )


def too_many_concurrent_requests() -> GoogleError:
    # One user with too many calls in flight, a batch's calls counted one by one
    # (google-api-dotnet-client #1982, amd/gaia #2720).
    return GoogleError(
        429,
        "Too many concurrent requests for user",
        reason="rateLimitExceeded",
        status="RESOURCE_EXHAUSTED",
    )


def precondition_check_failed() -> GoogleError:
    # A transient refusal that succeeds when retried (google-api-php-client #2558,
    # google-api-go-client #645).
    return failed_precondition("Precondition check failed.")


def project_rate_limited() -> GoogleError:
    # The per-project limit answers 403 with the Cloud quota wording.
    return GoogleError(
        403,
        "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute' of service "
        "'gmail.googleapis.com' for consumer 'project_number:000000000000'.",
        reason="rateLimitExceeded",
        status="PERMISSION_DENIED",
        domain="usageLimits",
    )


def legacy_user_rate_limited() -> GoogleError:
    # The older documented body: 403 with reason userRateLimitExceeded.
    return GoogleError(
        403,
        "User Rate Limit Exceeded",
        reason="userRateLimitExceeded",
        status="PERMISSION_DENIED",
        domain="usageLimits",
    )


def too_many_requests() -> GoogleError:
    return GoogleError(
        429,
        "Resource has been exhausted (e.g. check quota).",
        reason="rateLimitExceeded",
        status="RESOURCE_EXHAUSTED",
    )


def backend_error(code: int) -> GoogleError:
    if code == 503:
        return GoogleError(
            503,
            "The service is currently unavailable.",
            reason="backendError",
            status="UNAVAILABLE",
        )
    return GoogleError(
        code, "Internal error encountered.", reason="backendError", status="INTERNAL"
    )


def not_implemented(method_id: str) -> GoogleError:
    return GoogleError(
        501,
        f"{method_id} is not implemented by the emulator.",
        reason="notImplemented",
        status="UNIMPLEMENTED",
    )


def invalid_label(label_id: str) -> GoogleError:
    # Gmail names the first label it refuses: "Invalid label: SENT".
    return invalid_argument(f"Invalid label: {label_id}")
