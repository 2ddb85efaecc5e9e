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
    """Each test starts with an empty cache and no sync locks or flags in Redis (the
    test settings give the suite its own Redis database and key prefix)."""
    from django.core.cache import cache

    from sync.coordination import redis_client

    cache.clear()
    client = redis_client()
    for key in client.scan_iter(f"{settings.REDIS_KEY_PREFIX}:sync:*"):
        client.delete(key)
