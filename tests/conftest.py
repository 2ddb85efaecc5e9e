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


@pytest.fixture(scope="session", autouse=True)
def close_stray_connections(django_db_setup, django_db_blocker):
    """Threads of end-to-end tests (live server, Celery worker) keep database connections
    open; end them before pytest-django drops the test database, or it cannot."""
    yield
    from django.db import connection

    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
