"""Search with Gmail's operators over the local mirror (/mail/search/?q=): each operator
finds what it should and not what it should not, Trash and Spam stay out unless asked
for, a query Tern cannot read says why (400, never a 500), and another user's mail never
shows."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from mail import services
from mail.models import Message, Thread
from mail.search import SearchError, parse
from support.mailbox import sync_until_done as sync
from tests.mail.test_list_pages import rows
from tests.sync.helpers import deliver, raw_message

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_celery")]


@pytest.fixture
def mail(gmail, mailbox):
    """A small mailbox; answers {subject: thread url}."""
    projects = gmail.users().labels().create(userId="me", body={"name": "Projects/Tern"}).execute()
    budget = raw_message(
        to=mailbox.email,
        sender="Ann Lee <ann@acme.example>",
        subject="Quarterly budget",
        body="Please review the numbers before Friday",
    )
    budget.add_attachment(
        b"%PDF-1.4 " + b"x" * 4000, maintype="application", subtype="pdf", filename="budget-q4.pdf"
    )
    deliver(gmail, budget, ("INBOX", "UNREAD", "STARRED", projects["id"]))
    deliver(
        gmail,
        raw_message(
            to=mailbox.email,
            sender="Bob <bob@shop.example>",
            subject="Your order shipped",
            body="Tracking number inside",
        ),
        ("INBOX",),
    )
    deliver(
        gmail,
        raw_message(
            to=mailbox.email, sender="Spammer <win@prize.example>", subject="You won a budget prize"
        ),
        ("SPAM",),
    )
    deliver(
        gmail,
        raw_message(to=mailbox.email, sender="Old <old@past.example>", subject="Old budget notes"),
        ("TRASH",),
    )
    sync(mailbox)
    old = Message.objects.get(account=mailbox, subject="Your order shipped")
    Message.objects.filter(pk=old.pk).update(internal_date=timezone.now() - dt.timedelta(days=400))
    return {t.subject: t.get_absolute_url() for t in Thread.objects.filter(account=mailbox)}


def found(client, user, q):
    client.force_login(user)
    response = client.get(reverse("mail:search"), {"q": q})
    assert response.status_code == 200, response.content.decode()[:500]
    return set(rows(response.content.decode()))


@pytest.mark.parametrize(
    ("q", "subjects"),
    [
        ("budget", {"Quarterly budget"}),  # Spam and Trash left out
        ("BUDGET numbers", {"Quarterly budget"}),
        ('"review the numbers"', {"Quarterly budget"}),
        ('"numbers review"', set()),
        ("from:ann", {"Quarterly budget"}),
        ("from:acme.example", {"Quarterly budget"}),
        ("-from:ann", {"Your order shipped"}),
        ("to:me@nowhere.example", set()),
        ("subject:order", {"Your order shipped"}),
        ("subject:friday", set()),
        ("label:projects-tern", {"Quarterly budget"}),
        ("label:projects/tern", {"Quarterly budget"}),
        ("label:nothing", set()),
        ("in:inbox", {"Quarterly budget", "Your order shipped"}),
        ("in:spam", {"You won a budget prize"}),
        ("in:trash budget", {"Old budget notes"}),
        ("in:anywhere budget", {"Quarterly budget", "You won a budget prize", "Old budget notes"}),
        ("is:unread", {"Quarterly budget"}),
        ("is:read", {"Your order shipped"}),
        ("is:starred", {"Quarterly budget"}),
        ("has:attachment", {"Quarterly budget"}),
        ("-has:attachment", {"Your order shipped"}),
        ("filename:q4", {"Quarterly budget"}),
        ("filename:pdf", {"Quarterly budget"}),
        ("filename:docx", set()),
        ("larger:3K", {"Quarterly budget"}),
        ("smaller:3K", {"Your order shipped"}),
        ("older_than:1y", {"Your order shipped"}),
        ("newer_than:30d", {"Quarterly budget"}),
        ("before:2026/01/01", {"Your order shipped"}),
        ("before:2020/01/01", set()),
        ("after:2026/01/01", {"Quarterly budget"}),
        ("order OR numbers", {"Quarterly budget", "Your order shipped"}),
        ("{order numbers}", {"Quarterly budget", "Your order shipped"}),
        ("(from:bob OR from:ann) -is:starred", {"Your order shipped"}),
    ],
)
@pytest.mark.parametrize("cap", [None, 0], ids=["indexes-first", "walk"])
def test_each_operator_finds_what_it_should(client, mailbox, mail, q, subjects, cap, monkeypatch):
    if cap is not None:  # as for a query matching more than the cap: the other way
        monkeypatch.setattr("mail.selectors.SEARCH_CAP", cap)
    assert found(client, mailbox.user, q) == {mail[s] for s in subjects}


def test_snoozed_ones_are_found_by_in_and_is_snoozed(client, mailbox, mail):
    thread = Thread.objects.get(account=mailbox, subject="Your order shipped")
    services.thread_snooze(thread=thread, until=timezone.now() + dt.timedelta(days=1))

    assert found(client, mailbox.user, "in:snoozed") == {mail["Your order shipped"]}
    assert found(client, mailbox.user, "is:snoozed") == {mail["Your order shipped"]}


@pytest.mark.parametrize(
    ("q", "problem"),
    [
        ("foo:bar", "does not know the operator “foo:”"),
        ("(budget", "A bracket is not closed."),
        ("budget)", "A closing bracket has no opening one."),
        ("older_than:soon", "is not an age"),
        ("larger:big", "is not a size"),
        ("before:yesterday", "is not a date"),
        ("in:somewhere", "is neither a place"),
        ("is:happy", "is not a state"),
        ("has:dog", "not “has:dog”"),
        ("OR budget", "OR needs something"),
        ("from:", "needs something after it"),
        ("", "Type something to search for."),
        ("x" * 1001, "at most 1000 characters"),
    ],
)
def test_a_query_tern_cannot_read_says_why(client, mailbox, q, problem):
    client.force_login(mailbox.user)

    response = client.get(reverse("mail:search"), {"q": q})

    assert response.status_code == 400
    assert problem in response.content.decode()


def test_another_user_s_mail_never_shows(client, mailbox, mail, bob):
    assert found(client, bob, "budget") == set()
    assert found(client, bob, "in:anywhere") == set()


def test_results_page_by_keyset_with_the_query_kept(client, gmail, mailbox):
    for n in range(55):
        deliver(gmail, raw_message(to=mailbox.email, subject=f"Report {n}"), ("INBOX",))
    sync(mailbox)
    client.force_login(mailbox.user)

    first = client.get(reverse("mail:search"), {"q": "report"}).content.decode()
    older = first.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    second = client.get(older).content.decode()

    assert "q=report" in older
    assert len(rows(first)) == 50 and len(rows(second)) == 5
    assert not set(rows(first)) & set(rows(second))


def test_the_parser_reads_negation_alternatives_and_groups():
    tree = parse('from:ann -"old news" (a OR b) {c d}')
    assert repr(tree).startswith("All(")
    with pytest.raises(SearchError):
        parse("{}")
