"""“Always show from this sender” in Chromium: before it, the tracking server of the test
sees no request; after it, that mail and the sender's next one show their images, each
fetched once by Tern's proxy (never by the browser), and the list in settings takes the
sender off again. axe-core runs on the list; its screenshot is senders-desktop.png."""

import pytest
from playwright.sync_api import Page, expect

from accounts.models import GmailAccount
from mail.models import Thread
from support.mailbox import sync_to_end
from tests.browser.conftest import ALICE, django_thread
from tests.browser.test_inbox_layout import DESKTOP, serious_violations
from tests.browser.test_sign_in import sign_in
from tests.browser.test_thread_page import Tracker
from tests.sync.helpers import deliver, raw_message

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def news_site():
    """The sender's image server, which counts every request it gets."""
    server = Tracker()
    yield server
    server.close()


def a_mail(google, site, subject):
    html = f'<p>Our news</p><img src="{site.url}/{subject}.png" alt="News" width="200" height="50">'
    deliver(
        google.gmail(ALICE),
        raw_message(to=ALICE, subject=subject, html=html, sender="News <news@news.example>"),
    )

    def synced():
        account = GmailAccount.objects.get(email=ALICE)
        sync_to_end(account)
        return Thread.objects.get(account=account, subject=subject).get_absolute_url()

    return django_thread(synced)


def test_always_showing_a_sender_s_images_loads_them_through_the_proxy(
    page: Page,
    live_server,
    google,
    news_site,
    settings,
    tmp_path,
):
    # The proxy refuses loopback targets; the test's image server is let through (its one port).
    settings.IMAGE_PROXY_TEST_ALLOWED_ADDRESSES = [f"127.0.0.1:{news_site.server.server_port}"]
    page.set_viewport_size(DESKTOP)
    sign_in(page, live_server, google, ALICE)
    first = a_mail(google, news_site, "first")
    page.goto(live_server.url + first)
    expect(page.get_by_text("Images are hidden to protect your privacy.")).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert news_site.hits == []

    page.get_by_role("button", name="Always show from this sender").click()

    expect(page.locator("#toast")).to_contain_text(
        "Images from news@news.example will always be shown."
    )
    expect(page.get_by_text("you always show them from this sender")).to_be_visible()
    image = page.frame_locator("iframe.email").get_by_role("img", name="News")
    expect(image).to_have_js_property("complete", True)
    assert image.evaluate("img => img.naturalWidth") > 0
    second = a_mail(google, news_site, "second")
    page.goto(live_server.url + second)
    second_image = page.frame_locator("iframe.email").get_by_role("img", name="News")
    expect(second_image).to_have_js_property("complete", True)
    assert news_site.hits == ["/first.png", "/second.png"]  # the proxy's, once each

    page.goto(f"{live_server.url}/settings/")
    page.get_by_role("link", name="Senders whose images are always shown").click()
    expect(page.get_by_text("news@news.example", exact=True)).to_be_visible()
    assert serious_violations(page) == []
    page.screenshot(path=tmp_path / "senders-desktop.png")
    page.get_by_role("button", name="Stop showing images from news@news.example").click()
    expect(page.locator("#toast")).to_contain_text("will be hidden again")
    page.goto(live_server.url + second)
    expect(page.get_by_role("button", name="Show images")).to_be_visible()
