"""Triage in Chromium: a selection archived from the list and undone, a thread opened
(and so marked read), archived with `e` and brought back with `z`, rows picked with the
keyboard and trashed; each change reaches Gmail (the emulator) once the outbox flushes.
axe-core runs with the label menu open and a toast showing; screenshots are saved in
the test's tmp_path (actions-*.png)."""

import pytest
from playwright.sync_api import expect

from accounts.models import GmailAccount
from support.mailbox import sync_until_done
from sync.outbox import outbox_flush
from tests.browser.conftest import ALICE, django_thread
from tests.browser.test_inbox_layout import DESKTOP, PHONE, fill_mailbox, serious_violations
from tests.browser.test_sign_in import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def inbox_subjects_at_gmail(google) -> set[str]:
    """Subjects of the threads Gmail has in the inbox, after the outbox has flushed."""
    account_id = django_thread(lambda: GmailAccount.objects.get(email=ALICE).pk)
    django_thread(outbox_flush, account_id=account_id)
    gmail = google.gmail(ALICE)
    listed = gmail.users().messages().list(userId="me", labelIds=["INBOX"]).execute()
    subjects = set()
    for each in listed.get("messages", []):
        message = (
            gmail.users()
            .messages()
            .get(userId="me", id=each["id"], format="metadata", metadataHeaders=["Subject"])
            .execute()
        )
        subjects |= {h["value"] for h in message["payload"]["headers"] if h["name"] == "Subject"}
    return subjects


def signed_in_with_mail(page, live_server, google):
    page.set_viewport_size(DESKTOP)
    sign_in(page, live_server, google, ALICE)
    fill_mailbox(google)
    django_thread(lambda: sync_until_done(GmailAccount.objects.get(email=ALICE)))
    page.goto(f"{live_server.url}/mail/")


def test_archive_a_selection_from_the_list_and_undo_it(page, live_server, google, tmp_path):
    signed_in_with_mail(page, live_server, google)
    rows = page.get_by_role("list", name="Conversations").get_by_role("link")
    expect(rows).to_have_count(3)

    page.get_by_label("Select “Quarterly budget”").check()
    page.get_by_label("Select “Your order shipped”").check()
    expect(page.get_by_text("2 selected")).to_be_visible()
    # The label menu open, for axe and the picture.
    page.locator("#selection summary", has_text="Label").click()
    expect(page.get_by_label("Projects/Tern")).to_be_visible()
    assert serious_violations(page) == []
    page.screenshot(path=tmp_path / "actions-selection-desktop.png")
    page.locator("#selection summary", has_text="Label").click()
    page.get_by_role("button", name="Archive").click()

    toast = page.locator("#toast")
    expect(toast).to_contain_text("2 conversations archived.")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Lunch plans")
    # Focus went to the row that took the acted-on rows' place.
    expect(rows.first).to_be_focused()
    assert serious_violations(page) == []
    page.screenshot(path=tmp_path / "actions-toast-desktop.png")
    assert inbox_subjects_at_gmail(google) == {"Lunch plans", "Re: Lunch plans"}

    toast.get_by_role("button", name="Undo").click()

    expect(toast).to_contain_text("Action undone.")
    expect(rows).to_have_count(3)
    assert "Quarterly budget" in inbox_subjects_at_gmail(google)


def test_open_archive_with_e_and_undo_with_z(page, live_server, google, tmp_path):
    signed_in_with_mail(page, live_server, google)
    rows = page.get_by_role("list", name="Conversations").get_by_role("link")

    rows.filter(has_text="Quarterly budget").click()

    # Opening it marked it read: the toolbar now offers "Mark unread".
    toolbar = page.get_by_role("form", name="Conversation actions")
    expect(toolbar.get_by_role("button", name="Mark unread")).to_be_visible()
    assert serious_violations(page) == []
    page.screenshot(path=tmp_path / "actions-thread-desktop.png")
    page.keyboard.press("e")

    expect(page).to_have_url(f"{live_server.url}/mail/")
    expect(page.locator("#toast")).to_contain_text("Conversation archived.")
    expect(rows.filter(has_text="Quarterly budget")).to_have_count(0)
    page.keyboard.press("z")
    expect(rows.filter(has_text="Quarterly budget")).to_have_count(1)
    # Back in its inbox at Gmail, and read.
    assert "Quarterly budget" in inbox_subjects_at_gmail(google)
    listed = google.gmail(ALICE).users().messages().list(userId="me", q="is:unread").execute()
    assert len(listed.get("messages", [])) == 3  # the Lunch plans thread only
    expect(rows.filter(has_text="Quarterly budget")).not_to_have_class("thread unread")


def test_pick_rows_with_j_and_x_and_trash_them_with_hash(page, live_server, google, tmp_path):
    signed_in_with_mail(page, live_server, google)
    rows = page.get_by_role("list", name="Conversations").get_by_role("link")
    expect(rows).to_have_count(3)
    first_subject = rows.first.locator(".subject").inner_text()

    page.keyboard.press("j")
    expect(rows.first).to_be_focused()
    page.keyboard.press("x")
    expect(page.get_by_text("1 selected")).to_be_visible()
    page.keyboard.press("#")

    expect(page.locator("#toast")).to_contain_text("Conversation moved to Trash.")
    expect(rows).to_have_count(2)
    assert first_subject not in inbox_subjects_at_gmail(google)

    page.keyboard.press("?")
    sheet = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(sheet).to_be_visible()
    assert serious_violations(page) == []
    page.keyboard.press("Escape")
    expect(sheet).to_be_hidden()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_toolbars_fit_a_phone(page, live_server, google, tmp_path, scheme):
    page.emulate_media(color_scheme=scheme)
    signed_in_with_mail(page, live_server, google)
    page.set_viewport_size(PHONE)
    page.get_by_label("Select “Quarterly budget”").check()
    page.screenshot(path=tmp_path / f"actions-list-phone-{scheme}.png", full_page=True)
    # Every toolbar button is on screen and big enough to touch.
    for button in page.locator("#selection button:visible, #selection summary").all():
        box = button.bounding_box()
        assert box["height"] >= 44 and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    assert serious_violations(page) == []

    page.get_by_role("list", name="Conversations").get_by_role("link").first.click()
    page.screenshot(path=tmp_path / f"actions-thread-phone-{scheme}.png", full_page=True)
    for button in page.locator("#thread-actions button:visible, #thread-actions summary").all():
        box = button.bounding_box()
        assert box["height"] >= 44 and box["x"] + box["width"] <= 390, box
    assert serious_violations(page) == []
