"""axe-core on every kind of page Tern serves a signed-in person, in light and dark, at
desktop and phone widths: the lists (inbox, each system folder, a label, one account,
Snoozed with a row), a thread, the labels page, the senders page, settings, and the pages
that refuse (a bad snooze time, a thread that is not yours). No serious or critical
violation anywhere."""

import datetime as dt

import pytest
from django.utils import timezone

from accounts.models import GmailAccount
from mail import services
from mail.models import Label, Thread
from tests.browser.conftest import ALICE, django_thread
from tests.browser.test_actions import signed_in_with_mail
from tests.browser.test_inbox_layout import DESKTOP, PHONE, serious_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FOLDERS = ("STARRED", "SNOOZED", "IMPORTANT", "SENT", "DRAFT", "ALL", "SPAM", "TRASH")


def urls_of_alice():
    account = GmailAccount.objects.get(email=ALICE)
    thread = Thread.objects.filter(account=account).order_by("pk").first()
    snoozed = Thread.objects.filter(account=account).order_by("-pk").first()
    services.thread_snooze(thread=snoozed, until=timezone.now() + dt.timedelta(days=1))
    label = Label.objects.get(account=account, name="Projects/Tern")
    return thread.get_absolute_url(), [
        "/mail/",
        *(f"/mail/label/{folder}/" for folder in FOLDERS),
        f"/mail/account/{account.pk}/",
        f"/mail/account/{account.pk}/label/{label.gmail_id}/",
        thread.get_absolute_url(),
        "/mail/labels/",
        "/mail/senders/",
        "/mail/compose/",
        "/mail/scheduled/",
        "/settings/",
        "/mail/thread/999999/",  # not hers: the 404 page
    ]


def test_no_page_has_a_serious_accessibility_violation(page, live_server, google):
    signed_in_with_mail(page, live_server, google)
    thread_url, urls = django_thread(urls_of_alice)
    found = {}
    for url in urls:
        for size_name, size in (("desktop", DESKTOP), ("phone", PHONE)):
            page.set_viewport_size(size)
            for scheme in ("light", "dark"):
                page.emulate_media(color_scheme=scheme)
                page.goto(live_server.url + url)
                if violations := serious_violations(page):
                    found[(url, size_name, scheme)] = violations
    # A refused snooze: the page that says why.
    page.set_viewport_size(DESKTOP)
    page.goto(live_server.url + thread_url)
    page.locator("summary", has_text="Snooze").click()
    page.get_by_role("button", name="Snooze until then").click()  # no time chosen
    assert "Choose a date and a time" in page.content()
    if violations := serious_violations(page):
        found[("refused snooze", "desktop", "light")] = violations
    assert found == {}
