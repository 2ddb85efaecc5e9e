"""A person reads a hostile HTML mail on the thread page, in Chromium: nothing in it runs,
navigates or loads until they ask for images, and then images come through Tern's proxy.

Playwright does not report requests from a sandboxed srcdoc iframe, so the mail points
every remote URL at a small server of the test and the test counts what that server
receives (TESTING.md).
"""

import base64
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from accounts.models import GmailAccount
from mail.models import Thread
from support.mailbox import sync_to_end
from tests.browser.conftest import ALICE, django_thread
from tests.browser.test_sign_in import sign_in
from tests.sync.helpers import deliver, raw_message

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


class Tracker:
    """An HTTP server on 127.0.0.1 that answers a 1x1 GIF and remembers each path asked."""

    GIF = base64.b64decode("R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==")

    def __init__(self):
        hits = self.hits = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                hits.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/gif")
                self.end_headers()
                self.wfile.write(Tracker.GIF)

            do_POST = do_GET

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def tracker():
    server = Tracker()
    yield server
    server.close()


@pytest.fixture
def proxy(monkeypatch):
    """mail.images.proxied, whose route another part of Tern serves: a stand-in path that
    names no remote URL."""
    monkeypatch.setattr(
        "mail.images.proxied",
        lambda url: f"/mail/image/{base64.urlsafe_b64encode(url.encode()).decode()[:12]}/",
    )


def hostile_html(t: str) -> str:
    beacon = f"fetch('{t}/ran')"
    return f"""
<h2 style="color:#0b57d0">Your December offer</h2>
<p>Dear Alice, <b>everything</b> is half price.
<a href="https://shop.example/sale">See the sale</a>.</p>
<img src="{t}/banner.png" alt="Sale banner" width="300" height="80">
<img src="{t}/open.gif" width="1" height="1" alt="">
<script>alert('script'); {beacon}</script>
<img src="x" onerror="alert('onerror'); {beacon}">
<svg onload="alert('svg')"><script>alert('svg script')</script></svg>
<a href="javascript:alert('js')" id="js">click me</a>
<a href="jav&#x09;ascript:alert('tab')">tab</a>
<iframe src="{t}/frame"></iframe>
<object data="{t}/object"></object>
<form action="{t}/form"><input name="q"><button>Send</button></form>
<base href="{t}/base/">
<meta http-equiv="refresh" content="0;url={t}/refresh">
<style>@import url({t}/import.css); body {{ background: url({t}/bg.png) }}</style>
<p style="background-image:url({t}/inline-bg.png);position:fixed;top:0">boxed</p>
<img srcset="{t}/srcset.png 2x" alt="srcset">
<table background="{t}/table-bg.png"><tr><td>table</td></tr></table>
<math><mtext><table><mglyph><style><img src=x onerror="alert('mxss')">
"""


def test_a_hostile_mail_is_harmless_and_images_wait_for_the_person(
    page: Page, live_server, google, tracker, proxy, tmp_path
):
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sign_in(page, live_server, google, ALICE)
    gmail = google.gmail(ALICE)
    deliver(
        gmail,
        raw_message(
            to=ALICE,
            subject="Re: Lunch on Friday?",
            html=hostile_html(tracker.url),
            sender="Shop <offers@shop.example>",
        ),
    )

    def synced_thread():
        account = GmailAccount.objects.get(email=ALICE)
        sync_to_end(account)
        return Thread.objects.get(account=account, subject="Re: Lunch on Friday?").pk

    thread_id = django_thread(synced_thread)
    url = f"{live_server.url}/mail/thread/{thread_id}/"
    page.goto(url)

    expect(page.get_by_role("heading", level=1, name="Re: Lunch on Friday?")).to_be_visible()
    frame = page.frame_locator("iframe.email")
    expect(frame.get_by_text("everything is half price", exact=False)).to_be_visible()
    # The mail's own inline styles apply (the iframe inherits the page's CSP too).
    heading = frame.get_by_role("heading", name="Your December offer")
    expect(heading).to_have_css("color", "rgb(11, 87, 208)")
    expect(frame.get_by_text("boxed")).not_to_have_css("position", "fixed")
    expect(page.get_by_text("1 tracker blocked")).to_be_visible()
    show = page.get_by_role("button", name="Show images")
    expect(show).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert dialogs == []
    assert page.url == url
    assert tracker.hits == [], tracker.hits
    save_screenshots(page, tmp_path, "thread-blocked")
    assert_accessible(page)

    show.click()

    expect(page.get_by_role("button", name="Show images")).to_have_count(0)
    srcdoc = page.locator("iframe.email").get_attribute("srcdoc")
    assert f'src="{live_server.url}/mail/image/' in srcdoc
    assert f"img-src data: {live_server.url}/mail/image/;" in srcdoc
    assert "127.0.0.1:" + str(tracker.server.server_port) not in srcdoc
    page.wait_for_load_state("networkidle")
    assert dialogs == []
    assert tracker.hits == [], tracker.hits
    save_screenshots(page, tmp_path, "thread-images")


def test_a_plain_text_conversation_reads_well(page: Page, live_server, google, tmp_path):
    sign_in(page, live_server, google, ALICE)
    gmail = google.gmail(ALICE)
    first = deliver(
        gmail,
        raw_message(to=ALICE, subject="Quarterly budget", body="Numbers attached."),
        labels=("INBOX",),
    )
    parent = gmail.users().messages().get(userId="me", id=first["id"], format="metadata").execute()
    message_id = next(h["value"] for h in parent["payload"]["headers"] if h["name"] == "Message-ID")
    deliver(
        gmail,
        raw_message(
            to=ALICE,
            subject="Re: Quarterly budget",
            sender="Bob Example <bob@example.com>",
            body="Looks good.\nDetails: https://docs.example/budget\n\nBob",
            reply_to_id=message_id,
        ),
    )

    def synced():
        account = GmailAccount.objects.get(email=ALICE)
        sync_to_end(account)
        return Thread.objects.get(account=account, gmail_id=first["threadId"]).pk

    page.goto(f"{live_server.url}/mail/thread/{django_thread(synced)}/")

    expect(page.get_by_role("heading", level=1, name="Quarterly budget")).to_be_visible()
    link = page.get_by_role("link", name="https://docs.example/budget")
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    first_body = page.locator(".text-body").filter(has_text="Numbers attached.")
    expect(first_body).to_be_hidden()  # older and read: collapsed
    page.get_by_text("Carol Sender").first.click()
    expect(first_body).to_be_visible()
    save_screenshots(page, tmp_path, "thread-text")
    assert_accessible(page)


def save_screenshots(page: Page, tmp_path, name: str) -> None:
    for width, height, size in ((1280, 800, "desktop"), (390, 844, "phone")):
        page.set_viewport_size({"width": width, "height": height})
        for scheme in ("light", "dark"):
            page.emulate_media(color_scheme=scheme)
            page.screenshot(path=tmp_path / f"{name}-{size}-{scheme}.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.emulate_media(color_scheme="light")


def assert_accessible(page: Page) -> None:
    results = Axe().run(page)
    bad = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert bad == [], [(v["id"], v["help"], [n["html"] for n in v["nodes"]][:3]) for v in bad]
