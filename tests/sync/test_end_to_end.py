"""Gmail → push → webhook → Celery → mirror, with every part real.

The emulator pushes to Tern's webhook on pytest-django's live server; a real Celery
worker (a thread of this process, consuming the Redis broker) runs the sync.
"""

import time

import pytest
from celery.contrib.testing.worker import start_worker

from config.celery_app import app
from mail.models import Message
from sync.models import SyncStatus
from sync.services import Outcome, mailbox_sync, watch_register
from tests.sync.helpers import connect, deliver, raw_message

pytestmark = pytest.mark.django_db(transaction=True)

ALICE = "alice@example.com"


@pytest.fixture
def worker():
    with start_worker(
        app, pool="solo", perform_ping_check=False, queues=["sync", "sync_full", "outbox"]
    ) as running:
        yield running


@pytest.fixture
def watched_mailbox(emulator, alice, live_server, settings):
    account = connect(emulator, alice, ALICE, "Alice Example")
    result = mailbox_sync(account_id=account.pk)
    while result.outcome == Outcome.MORE:
        result = mailbox_sync(account_id=account.pk)
    emulator.set_config(
        push_endpoint=f"{live_server.url}/webhooks/gmail/?token={settings.PUBSUB_VERIFICATION_TOKEN}",
        push_audience=settings.PUBSUB_AUDIENCE,
        push_service_account=settings.PUBSUB_SERVICE_ACCOUNT,
    )
    watch_register(account=account)
    return account


def wait_for(predicate, timeout=30.0):
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(0.01)
    raise AssertionError(f"not within {timeout} s")


def test_new_mail_reaches_the_mirror_moments_after_the_push(emulator, watched_mailbox, worker):
    gmail = emulator.gmail(ALICE)
    latencies = []
    for n in range(5):
        time.sleep(1.1)  # Gmail coalesces pushes to about one a second per mailbox
        started = time.monotonic()
        message = deliver(gmail, raw_message(to=ALICE, subject=f"live {n}"))
        wait_for(lambda gid=message["id"]: Message.objects.filter(gmail_id=gid).exists())
        latencies.append(time.monotonic() - started)

    print(f"import → mirror: {', '.join(f'{s * 1000:.0f} ms' for s in latencies)}")
    assert max(latencies) < 10  # generous; the figure that matters is printed above
    status = SyncStatus.objects.get(account=watched_mailbox)
    assert status.last_push_at is not None
    assert status.history_id == int(emulator.state(ALICE)["historyId"])
