"""An attached message in Chromium: from its thread, the link opens it as a message of
its own, its body in the sandboxed frame, nothing in it running; axe-core on the page in
light and dark, desktop and phone; screenshots attached-*.png in the test's tmp_path."""

import pytest
from playwright.sync_api import Page, expect

from accounts.models import GmailAccount
from mail.models import Thread
from support.mailbox import sync_to_end
from tests.browser.conftest import ALICE, django_thread
from tests.browser.test_inbox_layout import DESKTOP, PHONE, serious_violations
from tests.browser.test_sign_in import sign_in
from tests.sync.helpers import deliver, raw_message
from tests.sync.test_attached_message import an_offer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_attached_message_opens_as_a_message(page: Page, live_server, google, tmp_path):
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.set_viewport_size(DESKTOP)
    sign_in(page, live_server, google, ALICE)
    outer = raw_message(to=ALICE, subject="Fwd: the offer", body="See below.")
    outer.add_attachment(an_offer())
    deliver(google.gmail(ALICE), outer)

    def synced():
        account = GmailAccount.objects.get(email=ALICE)
        sync_to_end(account)
        return Thread.objects.get(account=account, subject="Fwd: the offer").get_absolute_url()

    page.goto(live_server.url + django_thread(synced))
    page.get_by_role("link", name="The original <b>offer</b>").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("The original <b>offer</b>")
    frame = page.frame_locator("iframe.email")
    expect(frame.get_by_text("offer.", exact=False)).to_be_visible()
    expect(page.get_by_text("terms.pdf")).to_be_visible()
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        assert serious_violations(page) == []
        page.screenshot(path=tmp_path / f"attached-desktop-{scheme}.png")
    page.set_viewport_size(PHONE)
    assert serious_violations(page) == []
    page.screenshot(path=tmp_path / "attached-phone-dark.png")
    page.get_by_role("link", name="Back to the conversation").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Fwd: the offer")
    assert dialogs == []
