"""The thread lists as a person reads them: the unified inbox, any label of every
account or of one account, All mail; rows that say who wrote, what, when, and link to
their thread; pages that walk the whole list by keyset."""

import datetime as dt
import email.message
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mail.models import Label, Thread, ThreadLabel
from support.mailbox import sync_until_done as sync
from sync.models import SyncStatus
from tests.accounts.factories import GmailAccountFactory
from tests.mail.factories import LabelFactory, MessageFactory, ThreadFactory
from tests.sync.helpers import a_conversation, deliver, raw_message

pytestmark = pytest.mark.django_db

ALICE = "alice@example.com"
ROW = re.compile(
    r'<li class="thread( unread)?">\s*<label class="pick">.*?</label>\s*'
    r'<a class="row" href="(/mail/thread/\d+/)">'
)


def rows(page: str) -> list[str]:
    """The href of each row, in order."""
    return [match[1] for match in ROW.findall(page)]


def row_of(page: str, subject: str) -> str:
    """The HTML of the row with `subject`."""
    for chunk in page.split('<li class="thread')[1:]:
        if f'<span class="subject">{subject}</span>' in chunk:
            return chunk.split("</li>")[0]
    raise AssertionError(f"no row {subject!r}")


@pytest.fixture
def projects(gmail):
    """Alice's user label Projects/Tern (green), under Projects."""
    labels = gmail.users().labels()
    labels.create(userId="me", body={"name": "Projects"}).execute()
    color = {"backgroundColor": "#16a766", "textColor": "#ffffff"}
    return labels.create(userId="me", body={"name": "Projects/Tern", "color": color}).execute()


@pytest.mark.usefixtures("no_celery")
def test_a_row_shows_what_gmail_holds_and_links_to_its_thread(client, mailbox, gmail, projects):
    message = email.message.EmailMessage()
    message["From"] = "Ann Lee <ann@acme.example>"
    message["To"] = ALICE
    message["Subject"] = "Quarterly budget"
    message.set_content("Please review the numbers")
    message.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="b.pdf")
    labels = ("INBOX", "UNREAD", "STARRED", "IMPORTANT", projects["id"])
    deliver(gmail, message, labels=labels)
    deliver(gmail, raw_message(to=ALICE, subject="Plain", body="Nothing special"), labels=["INBOX"])
    sync(mailbox)
    client.force_login(mailbox.user)

    page = client.get("/mail/").content.decode()

    budget = Thread.objects.get(subject="Quarterly budget")
    row = row_of(page, "Quarterly budget")
    assert f'<a class="row" href="/mail/thread/{budget.pk}/">' in row
    assert f"/mail/thread/{budget.pk}/" in rows(page)
    assert "Ann Lee" in row and "Please review the numbers" in row
    assert "Unread," in row and "Starred," in row and "Important," in row
    assert "Has attachments," in row
    assert 'fill="#16a766"/></svg>Projects/Tern</span>' in row
    assert re.search(r'<time datetime="[^"]+">\d\d:\d\d</time>', row)  # today: the time
    plain = row_of(page, "Plain")
    for marker in ("Unread,", "Starred,", "Important,", "Has attachments,", 'class="chip"'):
        assert marker not in plain
    assert page.count("<h1>") == 1 and "<h1>Inbox</h1>" in page


@pytest.mark.usefixtures("no_celery")
def test_a_conversation_names_its_senders_with_me_and_counts_its_messages(client, mailbox, gmail):
    thread_id = a_conversation(gmail, to=ALICE, replies=1)
    first = gmail.users().threads().get(userId="me", id=thread_id).execute()["messages"][0]
    mine = raw_message(
        to="carol@elsewhere.example",
        sender=f"Alice Example <{ALICE}>",
        subject="Re: Lunch plans",
        reply_to_id=next(
            h["value"] for h in first["payload"]["headers"] if h["name"] == "Message-ID"
        ),
    )
    deliver(gmail, mine, labels=["SENT"])
    sync(mailbox)
    client.force_login(mailbox.user)

    row = row_of(client.get("/mail/").content.decode(), "Lunch plans")

    assert '<span class="names"><span>Carol Sender</span>, <span class="me">me</span></span>' in row
    assert '<span class="count">3</span>' in row
    sent = client.get("/mail/label/SENT/").content.decode()
    assert "<h1>Sent</h1>" in sent and '<span class="me">me</span>' in row_of(sent, "Lunch plans")


@pytest.mark.usefixtures("no_celery")
def test_every_list_has_its_page_and_the_sidebar_counts_unread(client, mailbox, gmail, projects):
    deliver(gmail, raw_message(to=ALICE, subject="Tern news"), labels=[projects["id"], "UNREAD"])
    deliver(gmail, raw_message(to=ALICE, subject="In the inbox"), labels=["INBOX"])
    sync(mailbox)
    client.force_login(mailbox.user)
    label_url = f"/mail/account/{mailbox.pk}/label/{projects['id']}/"

    inbox = client.get("/mail/").content.decode()
    labelled = client.get(label_url).content.decode()
    unified_label = client.get(f"/mail/label/{projects['id']}/").content.decode()
    all_mail = client.get(f"/mail/account/{mailbox.pk}/label/ALL/").content.decode()

    assert "Tern news" not in inbox and "In the inbox" in inbox
    assert "<h1>Projects/Tern</h1>" in labelled and "Tern news" in labelled
    assert "In the inbox" not in labelled
    assert "Tern news" in unified_label
    assert "Tern news" in all_mail and "In the inbox" in all_mail
    # The sidebar: Projects, and Tern nested under it, linked, with its unread count.
    assert '<li class="depth-0"><a href="/mail/account/' in inbox
    tern = re.search(rf'<li class="depth-1"><a href="{label_url}".*?</li>', inbox)[0]
    assert '<span class="name">Tern</span>' in tern
    assert '<span class="unread-count">1<span class="visually-hidden"> unread' in tern
    for name in ("Inbox", "Starred", "Snoozed", "Important", "Sent", "Drafts", "All mail"):
        assert f'<span class="name">{name}</span>' in inbox
    assert client.get("/mail/label/SNOOZED/").status_code == 200


def inbox_unread(page: str) -> str:
    """The unread count beside Inbox in the sidebar's lists ("" for none)."""
    found = re.search(r'<span class="name">Inbox</span>(<span class="unread-count">(\d+))?', page)
    return found[2] or ""


@pytest.mark.usefixtures("no_celery")
def test_the_sidebar_and_the_rows_are_kept_but_never_behind_the_mailbox(client, mailbox, gmail):
    deliver(gmail, raw_message(to=ALICE, subject="First"))
    sync(mailbox)
    client.force_login(mailbox.user)
    assert inbox_unread(client.get("/mail/").content.decode()) == "1"
    with CaptureQueriesContext(connection) as warm:
        assert inbox_unread(client.get("/mail/").content.decode()) == "1"

    deliver(gmail, raw_message(to=ALICE, subject="Second"))
    sync(mailbox)  # mail arrives: the sync's change makes the sidebar again
    with CaptureQueriesContext(connection) as cold:
        page = client.get("/mail/").content.decode()
    assert inbox_unread(page) == "2" and "Second" in page  # the page's rows, kept, too
    # The sidebar's three queries and the page's three, skipped while nothing changed.
    assert len(cold) == len(warm) + 6

    first = Thread.objects.get(subject="First")
    client.post(reverse("mail:act"), {"action": "read", "thread": first.pk, "here": "/mail/"})
    assert inbox_unread(client.get("/mail/").content.decode()) == "1"  # at once, as shown

    gmail.users().labels().create(userId="me", body={"name": "Receipts"}).execute()
    sync(mailbox)
    assert '<span class="name">Receipts</span>' in client.get("/mail/").content.decode()


def test_the_unified_view_marks_each_rows_account(client, alice, alice_mailbox):
    work = GmailAccountFactory(user=alice, email="alice@work.example")
    ThreadFactory(account=alice_mailbox, subject="personal", label_ids=["INBOX"])
    ThreadFactory(account=work, subject="work", label_ids=["INBOX"])
    client.force_login(alice)

    unified = client.get("/mail/").content.decode()
    one = client.get(f"/mail/account/{work.pk}/").content.decode()

    assert '<span class="visually-hidden">alice@work.example:</span>' in row_of(unified, "work")
    assert f'<span class="visually-hidden">{ALICE}:</span>' in row_of(unified, "personal")
    assert "personal" not in one and "account-mark" not in row_of(one, "work")


def test_pages_walk_the_whole_list_both_ways_without_losing_or_repeating_a_row(
    client, alice_mailbox
):
    threads = [ThreadFactory(account=alice_mailbox, label_ids=["INBOX"]) for _ in range(120)]
    # Two threads at the same moment: the cursor's thread id keeps them apart.
    Thread.objects.filter(pk=threads[60].pk).update(last_message_at=threads[61].last_message_at)
    ThreadLabel.objects.filter(thread=threads[60]).update(
        last_message_at=threads[61].last_message_at
    )
    client.force_login(alice_mailbox.user)

    pages, url = [], "/mail/"
    while url:
        page = client.get(url).content.decode()
        pages.append(rows(page))
        older = re.search(r'<a href="([^"]+)" rel="next">', page)
        url = older[1].replace("&amp;", "&") if older else None

    assert [len(p) for p in pages] == [50, 50, 20]
    seen = [href for p in pages for href in p]
    assert sorted(seen) == sorted(f"/mail/thread/{t.pk}/" for t in threads)
    assert len(set(seen)) == 120
    # Back from the last page: the newer links give the same pages again.
    back = []
    while True:
        newer = re.search(r'<a href="([^"]+)" rel="prev">', page)
        if not newer:
            break
        page = client.get(newer[1]).content.decode()
        back.append(rows(page))
    assert back == [pages[1], pages[0]]
    assert 'rel="prev"' not in client.get("/mail/").content.decode()


def test_a_cursor_that_is_not_one_shows_the_first_page(client, alice_mailbox):
    ThreadFactory(account=alice_mailbox, subject="only", label_ids=["INBOX"])
    client.force_login(alice_mailbox.user)

    response = client.get("/mail/?older=yesterday.x")

    assert response.status_code == 200 and "only" in response.text


def test_another_users_labels_and_accounts_do_not_exist(client, alice, alice_mailbox, bob_mailbox):
    bobs = ThreadFactory(account=bob_mailbox, subject="Bob's", label_ids=["INBOX", "Label_9"])
    LabelFactory(account=alice_mailbox, gmail_id="INBOX")
    client.force_login(alice)

    for url in (
        "/mail/label/Label_9/",
        f"/mail/account/{bob_mailbox.pk}/",
        f"/mail/account/{bob_mailbox.pk}/label/INBOX/",
        f"/mail/account/{bob_mailbox.pk}/label/ALL/",
        f"/mail/account/{alice_mailbox.pk}/label/Label_9/",
    ):
        assert client.get(url).status_code == 404, url
    assert "Bob" not in client.get("/mail/label/ALL/").content.decode()
    assert bobs.get_absolute_url() == f"/mail/thread/{bobs.pk}/"


def test_a_list_without_mail_says_so(client, alice_mailbox):
    client.force_login(alice_mailbox.user)

    assert "Inbox zero. Nothing needs you." in client.get(reverse("mail:inbox")).content.decode()
    trash = client.get(reverse("mail:folder", args=["TRASH"])).content.decode()
    assert "No conversations here." in trash


def test_senders_come_from_the_messages(client, alice_mailbox):
    thread = ThreadFactory(account=alice_mailbox, subject="chat", label_ids=["INBOX"])
    thread.message_count = 2
    thread.save()
    earlier = thread.last_message_at - dt.timedelta(hours=1)
    MessageFactory(thread=thread, sender="Dan <dan@example.net>", internal_date=earlier)
    MessageFactory(thread=thread, sender=f"Alice <{ALICE.upper()}>")
    assert Label.objects.filter(account=alice_mailbox).count() == 1
    client.force_login(alice_mailbox.user)

    row = row_of(client.get("/mail/").content.decode(), "chat")

    assert '<span>Dan</span>, <span class="me">me</span>' in row


def test_an_empty_inbox_during_the_first_sync_shows_its_progress(client, alice_mailbox):
    SyncStatus.objects.create(account=alice_mailbox, full_sync_messages_done=1234)
    client.force_login(alice_mailbox.user)

    page = client.get("/mail/").content.decode()

    assert "The first sync of alice@example.com is under way" in page
    assert "1234 messages mirrored so far" in page
    assert "Inbox zero" not in page
