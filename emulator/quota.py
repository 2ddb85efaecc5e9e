"""Per-user quota in Google's units, over a sliding one-minute window.

Costs come from Google's "Usage limits" table for the Gmail API. The ones marked
``confirmed`` were checked against that table; the others are Google's published values
as we remember them and must be checked before anyone tunes a benchmark against them.
"""

from collections import defaultdict, deque

from . import errors

# method id suffix -> units per call
COSTS = {
    # confirmed
    "users.messages.get": 5,
    "users.messages.list": 5,
    "users.messages.modify": 5,
    "users.messages.batchModify": 50,
    "users.messages.send": 100,
    "users.history.list": 2,
    "users.getProfile": 1,
    "users.labels.list": 1,
    "users.drafts.send": 100,
    # unconfirmed: from third-party tables, agreeing with each other
    "users.threads.get": 10,
    "users.threads.list": 10,
    "users.threads.modify": 10,
    "users.watch": 100,
    # unconfirmed: Google's table as remembered
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
