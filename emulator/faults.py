"""Injected faults, drawn from seeded generators so that a failing run can be replayed.

API faults and push faults draw from two generators made from the same seed, so the
order of pushes never changes which API call fails, and the other way round.
"""

import random
import secrets
from dataclasses import asdict, dataclass, field

from . import errors

ALLOWED_STATUSES = (500, 503, 429, 403, 400)
LOCKOUT_STATUSES = (429, 403)


@dataclass
class Faults:
    error_rate: float = 0.0
    statuses: list[int] = field(default_factory=lambda: [500, 503, 429])
    # Only these API methods fail (e.g. ["users.history.list"]); empty means all. The
    # OAuth token endpoint fails (and is slowed by latency_ms) only when "oauth.token"
    # is listed, so that a general error rate never breaks sign-in by surprise.
    methods: list[str] = field(default_factory=list)
    latency_ms: int = 0
    # A call that trips the user's rate limit for `lockout_s` seconds: every call of
    # that user then answers 429 "Retry after <time>" or 403 "Quota exceeded".
    lockout_rate: float = 0.0
    lockout_s: float = 900.0
    push_drop_rate: float = 0.0
    push_duplicate_rate: float = 0.0
    push_delay_ms: int = 0
    push_reorder_rate: float = 0.0
    # As Gmail does: a notification within push_min_interval_ms of the last one
    # published for that user is dropped, not coalesced into the next (sync.md).
    push_drop_over_rate: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        self.api_random = random.Random(self.seed)  # noqa: S311 - replayable, not secret
        self.push_random = random.Random(self.seed + 1)  # noqa: S311

    @classmethod
    def from_request(cls, body: dict) -> "Faults":
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(body) - known
        if unknown:
            raise ValueError(f"unknown fault keys: {sorted(unknown)}")
        body = dict(body)
        if body.get("seed") is None:
            body["seed"] = secrets.randbelow(2**31)
        faults = cls(**body)
        faults.validate()
        return faults

    def validate(self) -> None:
        for name in (
            "error_rate",
            "lockout_rate",
            "push_drop_rate",
            "push_duplicate_rate",
            "push_reorder_rate",
        ):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not 0 <= value <= 1:
                raise ValueError(f"{name} must be between 0 and 1")
        bad = [s for s in self.statuses if s not in ALLOWED_STATUSES]
        if bad or not self.statuses:
            raise ValueError(f"statuses must be a non-empty subset of {list(ALLOWED_STATUSES)}")
        if not isinstance(self.push_drop_over_rate, bool):
            raise ValueError("push_drop_over_rate must be a boolean")
        if self.latency_ms < 0 or self.push_delay_ms < 0:
            raise ValueError("latencies must not be negative")
        if not isinstance(self.lockout_s, int | float) or self.lockout_s <= 0:
            raise ValueError("lockout_s must be a positive number of seconds")

    def as_dict(self) -> dict:
        return asdict(self)

    def api_error(self, method_id: str) -> errors.GoogleError | None:
        """Decide, for one API call, whether it fails and how."""
        if not self.error_rate:
            return None
        if self.methods and method_id.removeprefix("gmail.") not in self.methods:
            return None
        if self.api_random.random() >= self.error_rate:
            return None
        status = self.api_random.choice(self.statuses)
        if status == 429:
            return errors.too_many_requests()
        if status == 403:
            return errors.legacy_user_rate_limited()
        if status == 400:
            return errors.precondition_check_failed()
        return errors.backend_error(status)

    def lockout_roll(self, method_id: str) -> int | None:
        """For one API call: the status of a lockout it starts (429 or 403), or None."""
        if not self.lockout_rate:
            return None
        if self.methods and method_id.removeprefix("gmail.") not in self.methods:
            return None
        if self.api_random.random() >= self.lockout_rate:
            return None
        return self.api_random.choice(LOCKOUT_STATUSES)

    def token_fault(self) -> tuple[int | None, int]:
        """(status to fail the token endpoint with or None, latency in ms) for one call."""
        if "oauth.token" not in self.methods:
            return None, 0
        fails = bool(self.error_rate) and self.api_random.random() < self.error_rate
        return (self.api_random.choice(self.statuses) if fails else None), self.latency_ms

    def push_roll(self, rate: float) -> bool:
        return bool(rate) and self.push_random.random() < rate
