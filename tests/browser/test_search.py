"""Search in Chromium: `/` puts the cursor in the search box on any page, a query with
an operator lists the matching conversations, and a result is archived from there like
from any list (Gmail, the emulator, holds the change). axe-core on the results;
screenshots search-*.png in the test's tmp_path."""

import pytest
from playwright.sync_api import expect

from tests.browser.test_actions import inbox_subjects_at_gmail, signed_in_with_mail
from tests.browser.test_inbox_layout import PHONE, serious_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_search_with_an_operator_and_archive_a_result(page, live_server, google, tmp_path):
    signed_in_with_mail(page, live_server, google)
    page.keyboard.press("/")
    box = page.get_by_role("combobox", name="Search mail")
    expect(box).to_be_focused()
    box.fill("from:ann budget")
    box.press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text("Search results")
    assert "/mail/search/?q=from%3Aann+budget" in page.url
    results = page.get_by_role("list", name="Conversations").get_by_role("link")
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text("Quarterly budget")
    assert serious_violations(page) == []
    page.screenshot(path=tmp_path / "search-desktop.png")

    page.get_by_label("Select “Quarterly budget”").check()
    page.locator("#selection").get_by_role("button", name="Archive").click()
    expect(page.locator("#toast")).to_contain_text("Conversation archived.")
    assert "Quarterly budget" not in inbox_subjects_at_gmail(google)
    expect(results).to_have_count(1)  # still found: archived mail is searched too

    page.goto(f"{live_server.url}/mail/search/?q=foo%3Abar")
    expect(page.get_by_role("alert")).to_contain_text("Tern does not know the operator “foo:”.")
    page.set_viewport_size(PHONE)
    assert serious_violations(page) == []
    page.screenshot(path=tmp_path / "search-phone-refused.png")


def test_suggestions_as_one_types_open_a_conversation(page, live_server, google, tmp_path):
    signed_in_with_mail(page, live_server, google)
    box = page.get_by_role("combobox", name="Search mail")
    box.press_sequentially("quart")  # a prefix of "Quarterly"

    suggestion = page.get_by_role("option").filter(has_text="Quarterly budget")
    expect(suggestion).to_be_visible()
    expect(box).to_have_attribute("aria-expanded", "true")
    assert serious_violations(page) == []
    page.screenshot(path=tmp_path / "search-suggestions.png")
    box.press("ArrowDown")
    box.press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text("Quarterly budget")
    assert "quart" not in page.url  # the half-typed query never went into a URL
