"""What workers share about a mailbox: its sync lock and its quota bucket.

Both live in Redis when REDIS_URL is set, so every worker process sees the same lock and
spends from the same bucket. On embedded defaults (no Redis, tasks in one process) an
in-process stand-in with the same behaviour is used.
"""

import threading
import time
import uuid
from enum import StrEnum
from functools import cache

import redis
from django.conf import settings

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
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@cache
def redis_client():
    # Bounded waits: a hung Redis must make /health/ and the webhook fail, not hang.
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5, socket_connect_timeout=2)


class Flag(StrEnum):
    """The per-mailbox flags kept in Redis (each with a TTL, so a lost one lapses)."""

    QUEUED = "queued"  # an incremental sync waits in its queue
    FULL_QUEUED = "full-queued"  # a full-sync slice waits in its queue
    OUTBOX_QUEUED = "outbox-queued"  # an outbox flush waits in its queue
    RETRY_SCHEDULED = "retry-scheduled"  # a paused mailbox's delayed sync is scheduled
    OUTBOX_RETRY_SCHEDULED = "outbox-retry-scheduled"
    FULL_REQUESTED = "full-requested"  # a full resync was asked for


def _key(*parts):
    return ":".join([settings.REDIS_KEY_PREFIX, "sync", *map(str, parts)])


def quota_rate_and_burst():
    per_minute = settings.GMAIL_QUOTA_UNITS_PER_MINUTE
    return per_minute * STEADY_SHARE / 60, per_minute * BURST_SHARE


def quota_reserve(account_id, units):
    """Spend `units` of the account's quota; returns how many seconds to wait first."""
    rate, burst = quota_rate_and_burst()
    if settings.REDIS_URL:
        reserve = redis_client().register_script(_RESERVE)
        return float(reserve(keys=[_key("quota", account_id)], args=[rate, burst, units]))
    return _local.reserve(account_id, units, rate, burst)


def quota_spent(account_id):
    """Units reserved for the account in the last hour of activity (an operator's figure:
    it should equal what Google charged)."""
    if settings.REDIS_URL:
        return int(redis_client().hget(_key("quota", account_id), "spent") or 0)
    return _local.spent.get(account_id, 0)


class MailboxLock:
    """One sync per mailbox at a time.

    The lock expires `ttl_s` after its last `extend()`: a slow sync keeps it by extending
    as it goes, while a killed worker's lock lapses on its own and the next sync runs.
    """

    def __init__(self, account_id, *, ttl_s=120, name="lock"):
        self.key = _key(name, account_id)
        self.ttl_ms = int(ttl_s * 1000)
        self.token = uuid.uuid4().hex

    def acquire(self):
        if settings.REDIS_URL:
            return bool(redis_client().set(self.key, self.token, nx=True, px=self.ttl_ms))
        return _local.acquire(self.key, self.token, self.ttl_ms)

    def extend(self):
        if settings.REDIS_URL:
            script = redis_client().register_script(_EXTEND)
            return bool(script(keys=[self.key], args=[self.token, self.ttl_ms]))
        return _local.extend(self.key, self.token, self.ttl_ms)

    def release(self):
        if settings.REDIS_URL:
            redis_client().register_script(_RELEASE)(keys=[self.key], args=[self.token])
        else:
            _local.release(self.key, self.token)


BUSY = object()


def drain(account_id, *, name, step, more, ttl_s=15 * 60):
    """Run `step(lock)` under the mailbox's `name` lock, once for every ask, folding
    asks that arrive meanwhile into passes of whoever holds the lock.

    The ask is recorded (a flag) before the lock is tried: if another worker holds it,
    that worker finds the flag after its pass and runs one more, so no ask is lost, even
    one made just as the holder finished. `more(answer)` says whether to go on after a
    pass. Returns the last pass's result, or BUSY when another worker took the ask.
    """
    flag = f"{name}-pending"
    flag_set(flag, account_id, ttl_s=ttl_s)
    answer = BUSY
    while flag_is_set(flag, account_id):
        lock = MailboxLock(account_id, name=name)
        if not lock.acquire():
            return answer
        try:
            while flag_pop(flag, account_id):
                answer = step(lock)
                if not more(answer):
                    return answer
        finally:
            lock.release()
    return answer


def flag_set(name, account_id, *, ttl_s):
    """Set a flag; answer True if it was not set already (SET NX)."""
    key = _key(name, account_id)
    if settings.REDIS_URL:
        return bool(redis_client().set(key, "1", nx=True, ex=ttl_s))
    return _local.acquire(key, "1", ttl_s * 1000)


def flag_is_set(name, account_id):
    key = _key(name, account_id)
    if settings.REDIS_URL:
        return bool(redis_client().exists(key))
    return _local.is_set(key)


def flag_pop(name, account_id):
    """Clear a flag; answer whether it was set."""
    key = _key(name, account_id)
    if settings.REDIS_URL:
        return bool(redis_client().delete(key))
    return _local.pop(key)


class _Local:
    """The in-process stand-in for Redis on embedded defaults."""

    def __init__(self):
        self._mutex = threading.Lock()
        self._keys = {}  # key -> (value, expires at)
        self._buckets = {}  # account id -> (tokens, at)
        self.spent = {}  # account id -> units

    def _live(self, key, now):
        value, until = self._keys.get(key, (None, 0))
        return value if until > now else None

    def acquire(self, key, token, ttl_ms):
        with self._mutex:
            now = time.monotonic()
            if self._live(key, now) is not None:
                return False
            self._keys[key] = (token, now + ttl_ms / 1000)
            return True

    def extend(self, key, token, ttl_ms):
        with self._mutex:
            now = time.monotonic()
            if self._live(key, now) != token:
                return False
            self._keys[key] = (token, now + ttl_ms / 1000)
            return True

    def release(self, key, token):
        with self._mutex:
            if self._live(key, time.monotonic()) == token:
                del self._keys[key]

    def is_set(self, key):
        with self._mutex:
            return self._live(key, time.monotonic()) is not None

    def pop(self, key):
        with self._mutex:
            return self._keys.pop(key, (None, 0))[1] > time.monotonic()

    def reserve(self, account_id, units, rate, burst):
        with self._mutex:
            now = time.monotonic()
            tokens, at = self._buckets.get(account_id, (burst, now))
            tokens = min(burst, tokens + (now - at) * rate) - units
            self._buckets[account_id] = (tokens, now)
            self.spent[account_id] = self.spent.get(account_id, 0) + units
            return 0.0 if tokens >= 0 else -tokens / rate


_local = _Local()
