"""Per-user quota in Google's units and Google's rate-limit answers."""

import base64
import concurrent.futures
import datetime as dt
import time

import httpx
import pytest
from googleapiclient.errors import HttpError

from tests.emulator.conftest import rfc822


def test_it_answers_429_once_the_users_minute_is_spent(emulator, alice, alice_gmail):
    emulator.set_config(quota_units_per_minute=10)
    profile = alice_gmail.users().getProfile(userId="me")

    for _ in range(10):
        profile.execute()
    with pytest.raises(HttpError) as caught:
        profile.execute()

    assert caught.value.status_code == 429
    detail = caught.value.error_details[0]
    assert detail["reason"] == "rateLimitExceeded"
    assert detail["message"].startswith("User-rate limit exceeded.  Retry after ")
    emulator.advance_clock(61)
    assert profile.execute()["emailAddress"] == alice


def test_it_charges_googles_cost_per_method(emulator, alice, bob, alice_gmail):
    message = rfc822(sender=alice, to=bob, subject="Costs")
    raw = base64.urlsafe_b64encode(message.as_bytes()).decode()
    alice_gmail.users().messages().send(userId="me", body={"raw": raw}).execute()
    alice_gmail.users().messages().list(userId="me").execute()
    alice_gmail.users().labels().list(userId="me").execute()
    alice_gmail.users().threads().list(userId="me").execute()
    alice_gmail.users().history().list(userId="me", startHistoryId="99999999").execute()

    user = emulator.stats()["users"][alice]
    units = {name: m["units"] for name, m in user["methods"].items()}

    assert units == {
        "users.messages.send": 100,
        "users.messages.list": 5,
        "users.labels.list": 1,
        "users.threads.list": 10,
        "users.history.list": 2,
    }
    assert user["units"] == 118


def test_it_keeps_each_users_quota_apart(emulator, alice, bob, alice_gmail, bob_gmail):
    emulator.set_config(quota_units_per_minute=1)
    alice_gmail.users().getProfile(userId="me").execute()

    with pytest.raises(HttpError):
        alice_gmail.users().getProfile(userId="me").execute()
    assert bob_gmail.users().getProfile(userId="me").execute()["emailAddress"] == bob


def test_it_answers_403_when_the_project_minute_is_spent(emulator, alice, alice_gmail):
    emulator.set_config(project_quota_units_per_minute=2)
    alice_gmail.users().getProfile(userId="me").execute()
    alice_gmail.users().getProfile(userId="me").execute()

    with pytest.raises(HttpError) as caught:
        alice_gmail.users().getProfile(userId="me").execute()

    assert caught.value.status_code == 403
    assert caught.value.error_details[0]["reason"] == "rateLimitExceeded"
    assert caught.value.error_details[0]["domain"] == "usageLimits"


@pytest.mark.parametrize(
    ("status", "wording"),
    [
        (429, "User-rate limit exceeded.  Retry after "),
        (403, "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user'"),
    ],
)
def test_a_lockout_refuses_every_call_until_it_ends(emulator, alice, alice_gmail, status, wording):
    until = emulator.lockout(alice, seconds=900, status=status)["until"]
    profile = alice_gmail.users().getProfile(userId="me")

    with pytest.raises(HttpError) as caught:
        profile.execute()

    assert caught.value.status_code == status
    assert "retry-after" not in caught.value.resp  # the time is only in the message
    detail = caught.value.error_details[0]
    assert detail["reason"] == "rateLimitExceeded"
    assert detail["message"].startswith(wording)
    if status == 429:  # the time is in the message; the 403 gives none
        stamp = detail["message"].rsplit("Retry after ", 1)[1]
        assert dt.datetime.fromisoformat(stamp).timestamp() == pytest.approx(until, abs=0.01)
    else:
        assert "Retry after" not in detail["message"]
    emulator.advance_clock(899)
    with pytest.raises(HttpError):
        profile.execute()
    emulator.advance_clock(2)
    assert profile.execute()["emailAddress"] == alice


def test_it_refuses_calls_beyond_the_users_in_flight_limit(emulator, alice, alice_gmail):
    emulator.set_config(concurrent_requests_per_user=3)
    emulator.set_faults(latency_ms=400)
    tokens = emulator.tokens(alice)["access_tokens"]
    headers = {"Authorization": f"Bearer {tokens[-1]['token']}"}
    url = f"{emulator.url}/gmail/v1/users/me/profile"

    with concurrent.futures.ThreadPoolExecutor(5) as pool:
        answers = list(pool.map(lambda _: httpx.get(url, headers=headers, timeout=10), range(5)))

    refused = [a for a in answers if a.status_code == 429]
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 429, 429]
    assert refused[0].json()["error"]["message"] == "Too many concurrent requests for user"
    assert refused[0].json()["error"]["errors"][0]["reason"] == "rateLimitExceeded"
    stats = emulator.stats()["concurrency"]
    assert stats == {"peak": {alice: 3}, "refused": {alice: 2}}
    assert alice_gmail.users().getProfile(userId="me").execute()  # slots given back


def test_a_call_in_flight_across_a_reset_leaves_the_new_counter_whole(emulator, alice, alice_gmail):
    """A call admitted before a reset gives its slot back to the counter it took it from,
    not to the new one (which would let one call too many through the next test)."""
    url = f"{emulator.url}/gmail/v1/users/me/profile"

    def bearer(token):
        return {"Authorization": f"Bearer {token}"}

    old_token = emulator.tokens(alice)["access_tokens"][-1]["token"]
    emulator.set_faults(latency_ms=600)
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        before_reset = pool.submit(httpx.get, url, headers=bearer(old_token), timeout=10)
        time.sleep(0.15)  # admitted, waiting out its latency
        emulator.reset()
        emulator.create_user(alice, "Alice")
        emulator.set_config(concurrent_requests_per_user=1)
        emulator.set_faults(latency_ms=1500)
        token = emulator.issue_tokens(alice)["access_token"]
        holding = pool.submit(httpx.get, url, headers=bearer(token), timeout=10)
        before_reset.result()  # its slot released while `holding` is in flight
        third = pool.submit(httpx.get, url, headers=bearer(token), timeout=10)

        assert holding.result().status_code == 200
        assert third.result().status_code == 429  # the one slot is taken
