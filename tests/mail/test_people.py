"""Address suggestions in compose: the people of the user's own mail, ranked by how
often the user writes to them, then by how often they write; never the user, never
anyone from another user's mailbox; asked by POST so nothing typed lands in a URL."""

import pytest
from django.urls import reverse

from mail import people
from tests.accounts.factories import GmailAccountFactory
from tests.mail.factories import MessageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def alices_mail(alice):
    account = GmailAccountFactory(user=alice, email="alice@example.com")
    me = "Alice <alice@example.com>"
    for to in ["Carol Jones <carol@example.org>"] * 3 + ["Dave <dave@example.net>"]:
        MessageFactory(thread__account=account, sender=me, to=to, label_ids=["SENT"])
    MessageFactory(
        thread__account=account, sender=me, to="carla@example.org", cc=me, label_ids=["SENT"]
    )
    for _ in range(5):  # writes often, but Alice never answers: ranked after carol
        MessageFactory(
            thread__account=account,
            sender="Cathy News <cathy@news.example>",
            to=me,
            label_ids=["INBOX"],
        )
    MessageFactory(
        thread__account=account, sender="Spammer <cash@spam.example>", to=me, label_ids=["SPAM"]
    )
    return account


def suggested(user, typed):
    return [person.address for person in people.suggestions(user=user, typed=typed)]


def test_people_are_ranked_by_how_often_the_user_writes_to_them(alices_mail, alice):
    assert suggested(alice, "ca") == [
        "carol@example.org",
        "carla@example.org",
        "cathy@news.example",
    ]
    assert suggested(alice, "jon") == ["carol@example.org"]  # a word of the name
    assert suggested(alice, "DAVE") == ["dave@example.net"]
    assert suggested(alice, "alice") == []  # never the user
    assert suggested(alice, "cash") == []  # nor spam's senders
    assert suggested(alice, "") == []


def test_another_users_people_are_never_suggested(alices_mail, bob):
    bobs = GmailAccountFactory(user=bob, email="bob@example.com")
    MessageFactory(
        thread__account=bobs, sender="bob@example.com", to="carmen@example.org", label_ids=["SENT"]
    )

    assert suggested(bob, "ca") == ["carmen@example.org"]


def test_the_suggestions_are_asked_by_post_and_answered_as_json(client, alices_mail, alice):
    client.force_login(alice)
    url = reverse("mail:compose_people")

    assert client.get(url, {"q": "ca"}).status_code == 405
    answer = client.post(url, {"q": "car"}).json()

    assert answer["people"][0] == {
        "name": "Carol Jones",
        "address": "carol@example.org",
        "value": "Carol Jones <carol@example.org>",
    }
