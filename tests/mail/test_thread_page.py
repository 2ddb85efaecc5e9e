"""The thread page, for a conversation delivered to the emulated Gmail and synced."""

import email.message
import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.template.loader import get_template
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mail import services
from mail.fragments import csrf_slot
from mail.mirror_version import mirror_changed
from mail.models import Message, Thread, TrustedSender
from mail.views.thread import MESSAGE_TEMPLATES
from support.mailbox import sync_to_end
from tests.mail.factories import ThreadFactory
from tests.sync.helpers import a_conversation, deliver, raw_message

pytestmark = pytest.mark.django_db


@pytest.fixture
def proxy(monkeypatch):
    """mail.images.proxied, whose route another part of Tern serves: a stand-in path."""
    monkeypatch.setattr("mail.images.proxied", lambda url: f"/mail/image/T{len(url)}/")


def synced_thread(mailbox, gmail_thread_id):
    sync_to_end(mailbox)
    return Thread.objects.get(account=mailbox, gmail_id=gmail_thread_id)


def page_of(client, user, thread, **params):
    client.force_login(user)
    response = client.get(reverse("mail:thread", args=[thread.pk]), params)
    assert response.status_code == 200
    return response.content.decode()


def message_items(page):
    return re.findall(
        r'<li class="message[^"]*" id="message-\d+">.*?</li>\s*(?=<li class="message|</ol>)',
        page,
        re.S,
    )


def test_it_shows_the_conversation_oldest_first_newest_open(client, mailbox, gmail):
    thread_id = a_conversation(gmail, to=mailbox.email, replies=2)
    thread = synced_thread(mailbox, thread_id)
    # Only the newest is unread: the two older ones were read.
    older = list(Message.objects.filter(thread=thread).order_by("internal_date"))[:2]
    for message in older:
        gmail.users().messages().modify(
            userId="me", id=message.gmail_id, body={"removeLabelIds": ["UNREAD"]}
        ).execute()
    thread = synced_thread(mailbox, thread_id)

    page = page_of(client, mailbox.user, thread)

    assert '<h1 id="thread-subject">Lunch plans</h1>' in page
    items = message_items(page)
    assert len(items) == 3
    assert ["open" in item.split(">", 2)[1] for item in items] == [False, False, True]
    assert all(
        "Carol Sender" in item and "&lt;carol@elsewhere.example&gt;" in item for item in items
    )
    assert '<li class="chip">Inbox</li>' in page


def test_unread_messages_are_open_even_when_older(client, mailbox, gmail):
    thread = synced_thread(mailbox, a_conversation(gmail, to=mailbox.email, replies=1))

    items = message_items(page_of(client, mailbox.user, thread))

    assert all('<details class="message-card" open>' in item for item in items)


def test_full_headers_are_on_demand(client, mailbox, gmail):
    message = raw_message(to="Alice <alice@example.com>", subject="Headers")
    message["Cc"] = "Bob Example <bob@example.com>"
    message["Reply-To"] = "replies@elsewhere.example"
    thread_id = deliver(gmail, message)["threadId"]

    page = page_of(client, mailbox.user, synced_thread(mailbox, thread_id))

    assert re.search(r'<details class="headers">\s*<summary>Show details</summary>', page)
    headers = page.split('<details class="headers">', 1)[1].split("</details>", 1)[0]
    assert "<dt>Cc</dt><dd>Bob Example &lt;bob@example.com&gt;</dd>" in headers
    assert "<dt>Reply-To</dt><dd>replies@elsewhere.example</dd>" in headers
    assert "<dt>Message-ID</dt><dd>&lt;m" in headers
    assert 'cc <span title="bob@example.com">Bob Example</span>' in page


def test_attachments_and_an_attached_message_are_listed(client, mailbox, gmail):
    message = raw_message(to=mailbox.email, subject="Files", body="See attached.")
    message.add_attachment(
        b"%PDF-1.4 " + b"x" * 2048,
        maintype="application",
        subtype="pdf",
        filename="budget <2026>.pdf",
    )
    forwarded = email.message.EmailMessage()
    forwarded["From"] = "dave@elsewhere.example"
    forwarded["Subject"] = "The original <b>offer</b>"
    forwarded.set_content("Inner body")
    message.add_attachment(forwarded)
    thread_id = deliver(gmail, message)["threadId"]

    page = page_of(client, mailbox.user, synced_thread(mailbox, thread_id))

    assert re.search(
        r'<a class="filename" href="/mail/attachment/\d+/" download>budget &lt;2026&gt;\.pdf</a>',
        page,
    )
    assert re.search(r'<span class="meta">2\.\d\xa0KB · application/pdf</span>', page)
    assert re.search(
        r'Attached message: <a class="filename" href="/mail/attachment/\d+/message/">'
        r"The original &lt;b&gt;offer&lt;/b&gt;</a>",
        page,
    )
    assert "Inner body" not in page


def test_plain_text_keeps_line_breaks_and_gets_links(client, mailbox, gmail):
    body = "Hi Alice,\nthe agenda: https://example.com/agenda?x=1&y=2\n\n<script>alert(1)</script>"
    thread_id = deliver(gmail, raw_message(to=mailbox.email, body=body))["threadId"]

    page = page_of(client, mailbox.user, synced_thread(mailbox, thread_id))

    assert (
        '<p>Hi Alice,<br>the agenda: <a href="https://example.com/agenda?x=1&amp;y=2" '
        'target="_blank" rel="noopener noreferrer">https://example.com/agenda?x=1&amp;y=2</a></p>'
    ) in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert" not in page


HOSTILE_HTML = (
    '<p>Sale!</p><img src="https://cdn.shop.example/banner.png" alt="Banner">'
    '<img src="https://mail.shop.example/o.gif" width="1" height="1">'
    "<script>alert(1)</script>"
)


def test_html_mail_is_sanitised_into_a_sandboxed_iframe_without_images(client, mailbox, gmail):
    thread_id = deliver(gmail, raw_message(to=mailbox.email, html=HOSTILE_HTML))["threadId"]
    thread = synced_thread(mailbox, thread_id)

    page = page_of(client, mailbox.user, thread)

    iframe = re.search(r"<iframe [^>]*>", page).group(0)
    assert 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in iframe
    srcdoc = re.search(r'srcdoc="([^"]*)"', iframe).group(1)
    assert "default-src &amp;#x27;none&amp;#x27;; img-src data:;" in srcdoc
    assert "&lt;p&gt;Sale!&lt;/p&gt;&lt;img alt=&quot;Banner&quot;&gt;" in srcdoc
    assert "shop.example" not in page and "script" not in srcdoc
    assert '<button type="submit">Show images</button>' in page
    assert "1 tracker blocked" in page
    # Sanitised once: stored with the message and reused.
    message = Message.objects.get(thread=thread)
    assert message.body_html_safe.startswith("<p>Sale!</p>") and message.body_html_safe_version


def test_show_images_renders_them_through_the_proxy(client, mailbox, gmail, proxy):
    thread_id = deliver(gmail, raw_message(to=mailbox.email, html=HOSTILE_HTML))["threadId"]
    thread = synced_thread(mailbox, thread_id)
    message = Message.objects.get(thread=thread)

    page = page_of(client, mailbox.user, thread, images=message.pk)

    srcdoc = re.search(r'srcdoc="([^"]*)"', page).group(1)
    url = "https://cdn.shop.example/banner.png"
    assert f"&lt;img src=&quot;http://testserver/mail/image/T{len(url)}/&quot;" in srcdoc
    assert "img-src data: http://testserver/mail/image/;" in srcdoc
    assert "shop.example" not in page
    assert "Show images" not in page and "1 tracker blocked" in page


def test_a_stored_sanitisation_is_reused(client, mailbox, gmail):
    thread_id = deliver(gmail, raw_message(to=mailbox.email, html="<p>Original</p>"))["threadId"]
    thread = synced_thread(mailbox, thread_id)
    page_of(client, mailbox.user, thread)
    Message.objects.filter(thread=thread).update(body_html_safe="<p>Cached</p>")
    cache.clear()  # the message's HTML is rendered again, from what was stored

    page = page_of(client, mailbox.user, thread)

    assert "Cached" in page and "Original" not in page


def queries_of_page(client, user, thread, *, changed=True):
    """The queries of a view of the thread page after the first; `changed`: after a
    change of the mailbox, which makes the page again (else it is the kept one)."""
    client.force_login(user)
    page_of(client, user, thread)  # the first view stores the sanitised bodies
    if changed:
        mirror_changed(account_ids=[thread.account_id])
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("mail:thread", args=[thread.pk]))
    return [query["sql"] for query in queries.captured_queries]


def test_the_page_takes_a_constant_number_of_queries(client, mailbox, gmail):
    short = synced_thread(mailbox, a_conversation(gmail, to=mailbox.email, replies=1))
    long = synced_thread(mailbox, a_conversation(gmail, to=mailbox.email, replies=6))

    short_queries = queries_of_page(client, mailbox.user, short)
    long_queries = queries_of_page(client, mailbox.user, long)

    assert len(long_queries) == len(short_queries), "\n".join(long_queries)
    # The session, the user, the accounts, the thread, its messages, their attachments,
    # its labels, and the sidebar's three (its labels, unread counts, refused actions).
    assert len(long_queries) == 10, "\n".join(long_queries)
    # Unchanged, the page is kept: the session, the user and the accounts.
    assert len(queries_of_page(client, mailbox.user, long, changed=False)) == 3


def test_another_users_thread_is_not_found(client, alice_mailbox, bob_mailbox):
    bobs = ThreadFactory(account=bob_mailbox, subject="Bob's secret")
    client.force_login(alice_mailbox.user)

    response = client.get(reverse("mail:thread", args=[bobs.pk]))

    assert response.status_code == 404
    assert "secret" not in response.content.decode()


def test_the_thread_page_needs_a_signed_in_user(client, bob_mailbox):
    thread = ThreadFactory(account=bob_mailbox)

    response = client.get(reverse("mail:thread", args=[thread.pk]))

    assert response.status_code == 302 and response["Location"].startswith("/?next=")


def test_hostile_subjects_names_and_filenames_are_escaped(client, mailbox, gmail):
    message = raw_message(
        to=mailbox.email,
        subject="<script>alert('subject')</script>",
        sender='"<img src=x onerror=alert(1)>" <evil@elsewhere.example>',
        body="Hi",
    )
    message.add_attachment(
        b"x", maintype="text", subtype="plain", filename='"><svg onload=alert(1)>.txt'
    )
    thread_id = deliver(gmail, message)["threadId"]

    page = page_of(client, mailbox.user, synced_thread(mailbox, thread_id))

    assert (
        '<h1 id="thread-subject">&lt;script&gt;alert(&#x27;subject&#x27;)&lt;/script&gt;</h1>'
        in page
    )
    assert '<strong class="name">&lt;img src=x onerror=alert(1)&gt;</strong>' in page
    assert "&quot;&gt;&lt;svg onload=alert(1)&gt;.txt" in page
    # Tern draws its own icons in SVG: the hostile one would be <svg onload=...>.
    assert "<script>alert" not in page and "<img src=x" not in page and "<svg onload" not in page


def test_user_labels_show_as_chips_with_their_colour(client, mailbox, gmail):
    color = {"backgroundColor": "#16a766", "textColor": "#ffffff"}
    label = gmail.users().labels().create(userId="me", body={"name": "Receipts", "color": color})
    label_id = label.execute()["id"]
    sent = deliver(gmail, raw_message(to=mailbox.email, subject="Invoice"), ("INBOX", label_id))
    thread = synced_thread(mailbox, sent["threadId"])

    page = page_of(client, mailbox.user, thread)

    chips = re.search(r'<ul class="chips" aria-label="Labels">(.*?)</ul>', page, re.S)[1]
    assert '<li class="chip">Inbox</li>' in chips
    assert re.search(
        r'<li class="chip user"><svg [^>]*><circle [^>]*fill="#16a766"/></svg>Receipts</li>', chips
    )


@pytest.fixture
def message_renders(monkeypatch):
    """The messages the page rendered (the real template, counted by message id)."""
    rendered = []
    template = get_template(MESSAGE_TEMPLATES[0])
    real = template.render

    def counted(context=None, request=None):
        rendered.append(context["shown"].message.pk)
        return real(context, request)

    monkeypatch.setattr(template, "render", counted)
    monkeypatch.setattr(
        "mail.views.thread.get_template",
        lambda name: template if name == MESSAGE_TEMPLATES[0] else get_template(name),
    )
    return rendered


@pytest.mark.usefixtures("no_celery")
def test_an_unchanged_message_is_taken_from_the_cache(client, mailbox, gmail, message_renders):
    thread = synced_thread(mailbox, a_conversation(gmail, to=mailbox.email, replies=2))

    first = message_items(page_of(client, mailbox.user, thread))
    assert len(message_renders) == 3
    second = message_items(page_of(client, mailbox.user, thread))

    assert len(message_renders) == 3  # none rendered again
    assert second == first
    assert all('class="message unread"' in item for item in first)

    services.thread_mark_read(thread=thread)
    third = message_items(page_of(client, mailbox.user, thread))

    assert len(message_renders) == 6  # each message shows another state: made anew
    assert len(third) == 3 and not any("unread" in item for item in third)


def test_a_cached_message_carries_each_reader_s_own_csrf_token(
    client, mailbox, gmail, message_renders
):
    thread_id = deliver(gmail, raw_message(to=mailbox.email, html=HOSTILE_HTML))["threadId"]
    thread = synced_thread(mailbox, thread_id)
    page_of(client, mailbox.user, thread)  # rendered and kept, with another session's token

    browser = Client(enforce_csrf_checks=True)  # another session: another CSRF secret
    page = page_of(browser, mailbox.user, thread)
    form = re.search(r'<form method="post" action="/mail/senders/trust/">.*?</form>', page, re.S)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.group(0)).group(1)
    message = Message.objects.get(thread=thread)

    assert len(message_renders) == 1  # the second page's message came from the cache
    assert csrf_slot() not in page
    answer = browser.post(
        "/mail/senders/trust/", {"message": message.pk, "csrfmiddlewaretoken": token}
    )

    assert answer.status_code == 303  # the token is this session's: Django accepts it
    assert TrustedSender.objects.filter(user=mailbox.user).count() == 1


def test_a_kept_page_is_never_another_user_s(client, mailbox, gmail, django_user_model):
    thread = synced_thread(mailbox, a_conversation(gmail, to=mailbox.email, replies=1))
    assert "Lunch plans" in page_of(client, mailbox.user, thread)  # kept now

    mallory = django_user_model.objects.create_user(username="mallory", password="x")
    client.force_login(mallory)

    assert client.get(reverse("mail:thread", args=[thread.pk])).status_code == 404
