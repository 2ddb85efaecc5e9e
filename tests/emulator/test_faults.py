"""Injected API faults: statuses, method filter, latency, and replay by seed."""

import time

import httpx
import pytest
from googleapiclient.errors import HttpError


def outcomes(gmail, count: int) -> list[int]:
    results = []
    for _ in range(count):
        try:
            gmail.users().getProfile(userId="me").execute()
            results.append(200)
        except HttpError as error:
            results.append(error.status_code)
    return results


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (500, "backendError"),
        (503, "backendError"),
        (429, "rateLimitExceeded"),
        (403, "userRateLimitExceeded"),
    ],
)
def test_it_fails_calls_with_googles_bodies(emulator, alice, alice_gmail, status, reason):
    emulator.set_faults(error_rate=1.0, statuses=[status])

    with pytest.raises(HttpError) as caught:
        alice_gmail.users().labels().list(userId="me").execute()

    assert caught.value.status_code == status
    assert caught.value.error_details[0]["reason"] == reason


def test_the_same_seed_replays_the_same_failures(emulator, alice, alice_gmail):
    emulator.set_faults(error_rate=0.5, statuses=[500, 503], seed=1234)
    first = outcomes(alice_gmail, 20)
    emulator.set_faults(error_rate=0.5, statuses=[500, 503], seed=1234)
    second = outcomes(alice_gmail, 20)

    assert first == second
    assert {200, 500, 503} == set(first)


def test_it_reports_a_fresh_seed_when_none_is_given(emulator):
    faults = emulator.set_faults(error_rate=0.1)

    assert isinstance(faults["seed"], int)
    assert emulator.stats()["faults_seed"] == faults["seed"]
    assert f"seed={faults['seed']}" in emulator.log_text()


def test_it_fails_only_the_chosen_methods(emulator, alice, alice_gmail):
    emulator.set_faults(error_rate=1.0, statuses=[503], methods=["users.labels.list"])

    assert alice_gmail.users().getProfile(userId="me").execute()["emailAddress"] == alice
    with pytest.raises(HttpError):
        alice_gmail.users().labels().list(userId="me").execute()


def test_the_client_retries_injected_errors_with_num_retries(emulator, alice, alice_gmail):
    emulator.set_faults(error_rate=0.5, statuses=[503, 429, 403], seed=7)
    request = alice_gmail.users().getProfile(userId="me")
    backoffs = []
    request._sleep = backoffs.append  # the library's own backoff, without the wait

    profile = request.execute(num_retries=10)

    assert profile["emailAddress"] == alice
    assert backoffs, "seed 7 makes the first attempts fail"
    assert emulator.stats()["users"][alice]["methods"]["users.getProfile"]["errors"] == len(
        backoffs
    )


def test_it_adds_latency(emulator, alice, alice_gmail):
    alice_gmail.users().getProfile(userId="me").execute()
    emulator.set_faults(latency_ms=150)

    started = time.monotonic()
    alice_gmail.users().getProfile(userId="me").execute()

    assert time.monotonic() - started >= 0.15


def test_it_refuses_nonsense_faults(emulator):
    answer = httpx.put(f"{emulator.url}/_emulator/faults", json={"error_rate": 2})
    unknown = httpx.put(f"{emulator.url}/_emulator/faults", json={"explode": True})
    status = httpx.put(f"{emulator.url}/_emulator/faults", json={"statuses": [418]})

    assert answer.status_code == unknown.status_code == status.status_code == 400


def test_it_fails_calls_with_the_transient_precondition_400(emulator, alice, alice_gmail):
    emulator.set_faults(error_rate=1.0, statuses=[400])

    with pytest.raises(HttpError) as caught:
        alice_gmail.users().labels().list(userId="me").execute()

    assert caught.value.status_code == 400
    detail = caught.value.error_details[0]
    assert (detail["reason"], detail["message"]) == (
        "failedPrecondition",
        "Precondition check failed.",
    )
    emulator.set_faults(error_rate=0.0)
    assert alice_gmail.users().labels().list(userId="me").execute()["labels"]


def test_a_lockout_fault_locks_the_user_out_for_its_length(emulator, alice, bob, alice_gmail):
    emulator.set_faults(lockout_rate=1.0, lockout_s=600, seed=3)
    with pytest.raises(HttpError) as caught:
        alice_gmail.users().getProfile(userId="me").execute()
    emulator.set_faults(lockout_rate=0.0)

    assert caught.value.status_code in (429, 403)
    assert caught.value.error_details[0]["reason"] == "rateLimitExceeded"
    assert alice in emulator.stats()["lockouts"]
    with pytest.raises(HttpError):  # still locked out, faults off
        alice_gmail.users().getProfile(userId="me").execute()
    assert emulator.gmail(bob).users().getProfile(userId="me").execute()  # only Alice
    emulator.advance_clock(601)
    assert alice_gmail.users().getProfile(userId="me").execute()["emailAddress"] == alice


def test_a_call_refused_by_a_lockout_never_renews_it(emulator, alice, alice_gmail):
    emulator.set_faults(lockout_rate=1.0, lockout_s=600, seed=3)
    with pytest.raises(HttpError):
        alice_gmail.users().getProfile(userId="me").execute()
    first = emulator.stats()["lockouts"][alice]

    for _ in range(3):  # refused calls, each of which would roll a new lockout
        emulator.advance_clock(100)
        with pytest.raises(HttpError):
            alice_gmail.users().getProfile(userId="me").execute()

    assert emulator.stats()["lockouts"][alice] == first  # the time Gmail gave still holds
    emulator.set_faults(lockout_rate=0.0)
    emulator.advance_clock(301)
    assert alice_gmail.users().getProfile(userId="me").execute()["emailAddress"] == alice
