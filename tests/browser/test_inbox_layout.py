"""The inbox as a person sees it in Chromium: the sidebar of accounts, folders and
labels, rows that open their thread, on a desktop and a phone, light and dark, with no
serious or critical axe-core violation."""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from accounts.models import GmailAccount
from mail.models import Thread
from support.mailbox import sync_until_done
from tests.browser.conftest import ALICE, django_thread
from tests.browser.test_sign_in import sign_in
from tests.sync.helpers import a_conversation, deliver, raw_message

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def fill_mailbox(google) -> None:
    gmail = google.gmail(ALICE)
    labels = gmail.users().labels()
    labels.create(userId="me", body={"name": "Projects"}).execute()
    color = {"backgroundColor": "#16a766", "textColor": "#ffffff"}
    tern = labels.create(userId="me", body={"name": "Projects/Tern", "color": color}).execute()
    a_conversation(gmail, to=ALICE, replies=2)
    budget = raw_message(
        to=ALICE,
        sender="Ann Lee <ann@acme.example>",
        subject="Quarterly budget",
        body="Please review the numbers before Friday",
    )
    deliver(gmail, budget, labels=["INBOX", "UNREAD", "STARRED", "IMPORTANT", tern["id"]])
    read = raw_message(to=ALICE, sender="Bob <bob@shop.example>", subject="Your order shipped")
    deliver(gmail, read, labels=["INBOX"])


def serious_violations(page: Page) -> list[str]:
    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_the_inbox_shows_the_sidebar_and_rows_that_open_their_thread(
    page, live_server, google, tmp_path
):
    missing = []
    page.on("response", lambda r: missing.append(r.url) if r.status >= 400 else None)
    page.set_viewport_size(DESKTOP)
    sign_in(page, live_server, google, ALICE)
    fill_mailbox(google)
    django_thread(lambda: sync_until_done(GmailAccount.objects.get(email=ALICE)))
    page.reload()

    sidebar = page.get_by_role("navigation", name="Mailboxes and labels")
    expect(sidebar).to_be_visible()
    for name in ("All inboxes", ALICE, "Inbox", "Starred", "Snoozed", "Sent", "All mail", "Trash"):
        expect(sidebar.get_by_role("link", name=name, exact=False).first).to_be_visible()
    expect(sidebar.get_by_role("link", name="Tern")).to_be_visible()
    expect(sidebar.get_by_role("link", name="Inbox 2 unread")).to_be_visible()

    rows = page.get_by_role("list", name="Conversations").get_by_role("link")
    expect(rows).to_have_count(3)
    budget = rows.filter(has_text="Quarterly budget")
    # What a screen reader says: the markers are words, not only colours and symbols.
    expect(budget).to_have_accessible_name(re.compile(r"^Unread, Starred, Important, Ann Lee"))
    expect(budget).to_contain_text("Projects/Tern")
    thread_id = django_thread(lambda: Thread.objects.get(subject="Quarterly budget").pk)
    expect(budget).to_have_attribute("href", f"/mail/thread/{thread_id}/")
    expect(rows.filter(has_text="Lunch plans")).to_contain_text("3")

    # The stylesheet loaded: unread rows are bold, read ones are not.
    weight = budget.locator(".subject").evaluate("e => getComputedStyle(e).fontWeight")
    assert weight == "600"
    read = rows.filter(has_text="Your order shipped").locator(".subject")
    assert read.evaluate("e => getComputedStyle(e).fontWeight") == "400"
    # Each row's senders are in the row itself (a rule of another page once took them out).
    for n in range(3):
        box, names = rows.nth(n).bounding_box(), rows.nth(n).locator(".names").bounding_box()
        assert box["y"] <= names["y"] and names["y"] + names["height"] <= box["y"] + box["height"]

    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        page.set_viewport_size(DESKTOP)
        expect(sidebar).to_be_visible()
        assert serious_violations(page) == []
        page.screenshot(path=tmp_path / f"inbox-desktop-{scheme}.png", full_page=True)

        page.set_viewport_size(PHONE)
        expect(sidebar).not_to_be_in_viewport()
        expect(budget).to_be_visible()
        row = budget.locator("xpath=..")  # the row: its checkbox and its link
        assert row.bounding_box()["width"] >= PHONE["width"] - 2  # the list is full width
        assert serious_violations(page) == []
        page.screenshot(path=tmp_path / f"inbox-phone-{scheme}.png")

        page.get_by_role("link", name="Show folders and labels").click()
        expect(sidebar).to_be_in_viewport(ratio=1)  # slid in whole
        expect(sidebar.get_by_role("link", name="Starred")).to_be_visible()
        page.screenshot(path=tmp_path / f"inbox-phone-drawer-{scheme}.png")
        page.get_by_role("link", name="Hide folders and labels").click()
        expect(sidebar).not_to_be_in_viewport()
        page.goto(re.sub(r"#.*$", "", page.url))

    assert missing == []  # every stylesheet, script and icon loaded
    # Keyboard: the skip link comes first and is visible when focused.
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    budget.click()
    expect(page).to_have_url(f"{live_server.url}/mail/thread/{thread_id}/")
