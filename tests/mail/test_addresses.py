"""Addresses as Gmail gives them (encoded-words decoded, so a name's quotes may be
gone) read as a person reads them, on every page that shows a sender."""

import pytest
from django.urls import reverse

from mail.addresses import addresses, header_pairs, sender_of
from support.mailbox import sync_until_done as sync
from tests.sync.helpers import deliver, raw_message

CASES = [
    ("Zoë ('from') <zoe@example.org>", [("Zoë ('from')", "zoe@example.org")]),
    ("Zoë, Ltd <zoe@example.org>", [("Zoë, Ltd", "zoe@example.org")]),
    (
        '"Ann Lee" <ann@x.example>, bob@y.example',
        [("Ann Lee", "ann@x.example"), ("", "bob@y.example")],
    ),
    (
        "Dr. O'Brien <ob@z.example>; Carol <c@z.example>",
        [("Dr. O'Brien", "ob@z.example"), ("Carol", "c@z.example")],
    ),
    ("undisclosed-recipients:;", []),
    ("", []),
    ("<>", []),
]


@pytest.mark.parametrize(("header", "pairs"), CASES)
def test_headers_read_as_a_person_reads_them(header, pairs):
    assert header_pairs(header) == pairs


def test_a_from_header_gives_its_first_address_or_nothing():
    assert sender_of("Zoë ('from') <zoe@example.org>") == ("Zoë ('from')", "zoe@example.org")
    assert sender_of("(" * 5000) == ("", "")


def test_what_is_typed_in_to_is_split_into_addresses_and_mistakes():
    found, bad = addresses('"Zoë, Ltd" <zoe@example.org>; bob@example.com, bob, carol@')
    assert found == [("Zoë, Ltd", "zoe@example.org"), ("", "bob@example.com")]
    assert bad == ["bob", "carol@"]


@pytest.mark.django_db
def test_the_list_and_the_thread_show_a_quoted_name_whole(client, mailbox, gmail):
    sender = "=?utf-8?q?Zo=C3=AB_=28=27from=27=29?= <zoe@example.org>"
    deliver(gmail, raw_message(to=mailbox.email, subject="Hello", sender=sender))
    sync(mailbox)
    client.force_login(mailbox.user)

    listed = client.get(reverse("mail:inbox")).content.decode()
    thread = client.get(reverse("mail:thread", args=[mailbox.threads.get().pk])).content.decode()

    assert "Zoë (&#x27;from&#x27;)" in listed
    assert '<strong class="name">Zoë (&#x27;from&#x27;)</strong>' in thread
    assert "&lt;zoe@example.org&gt;" in thread


def test_a_quoted_name_loses_its_quotes_and_escapes_only():
    assert sender_of('"Ann \\"A\\" Lee" <ann@x.example>') == ('Ann "A" Lee', "ann@x.example")
    assert sender_of('"\\"><svg onload=alert(1)>" <o@x.example>')[0] == '"><svg onload=alert(1)>'
