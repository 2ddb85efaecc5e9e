"""The sync engine against the emulator over HTTP, through the app's one Gmail client."""

import pytest

from mail.models import Message, Thread, ThreadLabel
from support.mailbox import account_connect
from support.mailbox import sync_until_done as sync
from sync import services
from sync.models import SyncStatus
from tests.sync.helpers import (
    FULL_SCOPES,
    a_conversation,
    assert_mirror_equals_gmail,
    believe_delete_allowed,
    deliver,
    raw_message,
)

pytestmark = pytest.mark.django_db

ALICE = "alice@example.com"


@pytest.fixture
def gmail(emulator, mailbox):
    """Gmail as another client of Alice's sees it (with the scope to delete for good)."""
    return emulator.gmail(ALICE, scopes=FULL_SCOPES)


def test_a_full_sync_mirrors_the_mailbox_exactly(emulator, mailbox, gmail):
    thread_id = a_conversation(gmail, to=ALICE)
    for n in range(12):
        deliver(gmail, raw_message(to=ALICE, subject=f"Newsletter {n}", html=f"<p>Issue {n}</p>"))
    deliver(gmail, raw_message(to=ALICE, subject="Sent by me"), labels=["SENT"])

    sync(mailbox)

    state = assert_mirror_equals_gmail(emulator, mailbox)
    assert len(state["messages"]) == 16
    thread = Thread.objects.get(account=mailbox, gmail_id=thread_id)
    assert thread.message_count == 3
    assert thread.is_unread
    assert thread.subject == "Lunch plans"
    status = SyncStatus.objects.get(account=mailbox)
    assert status.history_id == int(state["historyId"])
    assert status.full_sync_state == SyncStatus.FullSync.DONE


def test_bodies_are_stored_so_reading_needs_no_gmail_call(emulator, mailbox, gmail):
    deliver(gmail, raw_message(to=ALICE, subject="Body", body="Plain words", html="<b>Bold</b>"))

    sync(mailbox)

    message = Message.objects.get(account=mailbox)
    assert "Plain words" in message.body_text
    assert "<b>Bold</b>" in message.body_html
    assert message.sender == "Carol Sender <carol@elsewhere.example>"


def test_snippets_are_stored_as_plain_text_and_shown_escaped_once(emulator, mailbox, gmail, client):
    deliver(gmail, raw_message(to=ALICE, subject="Quote", body='I\'m <here> & "there"'))
    [listed] = gmail.users().messages().list(userId="me").execute()["messages"]
    served = gmail.users().messages().get(userId="me", id=listed["id"]).execute()["snippet"]
    assert served == "I&#39;m &lt;here&gt; &amp; &quot;there&quot;"  # as Gmail serves it

    sync(mailbox)

    assert Message.objects.get(account=mailbox).snippet == 'I\'m <here> & "there"'
    assert Thread.objects.get(account=mailbox).snippet == 'I\'m <here> & "there"'
    client.force_login(mailbox.user)
    page = client.get("/mail/").content.decode()
    assert "I&#x27;m &lt;here&gt; &amp; &quot;there&quot;" in page  # escaped once, by Django
    assert "&amp;#39;" not in page and "&amp;lt;" not in page


def test_incremental_sync_applies_every_kind_of_change(emulator, mailbox, gmail):
    keep = deliver(gmail, raw_message(to=ALICE, subject="keep"))
    relabel = deliver(gmail, raw_message(to=ALICE, subject="relabel"))
    gone = deliver(gmail, raw_message(to=ALICE, subject="gone"))
    sync(mailbox)
    messages = gmail.users().messages()

    fresh = deliver(gmail, raw_message(to=ALICE, subject="fresh"))
    messages.modify(
        userId="me",
        id=relabel["id"],
        body={"addLabelIds": ["STARRED"], "removeLabelIds": ["UNREAD"]},
    ).execute()
    messages.trash(userId="me", id=keep["id"]).execute()
    messages.delete(userId="me", id=gone["id"]).execute()
    result = sync(mailbox)

    assert_mirror_equals_gmail(emulator, mailbox)
    assert result.changes == {"added": 1, "deleted": 1, "relabelled": 2}
    assert Message.objects.filter(account=mailbox, gmail_id=fresh["id"]).exists()
    starred = Thread.objects.get(account=mailbox, gmail_id=relabel["threadId"])
    assert starred.is_starred and not starred.is_unread


def test_incremental_sync_reads_every_page_of_history(emulator, mailbox, gmail, monkeypatch):
    sync(mailbox)
    monkeypatch.setattr(services, "HISTORY_PAGE_SIZE", 2)
    for n in range(7):
        deliver(gmail, raw_message(to=ALICE, subject=f"paged {n}"))

    sync(mailbox)

    state = assert_mirror_equals_gmail(emulator, mailbox)
    assert len(state["messages"]) == 7
    assert SyncStatus.objects.get(account=mailbox).history_id == int(state["historyId"])


def test_it_spends_one_history_call_and_one_batch_per_sync(emulator, mailbox, gmail):
    sync(mailbox)
    for n in range(5):
        deliver(gmail, raw_message(to=ALICE, subject=f"burst {n}"))
    before = emulator.stats()

    sync(mailbox)

    calls = method_calls(emulator.stats(), ALICE, before)
    assert calls.get("users.history.list") == 1
    assert calls.get("users.messages.get") == 5  # in one batch, not five round trips
    assert "users.messages.list" not in calls


def method_calls(stats, email, before):
    def of(snapshot):
        return snapshot["users"].get(email, {}).get("methods", {})

    now, then = of(stats), of(before)
    return {
        name: counts["calls"] - then.get(name, {}).get("calls", 0)
        for name, counts in now.items()
        if counts["calls"] - then.get(name, {}).get("calls", 0)
    }


def test_an_expired_history_id_leads_to_a_full_resync_that_loses_nothing(emulator, mailbox, gmail):
    old = deliver(gmail, raw_message(to=ALICE, subject="old"))
    deleted = deliver(gmail, raw_message(to=ALICE, subject="deleted while away"))
    sync(mailbox)
    gmail.users().messages().delete(userId="me", id=deleted["id"]).execute()
    gmail.users().messages().modify(
        userId="me", id=old["id"], body={"removeLabelIds": ["INBOX"]}
    ).execute()
    deliver(gmail, raw_message(to=ALICE, subject="new while away"))
    emulator.expire_history(ALICE)

    sync(mailbox)

    state = assert_mirror_equals_gmail(emulator, mailbox)
    assert len(state["messages"]) == 2
    assert not Message.objects.filter(gmail_id=deleted["id"]).exists()
    assert SyncStatus.objects.get(account=mailbox).history_id == int(state["historyId"])


def test_a_killed_full_sync_resumes_where_it_stopped(emulator, mailbox, gmail, monkeypatch):
    for n in range(12):
        deliver(gmail, raw_message(to=ALICE, subject=f"many {n}"))
    monkeypatch.setattr(services, "LIST_PAGE_SIZE", 4)
    monkeypatch.setattr(services, "INBOX_FIRST_PAGE", 2)
    real_store = services.mirror.messages_store
    stores = []

    def dies_on_the_third_page(**kwargs):
        stores.append(1)
        if len(stores) == 3:
            raise KeyboardInterrupt("worker killed")
        return real_store(**kwargs)

    monkeypatch.setattr(services.mirror, "messages_store", dies_on_the_third_page)
    with pytest.raises(KeyboardInterrupt):
        sync(mailbox)
    assert SyncStatus.objects.get(account=mailbox).full_sync_page_token  # a checkpoint
    monkeypatch.setattr(services.mirror, "messages_store", real_store)
    before = emulator.stats()

    sync(mailbox)

    assert_mirror_equals_gmail(emulator, mailbox)
    fetched = method_calls(emulator.stats(), ALICE, before).get("users.messages.get", 0)
    # Stored before the crash: the 2 newest (the inbox page) and the first list page of 4,
    # which held those 2 as well. Only the other 8 are fetched again.
    assert fetched == 12 - 4


def test_thread_label_rows_follow_the_messages(emulator, mailbox, gmail):
    thread_id = a_conversation(gmail, to=ALICE, replies=1)
    sync(mailbox)
    for message in gmail.users().threads().get(userId="me", id=thread_id).execute()["messages"]:
        gmail.users().messages().modify(
            userId="me", id=message["id"], body={"removeLabelIds": ["INBOX"]}
        ).execute()

    sync(mailbox)

    thread = Thread.objects.get(account=mailbox, gmail_id=thread_id)
    labels = set(ThreadLabel.objects.filter(thread=thread).values_list("label_gmail_id", flat=True))
    assert "INBOX" not in labels
    assert "UNREAD" in labels


def test_a_label_deleted_after_history_mentions_it_leaves_no_trace(emulator, mailbox, gmail):
    message = deliver(gmail, raw_message(to=ALICE))
    sync(mailbox)
    label = gmail.users().labels().create(userId="me", body={"name": "Doomed"}).execute()
    gmail.users().messages().modify(
        userId="me", id=message["id"], body={"addLabelIds": [label["id"]]}
    ).execute()
    # Deleting a label takes it off every message, and Gmail records no history for it.
    gmail.users().labels().delete(userId="me", id=label["id"]).execute()

    sync(mailbox)

    assert_mirror_equals_gmail(emulator, mailbox)
    assert not mailbox.labels.filter(gmail_id=label["id"]).exists()


def test_a_renamed_label_is_renamed_in_the_mirror(emulator, mailbox, gmail):
    label = gmail.users().labels().create(userId="me", body={"name": "Projects"}).execute()
    sync(mailbox)

    gmail.users().labels().patch(
        userId="me", id=label["id"], body={"name": "Archive/Projects"}
    ).execute()
    sync(mailbox)

    assert mailbox.labels.get(gmail_id=label["id"]).name == "Archive/Projects"


def test_label_changes_cost_the_same_queries_for_3_or_30_messages(emulator, mailbox, gmail):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    ids = [deliver(gmail, raw_message(to=ALICE, subject=f"bulk {n}"))["id"] for n in range(30)]
    sync(mailbox)

    def queries_to_mark_read(some):
        gmail.users().messages().batchModify(
            userId="me", body={"ids": some, "removeLabelIds": ["UNREAD"]}
        ).execute()
        with CaptureQueriesContext(connection) as queries:
            sync(mailbox)
        return len(queries)

    few, many = queries_to_mark_read(ids[:3]), queries_to_mark_read(ids[3:])

    assert many == few, (few, many)
    assert_mirror_equals_gmail(emulator, mailbox)


@pytest.mark.django_db(transaction=True)
def test_a_users_action_waits_for_a_sync_writing_the_same_mailbox(emulator, alice):
    """A sync inserts a reply into a thread while the user deletes the thread's only
    message they saw: the action must wait for the sync and then find the reply, not
    read the thread as empty and delete it, reply and all (found in review)."""
    import threading
    import time

    from django.db import connection, transaction

    from mail import mirror
    from mail import services as mail_services

    account = account_connect(emulator, user=alice, email=ALICE, name="Alice Example")
    believe_delete_allowed(account)
    gmail = emulator.gmail(ALICE)
    first = deliver(gmail, raw_message(to=ALICE, subject="Plans"))
    sync(account)
    parent = gmail.users().messages().get(userId="me", id=first["id"]).execute()
    message_id = next(
        h["value"] for h in parent["payload"]["headers"] if h["name"].lower() == "message-id"
    )
    reply = deliver(gmail, raw_message(to=ALICE, subject="Re: Plans", reply_to_id=message_id))
    resource = gmail.users().messages().get(userId="me", id=reply["id"]).execute()
    thread = Thread.objects.get(account=account)
    holding, release = threading.Event(), threading.Event()

    def sync_page():
        with transaction.atomic():
            mirror.lock_mirror(account.pk)
            holding.set()
            release.wait(10)
            mirror.messages_store(account=account, resources=[resource])
        connection.close()

    def user():
        mail_services.thread_delete_forever(thread=thread)
        connection.close()

    writer = threading.Thread(target=sync_page)
    writer.start()
    holding.wait(10)
    deleter = threading.Thread(target=user)
    deleter.start()
    time.sleep(0.3)
    assert deleter.is_alive()  # waiting for the sync's transaction
    release.set()
    writer.join(10)
    deleter.join(10)

    assert Message.objects.filter(account=account, gmail_id=reply["id"]).exists()
    assert Thread.objects.filter(pk=thread.pk).exists()
