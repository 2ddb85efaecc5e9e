"""Gmail's per-user limits as every worker of a mailbox shares them: the in-flight
semaphore, the remembered batch size and the lockout, on Redis and in-process."""

import datetime as dt
import threading
import time

import pytest

from gmail.errors import RetryLater
from sync import coordination
from sync.coordination import MailboxLimits, _Local, _Redis, redis_client


@pytest.fixture(params=["redis", "local"])
def backend(request, monkeypatch):
    chosen = _Redis(redis_client()) if request.param == "redis" else _Local()
    monkeypatch.setattr(coordination, "backend", lambda: chosen)
    return chosen


def test_slots_beyond_the_mailbox_limit_wait_until_some_are_given_back(backend, monkeypatch):
    monkeypatch.setattr(coordination, "MAILBOX_IN_FLIGHT", 3)
    limits, taken = MailboxLimits(7), threading.Event()

    def hold_two_briefly():
        with limits.slots(2):
            taken.set()
            time.sleep(0.3)

    holder = threading.Thread(target=hold_two_briefly)
    holder.start()
    taken.wait()
    started = time.monotonic()
    with limits.slots(2):  # waits for the holder
        waited = time.monotonic() - started
    holder.join()

    assert waited >= 0.2
    with MailboxLimits(8).slots(3):  # another mailbox has its own
        pass


def test_slots_never_given_back_give_the_worker_back(backend, monkeypatch):
    monkeypatch.setattr(coordination, "MAILBOX_IN_FLIGHT", 2)
    monkeypatch.setattr(coordination, "SLOT_WAIT_S", 0.2)
    limits = MailboxLimits(7)

    with limits.slots(2), pytest.raises(RetryLater), limits.slots(1):
        pass


def test_a_dead_workers_slots_lapse(backend, monkeypatch):
    monkeypatch.setattr(coordination, "MAILBOX_IN_FLIGHT", 1)
    monkeypatch.setattr(coordination, "SLOT_LEASE_MS", 100)
    assert backend.acquire_slots("k", "dead", 1, 1, 100)
    assert not backend.acquire_slots("k", "alive", 1, 1, 100)
    time.sleep(0.15)
    assert backend.acquire_slots("k", "alive", 1, 1, 100)


def test_batches_shrink_after_a_concurrency_refusal_down_to_a_floor(backend):
    limits = MailboxLimits(7)
    assert limits.batch_size() == 50

    sizes = []
    for _ in range(5):
        limits.batch_shrink(limits.batch_size())
        sizes.append(limits.batch_size())

    assert sizes == [25, 12, 6, 5, 5]
    assert MailboxLimits(8).batch_size() == 50


def test_a_lockout_is_shared_until_it_ends(backend):
    until = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=0.3)
    MailboxLimits(7).lockout(until)

    assert MailboxLimits(7).lockout_until() == until
    assert MailboxLimits(8).lockout_until() is None
    time.sleep(0.35)
    assert MailboxLimits(7).lockout_until() is None


def test_a_shorter_lockout_never_cuts_a_longer_one_short(backend):
    """A call in flight may come back with Gmail's one-minute 403 after a 429 gave a
    quarter of an hour: the later time stands."""
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=15)
    MailboxLimits(7).lockout(later)
    MailboxLimits(7).lockout(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1))

    assert MailboxLimits(7).lockout_until() == later
    even_later = later + dt.timedelta(minutes=5)
    MailboxLimits(7).lockout(even_later)
    assert MailboxLimits(7).lockout_until() == even_later
