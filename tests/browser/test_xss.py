"""Hostile mail, through the real pipeline (Gmail, sync, sanitiser, thread page) into
Chromium: nothing in it runs, navigates, opens a window or loads anything, and after
"Show images" only the mail's ordinary images load, fetched by Tern's proxy.

Each entry of PAYLOADS is one message; SUBJECTS, SENDERS and FILENAMES put hostile
headers and attachment names around them. Every script a payload carries would, if it
ran, beacon to the test's tracking server, call `alert`, and set `document.title`,
`parent.document.body.dataset.pwned` and `top.name`; every URL it names points at that
server, under `/leak/<case>/`, so a request that reaches it says which case leaked.
Playwright does not see requests from the sandboxed iframe, so that server is the
witness of loads (TESTING.md). The live DOM of each mail is also searched for anything
that could run or load were the iframe's sandbox and CSP not there: the sanitiser must
hold on its own, after Chromium's parse (mXSS), not only behind the sandbox.
"""

import base64
import re
from dataclasses import dataclass
from email.headerregistry import Address
from itertools import batched
from math import ceil
from typing import NamedTuple

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Frame, Page, expect

from accounts.models import GmailAccount
from mail.addresses import sender_of
from mail.models import Message, Thread
from mail.views.images import USER_AGENT
from support.mailbox import sync_until_done
from tests.browser.conftest import ALICE, django_thread
from tests.browser.test_inbox_layout import DESKTOP, serious_violations
from tests.browser.test_sign_in import sign_in
from tests.browser.test_thread_page import Tracker as PathTracker
from tests.sync.helpers import deliver, raw_message

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# In every table, {T} stands for this case's URL on the tracking server, {JS} for its
# beacon script (no spaces, no double quotes: it fits unquoted and quoted attributes) and
# {B64} for a base64 HTML page that runs that script. A text "bait" is something the
# test hovers and clicks, as a curious reader would.
PAYLOADS: dict[str, str] = {
    # <script>, however it is spelt
    "script": "<script>{JS}</script>",
    "script-src": '<script src="{T}/script.js"></script>',
    "script-split": "<scr<script>ipt>{JS}</scr</script>ipt>",
    "attribute-breakout": '<img alt="x" title=\'"><script>{JS}</script>\'>',
    # event handlers
    "img-onerror": '<img src=x onerror="{JS}">',
    "img-onerror-unquoted": "<img src=x onerror={JS}>",
    "body-onload": '<body onload="{JS}">',
    "onmouseover": '<div onmouseover="{JS}">bait</div>',
    "autofocus-onfocus": '<input autofocus onfocus="{JS}">',
    "details-ontoggle": '<details open ontoggle="{JS}"><summary>bait</summary></details>',
    "source-onerror": '<video><source onerror="{JS}"></video>',
    "onclick": '<a onclick="{JS}">bait</a>',
    "onanimationstart": (
        '<style>@keyframes pulse{}</style><p style="animation-name:pulse" '
        'onanimationstart="{JS}">animated</p>'
    ),
    "marquee-onstart": '<marquee onstart="{JS}">bait</marquee>',
    # javascript: and friends, in every encoding
    "javascript": '<a href="javascript:{JS}">bait</a>',
    "javascript-mixed-case": '<a href="JaVaScRiPt:{JS}">bait</a>',
    "javascript-entities": (
        '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;{JS}">bait</a>'
    ),
    "javascript-hex-entity": '<a href="&#x6A;avascript:{JS}">bait</a>',
    "javascript-padded-entities": '<a href="&#0000106&#0000097vascript:{JS}">bait</a>',
    "javascript-colon-entity": '<a href="javascript&colon;{JS}">bait</a>',
    "javascript-tab": '<a href="jav\tascript:{JS}">bait</a>',
    "javascript-tab-entity": '<a href="jav&#x09;ascript:{JS}">bait</a>',
    "javascript-newline": '<a href="java\nscript:{JS}">bait</a>',
    "javascript-newline-entity": '<a href="jav&#x0A;ascript:{JS}">bait</a>',
    "javascript-leading-spaces": '<a href="  javascript:{JS}">bait</a>',
    "javascript-leading-control": '<a href="&#x01;javascript:{JS}">bait</a>',
    "javascript-img-src": '<img src="javascript:{JS}" alt="js image">',
    "vbscript": '<a href="vbscript:msgbox(1)">bait</a>',
    "data-html-link": '<a href="data:text/html;base64,{B64}">bait</a>',
    "data-html-link-plain": '<a href="data:text/html,&lt;script&gt;{JS}&lt;/script&gt;">bait</a>',
    # SVG
    "svg-script": "<svg><script>{JS}</script></svg>",
    "svg-onload": '<svg onload="{JS}"></svg>',
    "svg-slash-onload": '<svg/onload="{JS}">',
    "svg-use-href": '<svg><use href="{T}/sprite.svg#icon"/></svg>',
    "svg-use-xlink": '<svg><use xlink:href="{T}/xlink.svg#icon"/></svg>',
    "svg-animate-href": (
        '<svg><a><animate attributeName="href" values="javascript:{JS}"/>'
        '<text x="20" y="20">bait</text></a></svg>'
    ),
    "svg-set-href": (
        '<svg><a><set attributeName="href" to="javascript:{JS}"/>'
        '<text x="20" y="20">bait</text></a></svg>'
    ),
    "svg-image": '<svg><image href="{T}/image.png" width="10" height="10"/></svg>',
    "svg-foreignobject": '<svg><foreignObject><img src=x onerror="{JS}"></foreignObject></svg>',
    "svg-style-import": '<svg><style>@import "{T}/svg.css";</style></svg>',
    "svg-cdata": '<svg><![CDATA[><img src=x onerror="{JS}">]]></svg>',
    # MathML and mutation XSS: markup the sanitiser and the browser might parse apart
    "math-mglyph-style": '<math><mtext><table><mglyph><style><img src=x onerror="{JS}">',
    "math-href": '<math href="javascript:{JS}"><mi>bait</mi></math>',
    "form-math-mglyph": (
        '<form><math><mtext></form><form><mglyph><svg><mtext><style><path id="</style>'
        '<img onerror={JS} src>">'
    ),
    "svg-p-style": '<svg><p><style><img src=x onerror="{JS}">',
    "noscript-title": '<noscript><p title="</noscript><img src=x onerror={JS}>"></noscript>',
    "noembed-title": '<noembed><img title="</noembed><img src=x onerror={JS}>"></noembed>',
    "xmp-title": '<xmp><p title="</xmp><img src=x onerror={JS}>">',
    "title-raw-text": '<title><img title="</title><img src=x onerror={JS}>"></title>',
    "textarea-raw-text": '<textarea><img title="</textarea><img src=x onerror={JS}>"></textarea>',
    "comment-breakout": '<!--><img src=x onerror="{JS}">-->',
    "comment-bang-breakout": '<!-- --!><img src=x onerror="{JS}"> -->',
    # CSS
    "style-url": "<style>body{background:url({T}/background.png)}</style>",
    "style-import": '<style>@import "{T}/import.css";</style>',
    "style-font-face": (
        "<style>@font-face{font-family:f;src:url({T}/font.woff)}p{font-family:f}</style>"
    ),
    "style-expression": '<p style="width:expression({JS})">expression</p>',
    "inline-url": '<p style="background-image:url({T}/inline.png)">inline</p>',
    "inline-escaped-url": r'<p style="background:\75 rl({T}/escaped.png)">escaped</p>',
    "inline-entity-url": '<p style="background:&#117;rl({T}/entity.png)">entity</p>',
    "inline-image-set": "<p style=\"background-image:image-set('{T}/set.png' 1x)\">set</p>",
    "inline-cursor": '<p style="cursor:url({T}/cursor.cur),auto">cursor</p>',
    "link-stylesheet": '<link rel="stylesheet" href="{T}/style.css">',
    "link-preload": (
        '<link rel="preload" as="image" href="{T}/preload.png">'
        '<link rel="prefetch" href="{T}/prefetch"><link rel="icon" href="{T}/icon.png">'
    ),
    # the document itself: base URL and refresh
    "base-href": '<base href="{T}/base/"><img src="relative.png" alt="relative">',
    "meta-refresh": '<meta http-equiv="refresh" content="0;url={T}/refresh">',
    "meta-refresh-javascript": '<meta http-equiv="refresh" content="0;url=javascript:{JS}">',
    "meta-refresh-data": '<meta http-equiv="refresh" content="0;url=data:text/html;base64,{B64}">',
    # forms
    "form-action": (
        '<form action="{T}/form" method="post"><input name="q" value="secret">'
        "<button>bait</button></form>"
    ),
    "button-formaction": (
        '<form id="f"></form><button form="f" formaction="{T}/formaction">bait</button>'
    ),
    "button-formaction-javascript": (
        '<form><button formaction="javascript:{JS}">bait</button></form>'
    ),
    "input-image": '<input type="image" src="{T}/input.png" alt="input">',
    # frames
    "iframe": '<iframe src="{T}/iframe"></iframe>',
    "iframe-srcdoc": (
        '<iframe srcdoc="&lt;script&gt;{JS}&lt;/script&gt;&lt;img src={T}/srcdoc.png&gt;">'
    ),
    "iframe-javascript": '<iframe src="javascript:{JS}"></iframe>',
    "iframe-data": '<iframe src="data:text/html;base64,{B64}"></iframe>',
    "frame": '<frameset><frame src="{T}/frameset"></frameset><frame src="{T}/frame">',
    # plugins
    "object": '<object data="{T}/object.swf" type="application/x-shockwave-flash"></object>',
    "object-data-html": '<object data="data:text/html;base64,{B64}"></object>',
    "embed": '<embed src="{T}/embed.swf">',
    "applet": '<applet code="Evil.class" codebase="{T}/applet/"></applet>',
    # images and media that are not a plain <img src>
    "remote-image": '<img src="{T}/remote.png" alt="remote" width="200" height="100">',
    "img-srcset": '<img srcset="{T}/srcset.png 1x" alt="srcset">',
    "picture-source": '<picture><source srcset="{T}/source.png"><img alt="picture"></picture>',
    "img-lowsrc-dynsrc": '<img lowsrc="{T}/lowsrc.png" dynsrc="{T}/dynsrc.avi" alt="lowsrc">',
    "video-poster": '<video poster="{T}/poster.png"></video>',
    "video-source": '<video autoplay muted><source src="{T}/video.mp4" type="video/mp4"></video>',
    "video-track": '<video><track src="{T}/track.vtt" default></video>',
    "audio-src": '<audio src="{T}/audio.mp3" autoplay></audio>',
    "background-attributes": (
        '<table background="{T}/table.png"><tr><td background="{T}/cell.png">cell</td></tr>'
        '</table><div background="{T}/div.png">div</div>'
    ),
    "a-ping": '<a href="https://shop.example/sale" ping="{T}/ping">See the sale</a>',
}

# One per thread: the page's <h1> and <title>, the inbox row.
SUBJECTS = (
    "<script>{JS}</script>",
    "\"><img src=x onerror=alert('subject')>",
    "</title><svg onload=alert('subject')>",
    "<a href=\"javascript:alert('subject')\">Re: invoice</a>",
    "{{ request.user }} {% debug %} ${7*7}",
    '<iframe src="{T}/iframe"></iframe>',
    "&lt;b&gt;entities&lt;/b&gt; &amp; <b>tags</b>",
    "Zoë <img src=x onerror=alert('encoded-word')>",
)
# Display names of the From header, one message after another (the last needs an
# RFC 2047 encoded word).
SENDERS = (
    "<img src=x onerror=alert('from')>",
    "<script>alert('from')</script>",
    "\"><svg onload=alert('from')>",
    "javascript:alert('from')",
    "Zoë <b onmouseover=alert('from')>Support</b>",
)
# Attachment names, one message after another (the last needs RFC 2231 encoding).
FILENAMES = (
    "\"><img src=x onerror=alert('file')>.pdf",
    "<script>alert('file')</script>.html",
    "<svg onload=alert('file')>.png",
    "javascript:alert('file').pdf",
    "Zoë \"><iframe src=javascript:alert('file')>.txt",
)

IMAGES_SUBJECT = "Your December offer"
IMAGES_SENDER = "Shop"

# In the live DOM of a mail's document (run in its frame): anything that could run a
# script or load a resource were there no sandbox and no CSP. Tern's own <meta charset>,
# <meta> CSP and <style> are in the head; the mail is the body.
UNSAFE_NODES = """(imagePrefix) => {
  const TAGS = new Set(['script', 'style', 'link', 'meta', 'base', 'iframe', 'frame',
    'frameset', 'object', 'embed', 'applet', 'param', 'form', 'input', 'button', 'select',
    'textarea', 'video', 'audio', 'source', 'track', 'picture', 'template', 'noscript',
    'isindex', 'portal']);
  // Attributes that load something, or act without the reader (autofocus).
  const RISKY = new Set(['srcset', 'ping', 'action', 'formaction', 'background', 'poster',
    'lowsrc', 'dynsrc', 'codebase', 'data', 'xlink:href', 'http-equiv', 'srcdoc',
    'autofocus']);
  const found = [];
  for (const el of document.body.querySelectorAll('*')) {
    const tag = el.localName;
    if (el.namespaceURI !== 'http://www.w3.org/1999/xhtml') found.push(`<${tag}> (foreign)`);
    else if (TAGS.has(tag)) found.push(`<${tag}>`);
    for (const {name, value} of el.attributes) {
      const url = value.replace(/[\\u0000-\\u0020]/g, '').toLowerCase();
      const safeUrl =
        (tag === 'a' && name === 'href' && /^(https?|mailto):/.test(url)) ||
        (tag === 'img' && name === 'src' &&
          (url.startsWith('data:image/') || (imagePrefix && value.startsWith(imagePrefix)))) ||
        (name === 'cite' && /^https?:/.test(url));
      if (name.startsWith('on') || RISKY.has(name)) found.push(`<${tag} ${name}>`);
      else if (['href', 'src', 'cite'].includes(name) && !safeUrl)
        found.push(`<${tag} ${name}="${value.slice(0, 60)}">`);
      else if (name === 'style' && /url\\(|image-set|expression|@import|\\\\/i.test(value))
        found.push(`<${tag} style="${value.slice(0, 60)}">`);
    }
  }
  const anywhere = document.querySelectorAll('script, link, base, meta[http-equiv="refresh" i]');
  for (const el of anywhere) found.push(`<${el.localName}> in the document`);
  if (document.querySelectorAll('style').length !== 1) found.push('a <style> of the mail');
  return {found, title: document.title, pwned: document.body.dataset.pwned ?? null};
}"""

# In Tern's own page: what hostile headers would have left, had they not been escaped.
INJECTED_NODES = """() => {
  const found = [];
  for (const el of document.querySelectorAll('*'))
    for (const {name} of el.attributes)
      if (name.startsWith('on')) found.push(`<${el.localName} ${name}>`);
  const foreign = 'img, frame, frameset, object, embed, applet, base, math, meta[http-equiv], '
    + 'iframe:not(.email[sandbox="allow-popups allow-popups-to-escape-sandbox"])';
  for (const el of document.querySelectorAll(foreign)) found.push(`<${el.localName}>`);
  for (const el of document.querySelectorAll('script'))
    if (!(el.src || '').startsWith(`${location.origin}/static/`)) found.push('a <script>');
  for (const el of document.querySelectorAll('a[href], area[href], svg [href]'))
    if (/^\\s*(javascript|vbscript|data):/i.test(el.getAttribute('href')))
      found.push(`<${el.localName} href="${el.getAttribute('href').slice(0, 60)}">`);
  return {found, name: window.name, pwned: document.body.dataset.pwned ?? null};
}"""


class Request(NamedTuple):
    method: str
    path: str
    user_agent: str


class Tracker(PathTracker):
    """test_thread_page's tracking server, also keeping every request's method and
    User-Agent, whatever the method: the image proxy's fetches name Tern, a browser's
    would name Chromium."""

    def __init__(self):
        super().__init__()
        requests = self.requests = []

        class Handler(self.server.RequestHandlerClass):
            def parse_request(self):
                parsed = super().parse_request()
                if parsed:
                    requests.append(
                        Request(self.command, self.path, self.headers.get("User-Agent", ""))
                    )
                return parsed

        self.server.RequestHandlerClass = Handler


@pytest.fixture
def tracker(settings):
    """The tracking server, which Tern's image proxy may reach (it refuses loopback
    otherwise), through the test-only allowance of its one address and port."""
    server = Tracker()
    settings.IMAGE_PROXY_TEST_ALLOWED_ADDRESSES = [f"127.0.0.1:{server.server.server_port}"]
    yield server
    server.close()


class Watch:
    """What a page does that the person did not ask for: dialogs, new windows, frames
    navigating anywhere but Tern's pages and the mails' srcdoc, and requests (of those
    Playwright sees) leaving Tern."""

    def __init__(self, page: Page, origin: str):
        self.origin = origin
        self.seen: list[str] = []
        page.on("dialog", self._dialog)
        page.context.on("page", lambda popup: self.seen.append(f"window opened: {popup.url}"))
        page.on("framenavigated", self._navigated)
        page.on("request", self._requested)

    def _dialog(self, dialog) -> None:
        self.seen.append(f"dialog: {dialog.message}")
        dialog.dismiss()

    def _navigated(self, frame: Frame) -> None:
        if frame.url != "about:srcdoc" and not frame.url.startswith(f"{self.origin}/mail/"):
            self.seen.append(f"navigated to {frame.url}")

    def _requested(self, request) -> None:
        if not request.url.startswith((self.origin, "data:")):
            self.seen.append(f"request to {request.url}")


@dataclass(frozen=True)
class Sent:
    case: str
    sender: str
    filename: str
    message_id: str


@dataclass(frozen=True)
class HostileThread:
    subject: str
    messages: tuple[Sent, ...]


def filled(template: str, *, tracker_url: str, case: str) -> str:
    """`template` with {T}, {JS} and {B64} filled in for `case` (see PAYLOADS)."""
    url = f"{tracker_url}/leak/{case}"
    script = (
        f"fetch('{url}/ran');alert('{case}');document.title='pwned';"
        f"parent.document.body.dataset.pwned='{case}';top.name='pwned'"
    )
    page = base64.b64encode(f"<script>{script}</script>".encode()).decode()
    return template.replace("{T}", url).replace("{JS}", script).replace("{B64}", page)


def deliver_hostile_mail(gmail, tracker_url: str) -> list[HostileThread]:
    """Every payload as a message of its own, unread, in threads of the hostile subjects,
    each from a hostile sender with a hostile attachment."""
    threads = []
    per_thread = ceil(len(PAYLOADS) / len(SUBJECTS))
    numbered = enumerate(PAYLOADS.items())
    for n, cases in enumerate(batched(numbered, per_thread)):
        subject = filled(SUBJECTS[n], tracker_url=tracker_url, case=f"subject-{n}")
        sent, first_id = [], None
        for index, (case, template) in cases:
            html = filled(template, tracker_url=tracker_url, case=case)
            sender = SENDERS[index % len(SENDERS)]
            filename = FILENAMES[index % len(FILENAMES)]
            message = raw_message(
                to=ALICE,
                subject=subject,
                sender=str(Address(display_name=sender, addr_spec="offers@hostile.example")),
                body=f"Case {case} <script>alert('snippet')</script>",
                html=f"<p>Case {case}</p>\n{html}",
                reply_to_id=first_id,
            )
            message.add_attachment(
                b"%PDF-1.4\n", maintype="application", subtype="pdf", filename=filename
            )
            deliver(gmail, message)
            first_id = first_id or message["Message-ID"]
            sent.append(Sent(case, sender, filename, message["Message-ID"]))
        threads.append(HostileThread(subject, tuple(sent)))
    return threads


def images_html(tracker_url: str) -> str:
    """Two ordinary images, a tracking pixel, and what must not load even once images
    are shown."""
    leak = f"{tracker_url}/leak/images"
    return f"""
<p>Case images</p>
<h2>Half price on everything</h2>
<img src="{tracker_url}/img/banner.gif" alt="Banner" width="300" height="80">
<img src="{tracker_url}/img/photo.gif" alt="Photo" width="200" height="120">
<img src="{leak}/open.gif" width="1" height="1" alt="">
<img srcset="{leak}/srcset.gif 2x" alt="srcset">
<picture><source srcset="{leak}/source.gif"><img alt="picture"></picture>
<p style="background:url({leak}/background.gif)">background</p>
<table background="{leak}/table.gif"><tr><td>table</td></tr></table>
<video poster="{leak}/poster.gif"></video>
<svg><image href="{leak}/svg.gif"/></svg>
<input type="image" src="{leak}/input.gif" alt="input">
<style>@import "{leak}/import.css";</style>
<link rel="stylesheet" href="{leak}/style.css">
<script src="{leak}/script.js"></script>
<iframe src="{leak}/frame"></iframe>
"""


def check_thread_page(page: Page, thread: HostileThread, names: dict[str, str]) -> list[str]:
    """What is wrong on the open thread page, each finding naming its case. `names`:
    each message's sender name as Tern reads it, by Message-ID."""
    findings = []
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_be_visible()
    if heading.text_content() != thread.subject:
        findings.append(f"subject {thread.subject!r} shown as {heading.text_content()!r}")
    if page.title() != f"{thread.subject} · Tern":
        findings.append(f"subject {thread.subject!r}: title {page.title()!r}")
    shown_names = page.locator(".message .from .name").all_text_contents()
    expected = sorted(names[sent.message_id] for sent in thread.messages)
    if sorted(shown_names) != expected:
        findings.append(f"senders shown as {shown_names!r}, not {expected!r}")
    files = page.locator("a.filename").all_text_contents()
    if sorted(files) != sorted(sent.filename for sent in thread.messages):
        findings.append(f"attachments shown as {files!r}")

    iframes = page.locator("iframe.email")
    expect(iframes).to_have_count(len(thread.messages))
    cases = []
    for iframe in iframes.element_handles():
        # From the srcdoc, which stays put whatever the mail's frame does.
        cases.append(re.search(r"<p>Case ([\w-]+)</p>", iframe.get_attribute("srcdoc"))[1])
        findings += check_mail(iframe.content_frame(), cases[-1])
    assert sorted(cases) == sorted(sent.case for sent in thread.messages)
    findings += injected(page, thread.subject)
    return findings


def check_mail(frame: Frame, case: str, image_prefix: str | None = None) -> list[str]:
    """What the mail shown in `frame` did, or kept, that it must not. Its baits are
    clicked first. `image_prefix`: where its images may come from (the proxy)."""
    if frame.url != "about:srcdoc":
        return [f"{case}: the mail's frame went to {frame.url}"]
    try:
        if not frame.get_by_text(f"Case {case}", exact=True).is_visible():
            return [f"{case}: the mail is not shown"]
        for bait in frame.get_by_text("bait", exact=True).all():
            if bait.is_visible():
                bait.click(force=True)  # over it (mouseover), then a click
        state = frame.evaluate(UNSAFE_NODES, image_prefix)
    except PlaywrightError as error:
        return [f"{case}: {error.message.splitlines()[0]} (its frame is at {frame.url})"]
    findings = [f"{case}: {found}" for found in state["found"]]
    if state["title"] or state["pwned"]:
        findings.append(f"{case}: the mail's title is {state['title']!r}, mark {state['pwned']!r}")
    if frame.url != "about:srcdoc" or frame.child_frames:
        findings.append(f"{case}: frame at {frame.url} with {len(frame.child_frames)} frames")
    return findings


def check_inbox(page: Page, threads: list[HostileThread], names: dict[str, str]) -> list[str]:
    """What is wrong in the open inbox: every hostile subject and sender name is text."""
    rows = page.get_by_role("list", name="Conversations")
    expect(rows.get_by_role("link")).to_have_count(len(threads) + 1)
    subjects = rows.locator(".subject").all_text_contents()
    findings = [
        f"inbox: subject {thread.subject!r} not shown as text"
        for thread in threads
        if thread.subject not in subjects
    ]
    shown_names = set(rows.locator(".names span").all_text_contents())
    findings += [f"inbox: sender shown as {name!r}" for name in shown_names - {*names.values()}]
    return findings + injected(page, "inbox")


def injected(page: Page, where: str) -> list[str]:
    """What hostile headers left in Tern's own page, or did to it."""
    state = page.evaluate(INJECTED_NODES)
    findings = [f"{where}: {found} in Tern's page" for found in state["found"]]
    if state["name"] or state["pwned"]:
        findings.append(f"{where}: script ran in Tern's page ({state})")
    return findings


def screenshot_whole(page: Page, path) -> None:
    """A full-page screenshot with every mail painted: Chromium does not paint a
    cross-origin frame (a sandboxed mail) outside the viewport, so for the picture the
    viewport is as tall as the page."""
    height = page.evaluate("document.documentElement.scrollHeight")
    page.set_viewport_size({**DESKTOP, "height": height})
    page.screenshot(path=path)
    page.set_viewport_size(DESKTOP)


def test_hostile_mail_runs_nothing_loads_nothing_and_images_come_only_through_the_proxy(
    page: Page, live_server, google, tracker, tmp_path
):
    page.set_viewport_size(DESKTOP)
    sign_in(page, live_server, google, ALICE)
    watch = Watch(page, live_server.url)
    gmail = google.gmail(ALICE)
    threads = deliver_hostile_mail(gmail, tracker.url)
    images = raw_message(
        to=ALICE,
        subject=IMAGES_SUBJECT,
        sender=f"{IMAGES_SENDER} <offers@shop.example>",
        html=images_html(tracker.url),
    )
    deliver(gmail, images)

    def synced():
        account = GmailAccount.objects.get(email=ALICE)
        sync_until_done(account)
        threads = Thread.objects.filter(account=account).values_list("subject", "pk")
        froms = Message.objects.filter(account=account).values_list("rfc822_message_id", "sender")
        return dict(threads), dict(froms)

    thread_ids, froms = django_thread(synced)
    # Gmail gives clients the From header with encoded words decoded and no quotes added:
    # a non-ASCII name full of address syntax comes back unquoted. The page must show,
    # as text, the name Tern reads from it (mail.addresses: the name whole); an ASCII one
    # comes back as it was sent.
    names = {message_id: sender_of(sender)[0] for message_id, sender in froms.items()}
    sent = [sent for thread in threads for sent in thread.messages]
    assert all(names[one.message_id] == one.sender for one in sent if one.sender.isascii())
    assert set(thread_ids) == {IMAGES_SUBJECT, *(thread.subject for thread in threads)}

    findings = []
    for n, thread in enumerate(threads):
        url = f"{live_server.url}/mail/thread/{thread_ids[thread.subject]}/"
        page.goto(url, wait_until="networkidle")
        findings += check_thread_page(page, thread, names)
        if page.url != url:
            findings.append(f"{thread.subject!r}: the page went to {page.url}")
        if n == 0:
            screenshot_whole(page, tmp_path / "xss-thread.png")
            assert serious_violations(page) == []

    page.goto(f"{live_server.url}/mail/", wait_until="networkidle")
    findings += check_inbox(page, threads, names)

    problems = findings + watch.seen
    assert problems == [], "\n".join(problems)
    assert tracker.requests == []

    # Images, when the person asks for them: the two ordinary ones, fetched by the proxy.
    images_url = f"{live_server.url}/mail/thread/{thread_ids[IMAGES_SUBJECT]}/"
    page.goto(images_url, wait_until="networkidle")
    expect(page.get_by_text("1 tracker blocked")).to_be_visible()
    assert tracker.requests == []
    page.get_by_role("button", name="Show images").click()
    page.wait_for_url(re.compile(r"\?images=\d+"), wait_until="networkidle")

    expect(page.get_by_role("button", name="Show images")).to_have_count(0)
    frame = page.locator("iframe.email").element_handle().content_frame()
    proxy = f"{live_server.url}/mail/image/"
    for name in ("Banner", "Photo"):
        image = frame.get_by_alt_text(name)
        assert image.get_attribute("src").startswith(proxy)
        assert image.evaluate("image => image.complete && image.naturalWidth > 0"), name
    problems = check_mail(frame, "images", proxy) + injected(page, IMAGES_SUBJECT) + watch.seen
    assert problems == [], "\n".join(problems)
    assert sorted(tracker.requests) == [
        Request("GET", "/img/banner.gif", USER_AGENT),
        Request("GET", "/img/photo.gif", USER_AGENT),
    ]
