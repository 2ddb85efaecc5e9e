"""The search box's suggestions as one types: the query so far, its last word as a
prefix, answered by POST with the newest matching conversations of the user's own."""

import pytest
from django.urls import reverse

from mail.search import Term, parse
from support.mailbox import sync_until_done as sync
from tests.sync.helpers import deliver, raw_message

pytestmark = pytest.mark.django_db


def test_the_word_being_typed_is_a_prefix_and_only_that_one():
    assert parse("from:ann quart", typing=True).nodes[1] == Term("", "quart", prefix=True)
    assert parse("quart ", typing=True) == Term("", "quart")  # a space: the word is done
    assert parse("quart") == Term("", "quart")  # a search, not typing
    assert parse('"quart"', typing=True) == Term("", "quart", phrase=True)


@pytest.fixture
def alices(client, mailbox, gmail):
    for subject in ("Quarterly budget", "Quartz watch repair", "Lunch plans"):
        deliver(gmail, raw_message(to=mailbox.email, subject=subject))
    sync(mailbox)
    client.force_login(mailbox.user)
    return client


def suggested(client, q):
    answer = client.post(reverse("mail:search_suggest"), {"q": q})
    assert answer.status_code == 200
    return sorted(thread["subject"] for thread in answer.json()["threads"])


def test_suggestions_match_the_prefix_being_typed(alices):
    assert suggested(alices, "quar") == ["Quarterly budget", "Quartz watch repair"]
    assert suggested(alices, "quarte") == ["Quarterly budget"]
    assert suggested(alices, "quar -budget") == []  # the prefix is only the last word
    assert suggested(alices, "lun") == ["Lunch plans"]
    assert suggested(alices, "qu") == []  # too short to suggest
    assert suggested(alices, "from:(") == []  # not readable yet: no error while typing


def test_the_suggestions_link_to_threads_and_never_show_another_users(alices, bob, client):
    found = alices.post(reverse("mail:search_suggest"), {"q": "quarterly"}).json()["threads"]
    assert found[0]["url"].startswith("/mail/thread/")
    assert alices.get(reverse("mail:search_suggest")).status_code == 405

    client.force_login(bob)
    assert suggested(client, "quar") == []
