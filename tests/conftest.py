import pytest

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


@pytest.fixture(autouse=True)
def fresh_cache(settings):
    """Each test starts with an empty cache and no sync locks or flags in Redis. The
    test settings give each run its own key prefix, so only this run's keys go."""
    from sync.coordination import redis_client

    client = redis_client()
    for key in client.scan_iter(f"{settings.REDIS_KEY_PREFIX}:*"):
        client.delete(key)
