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
