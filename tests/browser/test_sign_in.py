"""A person signs in with Google, adds a second Gmail account, reconnects it after Google
revoked it, and disconnects it: in Chromium, against Tern and the Google emulator.

What each test asserts is what the person sees on the page; the database and the
emulator's control API are only read to confirm what the page claims.
"""

import re

import pytest
from playwright.sync_api import Page, expect

from accounts.credentials import NeedsReconnect, account_credentials
from accounts.models import GmailAccount, User
from gmail.client import build_service
from tests.browser.conftest import ALICE, ALICE_WORK, django_thread

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def pick_on_consent_page(page: Page, google, email: str) -> None:
    """On the emulator's consent page (Google's, as far as the person can tell), choose
    the account `email`."""
    expect(page.get_by_role("heading", name="Choose an account")).to_be_visible()
    assert page.url.startswith(f"{google.url}/o/oauth2/v2/auth?"), page.url
    page.get_by_role("button", name=email).click()


def sign_in(page: Page, live_server, google, email: str) -> None:
    page.goto(f"{live_server.url}/")
    page.get_by_role("button", name="Sign in with Google").click()
    pick_on_consent_page(page, google, email)
    expect(page).to_have_url(f"{live_server.url}/mail/")
    expect(page.get_by_role("heading", name="Inbox", exact=True)).to_be_visible()


def gmail_profile(email: str) -> dict:
    account = GmailAccount.objects.get(email=email)
    return build_service(account_credentials(account)).users().getProfile(userId="me").execute()


def open_settings(page: Page) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", name="Connected Gmail accounts")).to_be_visible()


def expect_back_in_tern(page: Page, live_server) -> None:
    """After Google's consent page the person is back on one of Tern's own pages (their
    inbox or Settings), not on an intermediate page of the sign-in library."""
    expect(page).to_have_url(re.compile(rf"^{re.escape(live_server.url)}/(mail|settings)/$"))
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()


def mailbox_item(page: Page, email: str):
    """The address's line in the inbox's list of connected mailboxes."""
    return page.locator(".mailboxes li").filter(has=page.get_by_text(email, exact=True))


def account_row(page: Page, email: str):
    return page.get_by_role("row").filter(has=page.get_by_role("cell", name=email, exact=True))


def test_sign_in_with_google_lands_in_the_inbox(page, live_server, google):
    page.goto(f"{live_server.url}/")
    expect(page.get_by_role("heading", name="Your Gmail, fast and live.")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)

    page.get_by_role("button", name="Sign in with Google").click()
    pick_on_consent_page(page, google, ALICE)

    expect(page).to_have_url(f"{live_server.url}/mail/")
    expect(page.get_by_role("heading", name="Inbox", exact=True)).to_be_visible()
    mailbox = mailbox_item(page, ALICE)
    expect(mailbox).to_be_visible()
    expect(mailbox).to_contain_text("Active")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    assert django_thread(lambda: list(User.objects.values_list("email", flat=True))) == [ALICE]

    # Signed in for real: the landing page now sends them to their inbox.
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(f"{live_server.url}/mail/")


def test_add_reconnect_and_disconnect_a_second_gmail_account(page, live_server, google):
    sign_in(page, live_server, google, ALICE)

    # Add another Gmail account, from Settings: back in Tern, both addresses are listed.
    open_settings(page)
    expect(account_row(page, ALICE)).to_contain_text("Active")
    expect(account_row(page, ALICE_WORK)).to_have_count(0)
    page.get_by_role("button", name="Add another Gmail account").click()
    pick_on_consent_page(page, google, ALICE_WORK)
    expect_back_in_tern(page, live_server)
    expect(page.get_by_role("main")).to_contain_text(ALICE)
    expect(page.get_by_role("main")).to_contain_text(ALICE_WORK)
    open_settings(page)
    expect(account_row(page, ALICE)).to_contain_text("Active")
    expect(account_row(page, ALICE_WORK)).to_contain_text("Active")
    expect(page.get_by_role("alert")).to_have_count(0)

    # Google revokes Tern's access to the second address; Tern finds out on its next
    # Gmail call, made through the app's one Gmail client.
    google.revoke(ALICE_WORK)
    with pytest.raises(NeedsReconnect):
        django_thread(gmail_profile, ALICE_WORK)

    page.goto(f"{live_server.url}/mail/")
    banner = page.get_by_role("alert")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text(ALICE_WORK)
    expect(banner).not_to_contain_text(ALICE)
    expect(mailbox_item(page, ALICE_WORK)).to_contain_text("Needs reconnect")
    expect(mailbox_item(page, ALICE)).to_contain_text("Active")

    # Reconnect: the banner's button goes through Google's consent page again.
    banner.get_by_role("button", name=f"Reconnect {ALICE_WORK}").click()
    expect(page.get_by_role("button", name=ALICE_WORK)).to_be_focused()  # login_hint
    pick_on_consent_page(page, google, ALICE_WORK)
    expect_back_in_tern(page, live_server)
    expect(page.get_by_role("alert")).to_have_count(0)
    open_settings(page)
    expect(account_row(page, ALICE_WORK)).to_contain_text("Active")
    expect(page.get_by_role("alert")).to_have_count(0)
    assert google.tokens(ALICE_WORK)["refresh_tokens"], "reconnecting issued no new tokens"

    # Disconnect the second address, after its confirmation page.
    account_row(page, ALICE_WORK).get_by_role("link", name="Disconnect…").click()
    expect(page.get_by_role("heading", name=f"Disconnect {ALICE_WORK}?")).to_be_visible()
    page.get_by_role("button", name=f"Disconnect {ALICE_WORK}").click()

    expect(page).to_have_url(f"{live_server.url}/settings/")
    expect(page.get_by_role("status")).to_contain_text(f"{ALICE_WORK} is disconnected")
    expect(account_row(page, ALICE_WORK)).to_have_count(0)
    expect(account_row(page, ALICE)).to_contain_text("Active")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Inbox").click()
    expect(mailbox_item(page, ALICE)).to_contain_text("Active")
    expect(mailbox_item(page, ALICE_WORK)).to_have_count(0)

    # At Google, the disconnected address's tokens no longer work; Alice's first still do.
    tokens = google.tokens(ALICE_WORK)
    assert tokens["access_tokens"] == [] and tokens["refresh_tokens"] == [], tokens
    assert google.tokens(ALICE)["refresh_tokens"]
    assert django_thread(gmail_profile, ALICE)["emailAddress"] == ALICE


def test_cancelling_consent_returns_to_the_landing_page_with_a_message(page, live_server, google):
    page.goto(f"{live_server.url}/")
    page.get_by_role("button", name="Sign in with Google").click()
    expect(page.get_by_role("heading", name="Choose an account")).to_be_visible()

    page.get_by_role("button", name="Cancel").click()

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("status")).to_contain_text("You did not give Tern access to Gmail")
    expect(page.get_by_role("button", name="Sign in with Google")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    assert not django_thread(User.objects.exists)
