"""Pub/Sub push after users.watch: envelope, authentication, retries, coalescing, faults."""

import base64
import datetime as dt
import itertools
import re
import time

import google.auth.transport.requests
import pytest
from google.oauth2 import id_token

from tests.emulator.conftest import rfc822

AUDIENCE = "https://tern.example/webhooks/gmail/"
SERVICE_ACCOUNT = "pubsub-push@tern-project.iam.gserviceaccount.com"
TOPIC = "projects/tern-project/topics/gmail"


@pytest.fixture
def pushes(emulator, push_receiver):
    emulator.set_config(
        push_endpoint=push_receiver.url,
        push_token="s3cret",
        push_audience=AUDIENCE,
        push_service_account=SERVICE_ACCOUNT,
        push_min_interval_ms=100,
        push_backoff_min_ms=20,
        push_backoff_max_ms=200,
    )
    return push_receiver


def eventually(read, done, timeout: float = 5.0):
    """Poll ``read()`` until ``done(value)``: the emulator counts after the answer arrives."""
    deadline = time.monotonic() + timeout
    while not done(value := read()) and time.monotonic() < deadline:
        time.sleep(0.02)
    return value


def watch(gmail, **body):
    return gmail.users().watch(userId="me", body={"topicName": TOPIC, **body}).execute()


def arrive(gmail, subject="Hello", labels=("INBOX", "UNREAD")):
    message = rfc822(sender="zoe@bakery.example", to="alice@example.com", subject=subject)
    body = {"raw": base64.urlsafe_b64encode(message.as_bytes()).decode(), "labelIds": list(labels)}
    return gmail.users().messages().insert(userId="me", body=body).execute()


def test_it_answers_watch_with_the_history_id_and_a_week(emulator, alice, alice_gmail):
    answer = watch(alice_gmail, labelIds=["INBOX"], labelFilterBehavior="include")

    assert answer["historyId"] == emulator.state(alice)["historyId"]
    expires = dt.datetime.fromtimestamp(int(answer["expiration"]) / 1000, dt.UTC)
    assert (
        dt.timedelta(days=6, hours=23) < expires - dt.datetime.now(dt.UTC) <= dt.timedelta(days=7)
    )


def test_it_pushes_googles_envelope_with_a_token_and_a_signed_jwt(
    emulator, alice, alice_gmail, pushes
):
    watch(alice_gmail)
    arrive(alice_gmail)

    push = pushes.wait_for(1)[0]

    assert push.path == "/webhooks/gmail/"
    assert push.query == {"token": "s3cret"}
    assert set(push.body) == {"message", "subscription"}
    message = push.body["message"]
    assert set(message) == {"data", "messageId", "message_id", "publishTime", "publish_time"}
    assert message["messageId"] == message["message_id"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", message["publishTime"])
    assert push.data == {
        "emailAddress": alice,
        "historyId": int(emulator.state(alice)["historyId"]),
    }
    assert push.headers["content-type"] == "application/json"
    request = google.auth.transport.requests.Request()
    for certs in ("/oauth2/v1/certs", "/oauth2/v3/certs"):
        claims = id_token.verify_token(
            push.bearer, request, audience=AUDIENCE, certs_url=emulator.url + certs
        )
        assert claims["iss"] == "https://accounts.google.com"
        assert claims["email"] == SERVICE_ACCOUNT and claims["email_verified"] is True


def test_it_pushes_nothing_without_a_watch_or_after_stop(emulator, alice, alice_gmail, pushes):
    arrive(alice_gmail, "Before watch")
    watch(alice_gmail)
    alice_gmail.users().stop(userId="me").execute()
    arrive(alice_gmail, "After stop")

    assert pushes.quiet_for(0.3) == []
    assert emulator.stats()["pushes"]["published"] == 0


def test_it_coalesces_a_burst_into_about_one_push_a_second(emulator, alice, alice_gmail, pushes):
    emulator.set_config(push_min_interval_ms=400)
    watch(alice_gmail)

    for n in range(6):
        arrive(alice_gmail, f"Burst {n}")
    received = pushes.quiet_for(0.6)

    # Six changes in well under a second: one push at once, perhaps one more after the
    # interval, never one per change.
    assert len(received) in (1, 2), len(received)
    assert received[-1].data["historyId"] == int(emulator.state(alice)["historyId"])


def test_over_the_rate_it_drops_pushes_instead_of_coalescing_them(
    emulator, alice, alice_gmail, pushes
):
    emulator.set_config(push_min_interval_ms=400)
    emulator.set_faults(push_drop_over_rate=True)
    watch(alice_gmail)

    first = arrive(alice_gmail, "Burst 0")
    first_history_id = int(emulator.state(alice)["historyId"])
    for n in range(1, 6):
        arrive(alice_gmail, f"Burst {n}")
    received = pushes.quiet_for(0.8)

    # One push for the first change; the five after it, inside the interval, are lost:
    # no later push brings the newest historyId.
    assert first["id"]
    assert [push.data["historyId"] for push in received] == [first_history_id]
    assert emulator.stats()["pushes"]["dropped"] == 5

    arrive(alice_gmail, "After the interval")
    assert len(pushes.wait_for(2)) == 2


def test_it_retries_until_the_endpoint_acknowledges(emulator, alice, alice_gmail, pushes):
    pushes.answers.extend([500, 503, 404])
    watch(alice_gmail)
    arrive(alice_gmail)

    attempts = pushes.wait_for(4)

    assert len({a.body["message"]["messageId"] for a in attempts}) == 1
    gaps = [b.received_at - a.received_at for a, b in itertools.pairwise(attempts)]
    assert gaps[2] > gaps[0]  # exponential backoff
    counters = eventually(lambda: emulator.stats()["pushes"], lambda c: c["delivered"] == 1)
    assert counters["retried"] == 3 and counters["attempts"] == 4


def test_it_follows_a_label_filter(emulator, alice, alice_gmail, pushes):
    watch(alice_gmail, labelIds=["INBOX"], labelFilterBehavior="include")

    arrive(alice_gmail, "Archived", labels=["UNREAD"])
    assert pushes.quiet_for(0.3) == []
    arrive(alice_gmail, "Inbox")

    assert len(pushes.wait_for(1)) == 1


def test_it_duplicates_pushes_under_fault(emulator, alice, alice_gmail, pushes):
    emulator.set_faults(push_duplicate_rate=1.0, seed=3)
    watch(alice_gmail)
    arrive(alice_gmail)

    received = pushes.wait_for(2)

    assert received[0].body == received[1].body
    assert emulator.stats()["pushes"]["duplicated"] == 1
    delivered = eventually(lambda: emulator.stats()["pushes"], lambda c: c["delivered"] == 2)
    assert delivered["delivered"] == 2


def test_it_drops_pushes_under_fault(emulator, alice, alice_gmail, pushes):
    emulator.set_faults(push_drop_rate=1.0, seed=3)
    watch(alice_gmail)
    arrive(alice_gmail)

    assert pushes.quiet_for(0.3) == []
    assert emulator.stats()["pushes"]["dropped"] == 1


def test_it_delays_pushes_under_fault(emulator, alice, alice_gmail, pushes):
    emulator.set_faults(push_delay_ms=300, seed=3)
    watch(alice_gmail)
    changed = time.monotonic()
    arrive(alice_gmail)

    push = pushes.wait_for(1)[0]

    assert push.received_at - changed >= 0.3


def test_it_reorders_pushes_under_fault(emulator, alice, alice_gmail, pushes):
    # With seed 0 the first notification is held back and the second is not.
    emulator.set_config(push_min_interval_ms=200)
    emulator.set_faults(push_reorder_rate=0.5, seed=0)
    watch(alice_gmail)
    arrive(alice_gmail, "First")
    time.sleep(0.22)
    arrive(alice_gmail, "Second")

    first, second = pushes.wait_for(2)

    assert first.data["historyId"] > second.data["historyId"]
