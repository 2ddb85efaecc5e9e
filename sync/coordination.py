"""What workers share about a mailbox: its sync lock, its quota bucket and Gmail's
per-user limits (calls in flight, batch size, lockout).

They live in Redis when REDIS_URL is set, so every worker process sees the same lock and
spends from the same bucket. On embedded defaults (no Redis, tasks in one process) an
in-process stand-in with the same behaviour is used.
"""

import contextlib
import datetime as dt
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from enum import StrEnum
from functools import cache
from typing import Protocol

import redis
from django.conf import settings

from gmail.api import BATCH_SIZE
from gmail.errors import RetryLater

# Gmail allows 15,000 units per user per minute (GMAIL_QUOTA_UNITS_PER_MINUTE), over a
# sliding minute. A bucket refilling at `rate` with room for `burst` spends at most
# burst + 60 * rate in any minute: 95% of the quota as a steady rate plus a 5% burst
# stays under it.
STEADY_SHARE = 0.95
BURST_SHARE = 0.05

# Reserve first, wait after: the bucket may go negative, and the caller sleeps until
# its reservation is covered. Callers are served in arrival order and none starves.
_RESERVE = """
local rate, burst, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
tokens = math.min(burst, tokens + (now - ts) * rate) - cost
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('HINCRBY', KEYS[1], 'spent', cost)
redis.call('EXPIRE', KEYS[1], 3600)
if tokens >= 0 then return '0' end
return tostring(-tokens / rate)
"""
_EXTEND = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
# Gmail refuses a user's calls beyond an unpublished number in flight (a batch's calls
# each count): 429 "Too many concurrent requests for user". A sync and the outbox of one
# mailbox hold slots of one semaphore, so together they never have more in flight.
MAILBOX_IN_FLIGHT = 50
SLOT_LEASE_MS = 120_000  # a dead worker's slots lapse after this
SLOT_WAIT_S = 30.0
# After a concurrency 429 a mailbox's batches are halved, down to BATCH_FLOOR, for a while
# (users report a lower limit for some time after a first 429).
BATCH_FLOOR = 5
BATCH_SHRINK_TTL_S = 10 * 60

# Take `count` slots of KEYS[1] (a sorted set of slot -> lease end) if they fit in
# `capacity`, after dropping lapsed leases.
_ACQUIRE_SLOTS = """
local capacity, count, lease = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) + count > capacity then return 0 end
for i = 1, count do redis.call('ZADD', KEYS[1], now + lease, ARGV[4] .. ':' .. i) end
redis.call('PEXPIRE', KEYS[1], lease)
return 1
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@cache
def redis_client() -> redis.Redis:
    # Bounded waits: a hung Redis must make /health/ and the webhook fail, not hang.
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5, socket_connect_timeout=2)


class Flag(StrEnum):
    """The per-mailbox flags kept in Redis (each with a TTL, so a lost one lapses)."""

    QUEUED = "queued"  # an incremental sync waits in its queue
    FULL_QUEUED = "full-queued"  # a full-sync slice waits in its queue
    OUTBOX_QUEUED = "outbox-queued"  # an outbox flush waits in its queue
    RETRY_SCHEDULED = "retry-scheduled"  # a paused mailbox's delayed sync is scheduled
    FOLLOW_UP_SCHEDULED = "follow-up-scheduled"  # a busy burst's second look is scheduled
    OUTBOX_RETRY_SCHEDULED = "outbox-retry-scheduled"
    FULL_REQUESTED = "full-requested"  # a full resync was asked for


class Backend(Protocol):
    """Where locks, flags and quota buckets live: Redis, or this process."""

    def set_new(self, key: str, value: str, ttl_ms: int) -> bool: ...
    def is_set(self, key: str) -> bool: ...
    def pop(self, key: str) -> bool: ...
    def extend(self, key: str, token: str, ttl_ms: int) -> bool: ...
    def release(self, key: str, token: str) -> None: ...
    def reserve(self, key: str, units: int, rate: float, burst: float) -> float: ...
    def spent(self, key: str) -> int: ...
    def put(self, key: str, value: str, ttl_ms: int) -> None: ...
    def get(self, key: str) -> str | None: ...
    def acquire_slots(
        self, key: str, token: str, count: int, capacity: int, lease_ms: int
    ) -> bool: ...
    def release_slots(self, key: str, token: str, count: int) -> None: ...


class _Redis:
    """Shared by every worker process (REDIS_URL set)."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self._reserve = client.register_script(_RESERVE)
        self._extend = client.register_script(_EXTEND)
        self._release = client.register_script(_RELEASE)
        self._acquire_slots = client.register_script(_ACQUIRE_SLOTS)

    def set_new(self, key: str, value: str, ttl_ms: int) -> bool:
        return bool(self.client.set(key, value, nx=True, px=ttl_ms))

    def is_set(self, key: str) -> bool:
        return bool(self.client.exists(key))

    def pop(self, key: str) -> bool:
        return bool(self.client.delete(key))

    def extend(self, key: str, token: str, ttl_ms: int) -> bool:
        return bool(self._extend(keys=[key], args=[token, ttl_ms]))

    def release(self, key: str, token: str) -> None:
        self._release(keys=[key], args=[token])

    def reserve(self, key: str, units: int, rate: float, burst: float) -> float:
        return float(self._reserve(keys=[key], args=[rate, burst, units]))

    def spent(self, key: str) -> int:
        return int(self.client.hget(key, "spent") or 0)

    def put(self, key: str, value: str, ttl_ms: int) -> None:
        self.client.set(key, value, px=max(1, ttl_ms))

    def get(self, key: str) -> str | None:
        value = self.client.get(key)
        return value.decode() if isinstance(value, bytes) else value

    def acquire_slots(self, key: str, token: str, count: int, capacity: int, lease_ms: int) -> bool:
        return bool(self._acquire_slots(keys=[key], args=[capacity, count, lease_ms, token]))

    def release_slots(self, key: str, token: str, count: int) -> None:
        self.client.zrem(key, *[f"{token}:{i}" for i in range(1, count + 1)])


class _Local:
    """The in-process stand-in for Redis on embedded defaults (tasks in one process)."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._keys: dict[str, tuple[str, float]] = {}  # key -> (value, expires at)
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._spent: dict[str, int] = {}
        self._slots: dict[str, dict[str, float]] = {}  # key -> {slot: lease end}

    def _live(self, key: str, now: float) -> str | None:
        value, until = self._keys.get(key, ("", 0.0))
        return value if until > now else None

    def set_new(self, key: str, value: str, ttl_ms: int) -> bool:
        with self._mutex:
            now = time.monotonic()
            if self._live(key, now) is not None:
                return False
            self._keys[key] = (value, now + ttl_ms / 1000)
            return True

    def is_set(self, key: str) -> bool:
        with self._mutex:
            return self._live(key, time.monotonic()) is not None

    def pop(self, key: str) -> bool:
        with self._mutex:
            return self._keys.pop(key, ("", 0.0))[1] > time.monotonic()

    def extend(self, key: str, token: str, ttl_ms: int) -> bool:
        with self._mutex:
            now = time.monotonic()
            if self._live(key, now) != token:
                return False
            self._keys[key] = (token, now + ttl_ms / 1000)
            return True

    def release(self, key: str, token: str) -> None:
        with self._mutex:
            if self._live(key, time.monotonic()) == token:
                del self._keys[key]

    def reserve(self, key: str, units: int, rate: float, burst: float) -> float:
        with self._mutex:
            now = time.monotonic()
            tokens, at = self._buckets.get(key, (burst, now))
            tokens = min(burst, tokens + (now - at) * rate) - units
            self._buckets[key] = (tokens, now)
            self._spent[key] = self._spent.get(key, 0) + units
            return 0.0 if tokens >= 0 else -tokens / rate

    def spent(self, key: str) -> int:
        return self._spent.get(key, 0)

    def put(self, key: str, value: str, ttl_ms: int) -> None:
        with self._mutex:
            self._keys[key] = (value, time.monotonic() + ttl_ms / 1000)

    def get(self, key: str) -> str | None:
        with self._mutex:
            return self._live(key, time.monotonic())

    def acquire_slots(self, key: str, token: str, count: int, capacity: int, lease_ms: int) -> bool:
        with self._mutex:
            now = time.monotonic()
            held = {s: end for s, end in self._slots.get(key, {}).items() if end > now}
            if len(held) + count > capacity:
                self._slots[key] = held
                return False
            held.update({f"{token}:{i}": now + lease_ms / 1000 for i in range(1, count + 1)})
            self._slots[key] = held
            return True

    def release_slots(self, key: str, token: str, count: int) -> None:
        with self._mutex:
            held = self._slots.get(key, {})
            for i in range(1, count + 1):
                held.pop(f"{token}:{i}", None)


@cache
def _backend_for(redis_url: str | None) -> Backend:
    return _Redis(redis_client()) if redis_url else _Local()


def backend() -> Backend:
    """The one backend, chosen by REDIS_URL the first time it is needed."""
    return _backend_for(settings.REDIS_URL)


def _key(*parts: object) -> str:
    return ":".join([settings.REDIS_KEY_PREFIX, "sync", *map(str, parts)])


def quota_rate_and_burst() -> tuple[float, float]:
    per_minute = settings.GMAIL_QUOTA_UNITS_PER_MINUTE
    return per_minute * STEADY_SHARE / 60, per_minute * BURST_SHARE


def quota_reserve(account_id: int, units: int) -> float:
    """Spend `units` of the account's quota; returns how many seconds to wait first."""
    rate, burst = quota_rate_and_burst()
    return backend().reserve(_key("quota", account_id), units, rate, burst)


def quota_spent(account_id: int) -> int:
    """Units reserved for the account in the last hour of activity (an operator's figure:
    it should equal what Google charged)."""
    return backend().spent(_key("quota", account_id))


class MailboxLock:
    """One sync per mailbox at a time.

    The lock expires `ttl_s` after its last `extend()`: a slow sync keeps it by extending
    as it goes, while a killed worker's lock lapses on its own and the next sync runs.
    """

    def __init__(self, account_id: int, *, ttl_s: float = 120, name: str = "lock") -> None:
        self.key = _key(name, account_id)
        self.ttl_ms = int(ttl_s * 1000)
        self.token = uuid.uuid4().hex

    def acquire(self) -> bool:
        return backend().set_new(self.key, self.token, self.ttl_ms)

    def extend(self) -> bool:
        return backend().extend(self.key, self.token, self.ttl_ms)

    def release(self) -> None:
        backend().release(self.key, self.token)


BUSY = object()


def coalesced_run[T](
    account_id: int,
    *,
    name: str,
    step: Callable[[MailboxLock], T],
    more: Callable[[T], bool],
    ttl_s: int = 15 * 60,
) -> T | object:
    """Run `step(lock)` under the mailbox's `name` lock, once for every ask, folding
    asks that arrive meanwhile into passes of whoever holds the lock.

    The ask is recorded (a flag) before the lock is tried: if another worker holds it,
    that worker finds the flag after its pass and runs one more, so no ask is lost, even
    one made just as the holder finished. `more(result)` says whether to go on after a
    pass. Returns the last pass's result, or BUSY when another worker took the ask.
    """
    flag = f"{name}-pending"
    flag_set(flag, account_id, ttl_s=ttl_s)
    result: T | object = BUSY
    while flag_is_set(flag, account_id):
        lock = MailboxLock(account_id, name=name)
        if not lock.acquire():
            return result
        try:
            while flag_pop(flag, account_id):
                result = step(lock)
                if not more(result):
                    return result
        finally:
            lock.release()
    return result


def flag_set(name: str, account_id: int, *, ttl_s: int) -> bool:
    """Set a flag; returns True if it was not set already (SET NX)."""
    return backend().set_new(_key(name, account_id), "1", ttl_s * 1000)


def flag_is_set(name: str, account_id: int) -> bool:
    return backend().is_set(_key(name, account_id))


def flag_pop(name: str, account_id: int) -> bool:
    """Clear a flag; returns whether it was set."""
    return backend().pop(_key(name, account_id))


class MailboxLimits:
    """Gmail's per-user limits of one mailbox, shared by every worker (gmail.api.Limits)."""

    def __init__(self, account_id: int) -> None:
        self.account_id = account_id

    @contextlib.contextmanager
    def slots(self, count: int) -> Iterator[None]:
        """Hold `count` in-flight slots while the block runs; waits for them up to
        SLOT_WAIT_S (a batch takes a second or two), then gives the worker back."""
        count = min(count, MAILBOX_IN_FLIGHT)
        key, token = _key("in-flight", self.account_id), uuid.uuid4().hex
        deadline = time.monotonic() + SLOT_WAIT_S
        while not backend().acquire_slots(key, token, count, MAILBOX_IN_FLIGHT, SLOT_LEASE_MS):
            if time.monotonic() > deadline:
                raise RetryLater("the mailbox's other calls kept every slot", retry_after=5)
            time.sleep(0.02)
        try:
            yield
        finally:
            backend().release_slots(key, token, count)

    def batch_size(self) -> int:
        stored = backend().get(_key("batch-size", self.account_id))
        size = int(stored) if stored else BATCH_SIZE
        return max(1, min(size, MAILBOX_IN_FLIGHT))

    def batch_shrink(self, size: int) -> None:
        smaller = max(BATCH_FLOOR, min(size, self.batch_size()) // 2)
        backend().put(_key("batch-size", self.account_id), str(smaller), BATCH_SHRINK_TTL_S * 1000)

    def lockout_until(self) -> dt.datetime | None:
        stored = backend().get(_key("lockout", self.account_id))
        return dt.datetime.fromisoformat(stored) if stored else None

    def lockout(self, until: dt.datetime) -> None:
        """Record that Gmail locked the mailbox out until `until`; a lockout already
        known to end later stands (a call in flight may come back with a shorter one)."""
        ttl_ms = int((until - dt.datetime.now(dt.UTC)).total_seconds() * 1000)
        known = self.lockout_until()
        if ttl_ms > 0 and (known is None or until > known):
            backend().put(_key("lockout", self.account_id), until.isoformat(), ttl_ms)


def lockout_clear(account_id: int) -> None:
    """Forget a lockout (an operator who knows Gmail lifted it; tests)."""
    backend().pop(_key("lockout", account_id))
