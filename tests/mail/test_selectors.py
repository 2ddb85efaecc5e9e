import pytest
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext

from mail.models import Label
from mail.selectors import thread_list, thread_of_user, threads_with_label
from tests.accounts.factories import GmailAccountFactory
from tests.mail.factories import ThreadFactory

pytestmark = pytest.mark.django_db


def subjects(threads):
    return [thread.subject for thread in threads]


def test_it_lists_the_newest_threads_of_a_label_first(alice_mailbox):
    ThreadFactory(account=alice_mailbox, subject="older", label_ids=["INBOX"])
    ThreadFactory(account=alice_mailbox, subject="archived", label_ids=["Label_1"])
    ThreadFactory(account=alice_mailbox, subject="newer", label_ids=["INBOX"])

    assert subjects(thread_list(user=alice_mailbox.user, label_gmail_id="INBOX")) == [
        "newer",
        "older",
    ]


def test_the_unified_inbox_merges_every_account_of_the_user(alice, alice_mailbox, bob_mailbox):
    work = GmailAccountFactory(user=alice, email="alice@work.example")
    ThreadFactory(account=alice_mailbox, subject="personal", label_ids=["INBOX"])
    ThreadFactory(account=work, subject="work", label_ids=["INBOX"])
    ThreadFactory(account=bob_mailbox, subject="bob's", label_ids=["INBOX"])

    assert subjects(thread_list(user=alice, label_gmail_id="INBOX")) == ["work", "personal"]


def test_one_label_of_one_account_lists_only_its_threads(alice, alice_mailbox):
    work = GmailAccountFactory(user=alice, email="alice@work.example")
    ThreadFactory(account=alice_mailbox, subject="personal", label_ids=["INBOX"])
    ThreadFactory(account=work, subject="work", label_ids=["INBOX"])
    work_inbox = Label.objects.get(account=work, gmail_id="INBOX")

    assert subjects(thread_list(user=alice, label=work_inbox)) == ["work"]


def test_another_users_label_lists_nothing(alice, bob_mailbox):
    ThreadFactory(account=bob_mailbox, subject="bob's", label_ids=["INBOX"])
    bobs_inbox = Label.objects.get(account=bob_mailbox, gmail_id="INBOX")

    assert thread_list(user=alice, label=bobs_inbox) == []


def test_keyset_pages_walk_every_thread_once(alice_mailbox):
    for n in range(7):
        ThreadFactory(account=alice_mailbox, subject=f"t{n}", label_ids=["INBOX"])

    seen, before = [], None
    while page := thread_list(
        user=alice_mailbox.user, label_gmail_id="INBOX", before=before, limit=3
    ):
        seen += subjects(page)
        before = (page[-1].last_message_at, page[-1].id)

    assert seen == [f"t{n}" for n in reversed(range(7))]


def queries_for_first_page(user):
    with CaptureQueriesContext(connection) as queries:
        page = thread_list(user=user, label_gmail_id="INBOX")
        assert all(thread.subject for thread in page)
    return len(queries), len(page)


def test_the_query_count_stays_the_same_as_the_mailbox_grows(alice_mailbox):
    ThreadFactory.create_batch(10, account=alice_mailbox, label_ids=["INBOX"])
    small = queries_for_first_page(alice_mailbox.user)
    ThreadFactory.create_batch(150, account=alice_mailbox, label_ids=["INBOX", "Label_2"])
    large = queries_for_first_page(alice_mailbox.user)

    assert small == (1, 10)
    assert large == (1, 50)


@pytest.mark.parametrize(
    ("by", "index"),
    [("label_gmail_id", "threadlabel_user_recent"), ("label", "threadlabel_label_recent")],
)
def test_postgres_walks_an_index_instead_of_sorting_the_label(alice_mailbox, by, index):
    ThreadFactory.create_batch(60, account=alice_mailbox, label_ids=["INBOX"])
    inbox = Label.objects.get(account=alice_mailbox, gmail_id="INBOX")
    which = {"label_gmail_id": "INBOX"} if by == "label_gmail_id" else {"label": inbox}
    sql, params = threads_with_label(user=alice_mailbox.user, **which)[:50].query.sql_with_params()
    with connection.cursor() as cursor:
        # A tiny table would otherwise be scanned, or its indexes ANDed as bitmaps.
        cursor.execute("SET enable_seqscan = off")
        cursor.execute("SET enable_bitmapscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("SET enable_seqscan = on")
        cursor.execute("SET enable_bitmapscan = on")

    assert index in plan, plan
    assert "Sort" not in plan, plan


def test_a_thread_is_got_only_by_its_owner(alice_mailbox, bob_mailbox):
    thread = ThreadFactory(account=alice_mailbox, subject="mine", label_ids=["INBOX"])

    assert thread_of_user(user=alice_mailbox.user, thread_id=thread.pk) == thread
    with pytest.raises(Http404):
        thread_of_user(user=bob_mailbox.user, thread_id=thread.pk)
