"""Managing labels in Chromium: from the sidebar's "Manage labels", create a label with
a colour, rename and recolour it, see a refused name explained, and delete it; Gmail
(the emulator) holds each change. axe-core runs on the page in light and dark;
screenshots are saved in the test's tmp_path (labels-*.png)."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ALICE
from tests.browser.test_actions import signed_in_with_mail
from tests.browser.test_inbox_layout import PHONE, serious_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def labels_at_gmail(google) -> dict[str, dict]:
    listed = google.gmail(ALICE).users().labels().list(userId="me").execute()["labels"]
    return {label["name"]: label for label in listed if label["type"] == "user"}


def test_create_rename_recolour_and_delete_a_label(page, live_server, google, tmp_path):
    signed_in_with_mail(page, live_server, google)
    page.get_by_role("link", name="Manage labels").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Labels")

    new = page.get_by_role("form", name="New label")
    new.get_by_label("Name").fill("Receipts")
    new.get_by_label("Colour").select_option(label="Green")
    new.get_by_role("button", name="Create").click()

    expect(page.locator("#toast")).to_contain_text("Label “Receipts” created.")
    assert labels_at_gmail(google)["Receipts"]["color"]["backgroundColor"] == "#16a766"

    receipts = page.get_by_role("form", name="Label Receipts")
    receipts.get_by_label("Name of Receipts").fill("Finance/Receipts")
    receipts.get_by_label("Colour of Receipts").select_option(label="Blue")
    receipts.get_by_role("button", name="Save").click()

    expect(page.locator("#toast")).to_contain_text("Label “Finance/Receipts” saved.")
    at_gmail = labels_at_gmail(google)
    assert "Receipts" not in at_gmail
    assert at_gmail["Finance/Receipts"]["color"]["backgroundColor"] == "#4a86e8"

    # A name Gmail keeps for itself: said at once, beside the form, what was typed kept.
    new = page.get_by_role("form", name="New label")
    new.get_by_label("Name").fill("Muted")
    new.get_by_role("button", name="Create").click()
    expect(page.get_by_role("alert")).to_contain_text("Gmail keeps the name “Muted” for itself")
    expect(page.get_by_role("form", name="New label").get_by_label("Name")).to_have_value("Muted")

    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        assert serious_violations(page) == []
        page.screenshot(path=tmp_path / f"labels-desktop-{scheme}.png", full_page=True)
    page.set_viewport_size(PHONE)
    assert serious_violations(page) == []
    page.screenshot(path=tmp_path / "labels-phone-dark.png", full_page=True)

    page.get_by_text("Delete Finance/Receipts…").click()
    page.get_by_role("button", name="Delete label").first.click()
    expect(page.locator("#toast")).to_contain_text("Label “Finance/Receipts” deleted.")
    assert "Finance/Receipts" not in labels_at_gmail(google)
    expect(page.get_by_role("form", name="Label Finance/Receipts")).to_have_count(0)
