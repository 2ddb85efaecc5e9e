import pytest

from support.mailbox import account_connect
from tests.accounts.factories import GmailAccountFactory, UserFactory

pytest_plugins = ["tests.fixtures.emulator"]


@pytest.fixture
def alice(db):
    return UserFactory(username="alice", email="alice@example.com")


@pytest.fixture
def bob(db):
    return UserFactory(username="bob", email="bob@example.com")


@pytest.fixture
def alice_mailbox(alice):
    return GmailAccountFactory(user=alice, email="alice@example.com")


@pytest.fixture
def bob_mailbox(bob):
    return GmailAccountFactory(user=bob, email="bob@example.com")


@pytest.fixture
def mailbox(emulator, alice):
    """Alice's Gmail account: an emulated mailbox, connected with real tokens."""
    return account_connect(emulator, user=alice, email=alice.email, name="Alice Example")


@pytest.fixture
def gmail(emulator, mailbox):
    """Alice's mailbox as another Gmail client of hers sees it."""
    return emulator.gmail(mailbox.email)


@pytest.fixture(autouse=True)
def fresh_cache(settings):
    """Each test starts with an empty cache and no sync locks or flags in Redis. The
    test settings give each run its own key prefix, so only this run's keys go."""
    from sync.coordination import redis_client

    client = redis_client()
    for key in client.scan_iter(f"{settings.REDIS_KEY_PREFIX}:*"):
        client.delete(key)


QUEUES = ("sync", "sync_full", "outbox", "celery")


class Broker:
    """The Celery messages waiting in the real Redis broker of the test settings."""

    def __init__(self, url):
        import redis

        self.redis = redis.Redis.from_url(url)
        self.redis.delete(*QUEUES)

    def tasks(self, queue=None):
        """[(task name, kwargs, eta)] in the order they were sent."""
        import ast
        import json

        found = []
        for name in [queue] if queue else QUEUES:
            # kombu pushes on the left and pops on the right: oldest last.
            for raw in reversed(self.redis.lrange(name, 0, -1)):
                headers = json.loads(raw)["headers"]
                kwargs = ast.literal_eval(headers["kwargsrepr"])
                found.append((headers["task"], kwargs, headers.get("eta")))
        return found

    def names(self, queue=None):
        return [name for name, _, _ in self.tasks(queue)]


@pytest.fixture
def broker(settings):
    broker = Broker(settings.CELERY_BROKER_URL)
    yield broker
    broker.redis.delete(*QUEUES)


@pytest.fixture
def no_celery(monkeypatch):
    """The test flushes the outbox itself, to see each step, as the outbox worker would:
    a user action queues no Celery task (the hand-off is covered end to end with a real
    worker, in tests/sync/test_end_to_end.py)."""
    monkeypatch.setattr("sync.tasks.outbox_flush_enqueue", lambda account_id: None)
    monkeypatch.setattr("sync.tasks.outbox_flush_at", lambda account_id, due: None)


def pytest_terminal_summary(terminalreporter):
    """The chaos test's totals (how many seeds, changes, faults), after every run."""
    from tests.sync import chaos

    for line in chaos.SUMMARY:
        terminalreporter.write_line(line)
