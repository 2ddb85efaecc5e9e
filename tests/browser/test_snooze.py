"""Snooze in Chromium: a thread snoozed from its page leaves the inbox, is listed under
Snoozed with its time, and comes back to the inbox, unread, when beat's task runs after
that time (here: run by hand with a later `now`). axe-core runs with the snooze menu open;
screenshots are saved in the test's tmp_path (snooze-*.png)."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from mail import services
from tests.browser.conftest import django_thread
from tests.browser.test_actions import inbox_subjects_at_gmail, signed_in_with_mail
from tests.browser.test_inbox_layout import PHONE, serious_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_snooze_a_thread_until_tomorrow_and_it_comes_back(page, live_server, google, tmp_path):
    signed_in_with_mail(page, live_server, google)
    conversations = page.get_by_role("list", name="Conversations")
    conversations.get_by_role("link").filter(has_text="Quarterly budget").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Quarterly budget")

    # Opening it marked it read (the toolbar is swapped in again): then `b` opens Snooze.
    expect(page.get_by_role("button", name="Mark unread")).to_be_visible()
    page.keyboard.press("b")
    expect(page.get_by_role("button", name="Later today (in 3 hours)")).to_be_focused()
    tomorrow = page.get_by_role("button", name="Tomorrow, 08:00")
    assert serious_violations(page) == []
    page.screenshot(path=tmp_path / "snooze-menu-desktop.png")
    tomorrow.click()

    toast = page.locator("#toast")
    expect(toast).to_contain_text("Conversation snoozed until")
    expect(conversations.get_by_role("link")).to_have_count(2)
    assert "Quarterly budget" not in inbox_subjects_at_gmail(google)

    page.get_by_role("navigation").get_by_role("link", name="Snoozed").first.click()
    snoozed = conversations.get_by_role("link")
    expect(snoozed).to_have_count(1)
    expect(snoozed.first).to_contain_text("Quarterly budget")
    expect(snoozed.first).to_contain_text("until")
    assert serious_violations(page) == []
    page.screenshot(path=tmp_path / "snooze-list-desktop.png")
    page.set_viewport_size(PHONE)
    expect(page.locator("#sidebar")).not_to_be_in_viewport()
    page.screenshot(path=tmp_path / "snooze-list-phone.png")

    later = timezone.now() + dt.timedelta(days=2)
    assert django_thread(services.snoozes_wake, now=later) == 1

    page.goto(f"{live_server.url}/mail/")
    back = conversations.get_by_role("link").filter(has_text="Quarterly budget")
    expect(back).to_have_count(1)
    expect(back).to_contain_text("Unread")
    assert "Quarterly budget" in inbox_subjects_at_gmail(google)
