"""The sync lock and the quota bucket, on the real Redis of the test settings."""

import time

import pytest

from sync.coordination import (
    BUSY,
    Flag,
    MailboxLock,
    coalesced_run,
    flag_pop,
    flag_set,
    quota_rate_and_burst,
    quota_reserve,
    redis_client,
)

QUOTA_UNITS_PER_MINUTE = 15_000


@pytest.fixture(autouse=True)
def clean_redis(settings):
    assert settings.REDIS_URL  # these tests are about the shared, Redis-backed version
    for key in redis_client().scan_iter(f"{settings.REDIS_KEY_PREFIX}:sync:*"):
        redis_client().delete(key)


def test_only_one_worker_holds_a_mailbox_lock():
    first, second = MailboxLock(7), MailboxLock(7)

    assert first.acquire()
    assert not second.acquire()
    assert MailboxLock(8).acquire()  # another mailbox is not blocked

    first.release()
    assert second.acquire()


def test_a_dead_workers_lock_lapses_but_an_extended_one_does_not():
    # Leases of 1 s, extended every 0.3 s: generous margins for a loaded CI machine.
    dead, alive = MailboxLock(1, ttl_s=1.0), MailboxLock(2, ttl_s=1.0)
    assert dead.acquire() and alive.acquire()

    for _ in range(5):
        time.sleep(0.3)
        assert alive.extend()

    assert MailboxLock(1).acquire()
    assert not MailboxLock(2).acquire()


def test_releasing_someone_elses_lock_does_nothing():
    holder = MailboxLock(3, ttl_s=0.2)
    assert holder.acquire()
    time.sleep(0.3)
    successor = MailboxLock(3)
    assert successor.acquire()

    holder.release()  # the first holder wakes up late and releases

    assert not MailboxLock(3).acquire()


def test_the_bucket_never_lets_a_minute_spend_more_than_the_quota(settings):
    settings.GMAIL_QUOTA_UNITS_PER_MINUTE = QUOTA_UNITS_PER_MINUTE
    rate, burst = quota_rate_and_burst()
    waits = [quota_reserve(9, 250) for _ in range(120)]  # 30,000 units asked at once

    assert waits[0] == 0
    # What may start within the first minute: the burst plus a minute of refill.
    started_in_a_minute = sum(250 for wait in waits if wait < 60)
    assert started_in_a_minute <= QUOTA_UNITS_PER_MINUTE
    assert started_in_a_minute >= 0.9 * QUOTA_UNITS_PER_MINUTE
    assert waits == sorted(waits)  # first come, first served
    assert waits[-1] == pytest.approx((30_000 - burst) / rate, rel=0.01)


def test_a_flag_coalesces_until_popped():
    assert flag_set(Flag.QUEUED, 5, ttl_s=60)
    assert not flag_set(Flag.QUEUED, 5, ttl_s=60)
    assert flag_pop(Flag.QUEUED, 5)
    assert not flag_pop(Flag.QUEUED, 5)
    assert flag_set(Flag.QUEUED, 5, ttl_s=60)


def test_an_ask_made_while_a_pass_runs_becomes_one_more_pass_of_the_holder():
    passes, answers_to_others = [], []

    def step(lock):
        passes.append(len(passes) + 1)
        if len(passes) == 1:  # meanwhile, two other workers ask for the same mailbox
            for _ in range(2):
                answers_to_others.append(coalesced_run(4, name="work", step=step, more=bool))
        return "done"

    answer = coalesced_run(4, name="work", step=step, more=bool)

    assert answer == "done"
    assert answers_to_others == [BUSY, BUSY]
    assert passes == [1, 2]  # both asks folded into one more pass, none lost
    assert MailboxLock(4, name="work").acquire()  # released at the end
