"""Free words in search go through PostgreSQL's full-text search (mail.search.MessageWords
and FileWords, the GIN indexes of migration 0021): whole words in any case, in the
subject, the people, the body and the file names; a prefix while typing; the indexes
are the ones PostgreSQL reads; and a message too long for one tsvector is still stored
and found by its first words."""

import pytest
from django.contrib.postgres.search import SearchQuery, SearchVectorExact
from django.db import connection, transaction
from django.urls import reverse

from mail import selectors
from mail.models import Attachment, Message
from mail.search import FileWords, message_filter, parse
from tests.mail.factories import AttachmentFactory, MessageFactory, ThreadFactory
from tests.mail.test_list_pages import row_of, rows

pytestmark = pytest.mark.django_db


def found(user, q, *, typing=False):
    matching = message_filter(parse(q, typing=typing), user=user)
    return sorted(Message.objects.filter(matching).values_list("subject", flat=True))


@pytest.fixture
def messages(mailbox):
    def add(subject, **fields):
        thread = ThreadFactory(account=mailbox, subject=subject)
        return MessageFactory(thread=thread, **fields)

    add("Quarterly budget", body_text="Numbers for the BUDGETS of Zoë's team")
    add("Lunch", sender="Ann Lee <ann.lee@acme.example>", body_text="Noodles at noon")
    add("Plans", to="Zoë <zoe@elsewhere.example>", body_text="The plan, v2.0 draft")
    report = add("Files", body_text="See the attachment")
    AttachmentFactory(message=report, filename="Forecast_2027-final.xlsx")
    return mailbox.user


def test_a_word_matches_whole_words_in_any_case_anywhere_a_person_reads(messages):
    assert found(messages, "budget") == ["Quarterly budget"]  # the subject, not BUDGETS
    assert found(messages, "budgets") == ["Quarterly budget"]  # the body, any case
    assert found(messages, "ZOË") == ["Plans", "Quarterly budget"]  # body and a name
    assert found(messages, "acme") == ["Lunch"]  # a part of an address
    assert found(messages, "lee") == ["Lunch"]
    assert found(messages, "forecast") == ["Files"]  # a file name's word
    assert found(messages, "2027") == ["Files"]
    assert found(messages, "v2") == ["Plans"]
    assert found(messages, "bud") == []  # not a word of any message
    assert found(messages, "noon -lunch") == []


def test_the_word_being_typed_matches_as_a_prefix(messages):
    assert found(messages, "quart", typing=True) == ["Quarterly budget"]
    assert found(messages, "fore", typing=True) == ["Files"]
    assert found(messages, "nood", typing=True) == ["Lunch"]


def test_words_other_than_letters_and_digits_still_match_as_written(messages):
    assert found(messages, "Zoë's") == ["Quarterly budget"]
    assert found(messages, "ann.lee@acme.example") == ["Lunch"]
    assert found(messages, '"plan, v2.0"') == ["Plans"]
    # A phrase is checked against the stored words first, by the words it surely holds
    # whole: not the first (the end of a longer word), the last only as a prefix.
    assert found(messages, '"uarterly bud"') == ["Quarterly budget"]
    assert found(messages, '"for the budg"') == ["Quarterly budget"]
    assert found(messages, '"the budget of"') == []


def test_postgresql_reads_the_word_indexes(messages):
    query = SearchQuery("budget", config="simple", search_type="raw")
    with transaction.atomic(), connection.cursor() as cursor:
        # Tiny tables: leave PostgreSQL only the bitmap scans, which need a condition the
        # index serves, so that the plan shows whether the words' index can serve it.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        words = Message.objects.filter(message_filter(parse("budget"), user=messages)).explain()
        files = Attachment.objects.filter(SearchVectorExact(FileWords(), query)).explain()
    assert "mail_message_words" in words
    assert "mail_attachment_words" in files


def test_a_message_longer_than_a_tsvector_holds_is_stored_and_found(mailbox):
    # 200,000 different words, about 2 MB: more than one tsvector may hold (1 MB).
    body = "opening " + " ".join(f"w{n:07d}x" for n in range(200_000))
    thread = ThreadFactory(account=mailbox, subject="A very long log")
    MessageFactory(thread=thread, body_text=body)
    assert found(mailbox.user, "opening") == ["A very long log"]
    assert found(mailbox.user, "w0000001x") == ["A very long log"]


def test_a_word_found_in_many_messages_walks_the_threads_by_the_stored_words(
    client, messages, monkeypatch
):
    # Past SEARCH_CAP matches, the page walks the threads newest first and checks each
    # one's messages in a subquery, where the message table has another alias.
    monkeypatch.setattr(selectors, "SEARCH_CAP", 0)
    client.force_login(messages)
    page = client.get(reverse("mail:search"), {"q": "zoë"})
    assert page.status_code == 200
    html = page.content.decode()
    assert len(rows(html)) == 2
    assert row_of(html, "Plans") and row_of(html, "Quarterly budget")
