"""POST /mail/act/ and /mail/undo/: each action a person takes on a page reaches Gmail
(the emulator's state, after the outbox's flush), and Undo puts Gmail back as it was."""

import re

import pytest
from django.urls import reverse

from mail.models import Label, OutboxAction, Thread
from support.mailbox import sync_until_done as sync
from sync.outbox import outbox_flush
from tests.sync.helpers import a_conversation, deliver, raw_message

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_celery")]

UNDO = re.compile(r'name="undo" value="([^"]+)"')


@pytest.fixture
def signed_in(client, mailbox):
    client.force_login(mailbox.user)
    return client


def labels_at_gmail(emulator, mailbox):
    return {
        gmail_id: message["labelIds"]
        for gmail_id, message in emulator.state(mailbox.email)["messages"].items()
    }


def flushed(mailbox):
    assert outbox_flush(account_id=mailbox.pk).retry_at is None
    assert not OutboxAction.objects.filter(account=mailbox).exists(), "Gmail refused it"


def a_thread(gmail, mailbox, *, labels=("INBOX", "UNREAD")):
    first = deliver(gmail, raw_message(to=mailbox.email, subject="Quarterly budget"), labels)
    sync(mailbox)
    return Thread.objects.get(account=mailbox, gmail_id=first["threadId"])


def act(client, thread_ids, action, **fields):
    data = {"action": action, "thread": [str(pk) for pk in thread_ids], **fields}
    return client.post(reverse("mail:act"), data, follow=True)


# (action, labels the thread starts with, labels added, labels removed, extra fields)
UNDOABLE = [
    ("archive", ("INBOX",), set(), {"INBOX"}),
    ("inbox", (), {"INBOX"}, set()),
    ("trash", ("INBOX",), {"TRASH"}, {"INBOX"}),
    ("spam", ("INBOX",), {"SPAM"}, {"INBOX"}),
    ("not_spam", ("SPAM",), {"INBOX"}, {"SPAM"}),
    ("move", ("INBOX",), {"<label>"}, {"INBOX"}),
    ("label_add", ("INBOX",), {"<label>"}, set()),
]


@pytest.mark.parametrize(("action", "start", "added", "removed"), UNDOABLE)
def test_an_action_reaches_gmail_and_undo_puts_gmail_back(
    action, start, added, removed, signed_in, emulator, mailbox, gmail
):
    projects = gmail.users().labels().create(userId="me", body={"name": "Projects"}).execute()
    thread = a_thread(gmail, mailbox, labels=start)
    label = Label.objects.get(account=mailbox, gmail_id=projects["id"])
    before = labels_at_gmail(emulator, mailbox)

    page = act(signed_in, [thread.pk], action, label=str(label.pk), next="/mail/")

    assert page.status_code == 200
    flushed(mailbox)
    expect_added = {projects["id"] if name == "<label>" else name for name in added}
    for gmail_id, labels in labels_at_gmail(emulator, mailbox).items():
        assert set(labels) == (set(before[gmail_id]) | expect_added) - removed, action
    token = UNDO.search(page.content.decode())[1]

    undone = signed_in.post(reverse("mail:undo"), {"undo": token, "next": "/mail/"}, follow=True)

    assert "Action undone." in undone.content.decode()
    flushed(mailbox)
    assert labels_at_gmail(emulator, mailbox) == before


def test_trash_from_the_thread_page_returns_to_the_list_with_a_toast(
    signed_in, emulator, mailbox, gmail
):
    thread = a_thread(gmail, mailbox)

    response = signed_in.post(
        reverse("mail:act"),
        {
            "action": "trash",
            "thread": thread.pk,
            "next": "/mail/label/STARRED/",
            "here": thread.get_absolute_url(),
        },
    )

    assert response.status_code == 303 and response["Location"] == "/mail/label/STARRED/"
    page = signed_in.get(response["Location"]).content.decode()
    assert "Conversation moved to Trash." in page and 'name="undo"' in page
    # Shown once.
    assert "Conversation moved to Trash." not in signed_in.get("/mail/").content.decode()


def test_starring_keeps_the_thread_in_view(signed_in, emulator, mailbox, gmail):
    thread = a_thread(gmail, mailbox)
    here = thread.get_absolute_url()

    response = signed_in.post(
        reverse("mail:act"), {"action": "star", "thread": thread.pk, "next": "/mail/", "here": here}
    )

    assert response["Location"] == here
    flushed(mailbox)
    newest = max(emulator.state(mailbox.email)["messages"].items(), key=lambda item: item[0])
    assert "STARRED" in newest[1]["labelIds"]


def test_a_selection_is_acted_on_at_once(signed_in, emulator, mailbox, gmail):
    threads = [a_thread(gmail, mailbox) for _ in range(3)]
    kept = a_thread(gmail, mailbox)

    page = act(signed_in, [t.pk for t in threads], "archive", next="/mail/")

    text = page.content.decode()
    assert "3 conversations archived." in text
    assert kept.get_absolute_url() in text
    assert not any(t.get_absolute_url() in text for t in threads)
    flushed(mailbox)
    state = emulator.state(mailbox.email)["messages"]
    inbox = {m["threadId"] for m in state.values() if "INBOX" in m["labelIds"]}
    assert inbox == {kept.gmail_id}


def test_the_thread_s_labels_become_exactly_those_checked(signed_in, emulator, mailbox, gmail):
    work, home = (
        gmail.users().labels().create(userId="me", body={"name": name}).execute()["id"]
        for name in ("Work", "Home")
    )
    thread = a_thread(gmail, mailbox, labels=("INBOX", work))
    home_label = Label.objects.get(account=mailbox, gmail_id=home)

    act(signed_in, [thread.pk], "labels", label=str(home_label.pk))

    flushed(mailbox)
    (labels,) = labels_at_gmail(emulator, mailbox).values()
    assert home in labels and work not in labels and "INBOX" in labels


def test_the_page_s_quiet_read_marks_the_thread_read_without_a_toast(
    signed_in, emulator, mailbox, gmail
):
    thread = a_thread(gmail, mailbox)
    here = thread.get_absolute_url()

    page = act(signed_in, [thread.pk], "read", quiet="1", here=here)

    assert page.redirect_chain[-1][0] == here
    assert "Marked as read" not in page.content.decode().split('id="toast"')[1]
    flushed(mailbox)
    assert all("UNREAD" not in labels for labels in labels_at_gmail(emulator, mailbox).values())


def test_another_user_s_thread_is_404_and_nothing_of_the_request_is_applied(
    client, emulator, mailbox, gmail, bob
):
    thread = a_thread(gmail, mailbox)
    mine = Thread.objects.create(
        account=mailbox, gmail_id="mine", last_message_at=thread.last_message_at
    )
    client.force_login(bob)

    response = client.post(reverse("mail:act"), {"action": "archive", "thread": [thread.pk]})

    assert response.status_code == 404
    client.force_login(mailbox.user)
    response = client.post(reverse("mail:act"), {"action": "archive", "thread": [mine.pk, 10**9]})
    assert response.status_code == 404
    assert not OutboxAction.objects.exists()


def test_another_user_s_label_is_404(client, emulator, mailbox, gmail, bob):
    thread = a_thread(gmail, mailbox)
    other = Label.objects.create(account=mailbox, gmail_id="Label_9", name="Mine")
    client.force_login(bob)

    response = client.post(
        reverse("mail:act"), {"action": "label_add", "thread": thread.pk, "label": other.pk}
    )

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"action": "explode", "thread": "1"}, "Tern does not know that action."),
        ({"action": "archive"}, "Select at least one conversation first."),
        ({"action": "archive", "thread": "one"}, "That is not a conversation Tern knows."),
        ({"action": "move", "thread": "<thread>"}, "Choose a label first."),
        ({"action": "delete", "thread": "<thread>"}, "does not include deleting forever"),
    ],
)
def test_bad_input_gets_a_clear_400_and_changes_nothing(
    data, problem, signed_in, emulator, mailbox, gmail
):
    thread = a_thread(gmail, mailbox)
    data = {key: str(thread.pk) if value == "<thread>" else value for key, value in data.items()}

    response = signed_in.post(reverse("mail:act"), data)

    assert response.status_code == 400
    assert problem in response.content.decode()
    assert not OutboxAction.objects.exists()


def test_htmx_gets_the_problem_in_the_toast_and_the_page_stays(signed_in, emulator, mailbox):
    response = signed_in.post(reverse("mail:act"), {"action": "archive"}, HTTP_HX_REQUEST="true")

    assert response.status_code == 200 and response["HX-Reswap"] == "none"
    assert 'hx-swap-oob="true"' in response.content.decode()
    assert "Select at least one conversation first." in response.content.decode()


def test_an_undo_token_is_the_user_s_own_and_cannot_be_forged(
    client, emulator, mailbox, gmail, bob
):
    thread = a_thread(gmail, mailbox)
    client.force_login(mailbox.user)
    page = act(client, [thread.pk], "archive", next="/mail/")
    token = UNDO.search(page.content.decode())[1]
    client.force_login(bob)

    assert client.post(reverse("mail:undo"), {"undo": token}).status_code == 404
    forged = client.post(reverse("mail:undo"), {"undo": token[:-2] + "xx"})
    assert forged.status_code == 400 and "no longer be undone" in forged.content.decode()


def test_nothing_changes_on_get(signed_in, emulator, mailbox, gmail):
    thread = a_thread(gmail, mailbox)

    assert (
        signed_in.get(reverse("mail:act"), {"action": "archive", "thread": thread.pk}).status_code
        == 405
    )
    assert signed_in.get(reverse("mail:undo")).status_code == 405
    assert not OutboxAction.objects.exists()


def test_next_never_leaves_the_site(signed_in, emulator, mailbox, gmail):
    thread = a_thread(gmail, mailbox)

    response = signed_in.post(
        reverse("mail:act"),
        {"action": "archive", "thread": thread.pk, "next": "https://evil.example/"},
    )

    assert response["Location"] == "/mail/"


def test_the_conversation_of_a_thread_page_is_a_plain_conversation(
    signed_in, emulator, mailbox, gmail
):
    """The threads of a_conversation are the helpers' shape: still one thread here."""
    thread_id = a_conversation(gmail, to=mailbox.email, replies=1)
    sync(mailbox)
    thread = Thread.objects.get(gmail_id=thread_id)

    page = signed_in.get(thread.get_absolute_url()).content.decode()

    assert 'id="thread-actions"' in page and 'value="archive"' in page
    assert 'hx-trigger="load"' in page  # unread: it marks itself read once shown
