"""Per-user quota in Google's units, over a sliding one-minute window.

Costs come from Google's "Usage limits" table for the Gmail API. The ones marked
``confirmed`` were checked against that table; the others are Google's published values
as we remember them and must be checked before anyone tunes a benchmark against them.
"""

from collections import defaultdict, deque

from . import errors

# method id suffix -> units per call: Google's per-method quota table (docs/emulator.md,
# "Quota"), read December 2026; labels.patch and settings.updateVacation as their nearest
# methods, where the stored copy of the table was cut short.
COSTS = {
    "users.messages.get": 5,
    "users.messages.list": 5,
    "users.messages.modify": 5,
    "users.messages.batchModify": 50,
    "users.messages.send": 100,
    "users.history.list": 2,
    "users.getProfile": 1,
    "users.labels.list": 1,
    "users.drafts.send": 100,
    "users.threads.get": 10,
    "users.threads.list": 10,
    "users.threads.modify": 10,
    "users.watch": 100,
    "users.stop": 50,
    "users.messages.attachments.get": 5,
    "users.messages.batchDelete": 50,
    "users.messages.delete": 10,
    "users.messages.import": 25,
    "users.messages.insert": 25,
    "users.messages.trash": 5,
    "users.messages.untrash": 5,
    "users.threads.delete": 20,
    "users.threads.trash": 10,
    "users.threads.untrash": 10,
    "users.labels.create": 5,
    "users.labels.delete": 5,
    "users.labels.get": 1,
    "users.labels.patch": 5,
    "users.labels.update": 5,
    "users.drafts.create": 10,
    "users.drafts.delete": 10,
    "users.drafts.get": 5,
    "users.drafts.list": 5,
    "users.drafts.update": 15,
    "users.settings.sendAs.list": 1,
    "users.settings.sendAs.get": 1,
    "users.settings.getVacation": 1,
    "users.settings.updateVacation": 5,
}
DEFAULT_COST = 5
WINDOW_S = 60.0


def cost_of(method_id: str) -> int:
    return COSTS.get(method_id.removeprefix("gmail."), DEFAULT_COST)


class Quota:
    """Spent units per user (and for the whole project) in the last minute."""

    def __init__(self) -> None:
        self._spent: dict[str, deque[tuple[float, int]]] = defaultdict(deque)
        self._totals: dict[str, int] = defaultdict(int)

    def _expire(self, key: str, now: float) -> None:
        window = self._spent[key]
        while window and window[0][0] <= now - WINDOW_S:
            self._totals[key] -= window.popleft()[1]

    def retry_at(self, key: str, units: int, *, limit: int, now: float) -> float | None:
        """None if ``units`` fit in the key's minute, else when enough will have expired."""
        self._expire(key, now)
        if self._totals[key] + units <= limit:
            return None
        window = self._spent[key]
        return (window[0][0] if window else now) + WINDOW_S

    def spend(self, key: str, units: int, *, now: float) -> None:
        self._spent[key].append((now, units))
        self._totals[key] += units

    def spent(self, key: str) -> int:
        return self._totals.get(key, 0)


def check_and_charge(quota: Quota, *, email: str, units: int, config, now: float) -> None:
    """Raise Google's rate-limit errors when the user's or the project's minute is spent.

    A refused call is not charged, to the user or to the project.
    """
    user_key = f"user:{email}"
    retry_at = quota.retry_at(user_key, units, limit=config.quota_units_per_minute, now=now)
    if retry_at is not None:
        raise errors.user_rate_limited(retry_at)
    if quota.retry_at("project", units, limit=config.project_quota_units_per_minute, now=now):
        raise errors.project_rate_limited()
    quota.spend(user_key, units, now=now)
    quota.spend("project", units, now=now)


class Lockouts:
    """Users Gmail has locked out after their rate limit tripped: every call answers a
    rate-limit error until the lockout ends (commonly about 15 minutes at Google)."""

    def __init__(self) -> None:
        self._until: dict[str, tuple[float, int]] = {}  # email -> (until, status)

    def start(self, email: str, *, until: float, status: int) -> None:
        self._until[email] = (until, status)

    def check(self, email: str, *, now: float) -> None:
        """Raise the lockout's error if `email` is locked out at `now`."""
        until, status = self._until.get(email, (0.0, 429))
        if until <= now:
            self._until.pop(email, None)
            return
        if status == 403:
            raise errors.user_quota_exceeded()
        raise errors.user_rate_limited(until)

    def as_dict(self, *, now: float) -> dict:
        return {email: until for email, (until, _) in self._until.items() if until > now}


class InFlight:
    """Calls each user has in flight, a batch's calls counted one by one, against
    `concurrent_requests_per_user`: Gmail refuses a call beyond it with 429."""

    def __init__(self) -> None:
        self.count: dict[str, int] = defaultdict(int)
        self.peak: dict[str, int] = defaultdict(int)
        self.refused: dict[str, int] = defaultdict(int)

    def admit(self, email: str, *, limit: int) -> bool:
        """Take one slot for `email`, or refuse (False) when `limit` are taken (0: none)."""
        if limit and self.count[email] >= limit:
            self.refused[email] += 1
            return False
        self.count[email] += 1
        self.peak[email] = max(self.peak[email], self.count[email])
        return True

    def release(self, email: str, slots: int = 1) -> None:
        self.count[email] = max(0, self.count[email] - slots)

    def as_dict(self) -> dict:
        return {"peak": dict(self.peak), "refused": dict(self.refused)}
