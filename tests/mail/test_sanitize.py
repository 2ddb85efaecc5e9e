"""mail.sanitize: hostile email HTML in, harmless HTML out."""

import base64

import pytest

from mail.sanitize import REMOTE, document, plain_text, render, sanitize

# (hostile HTML, what must not be in the output, lowercased)
HOSTILE = [
    ("<script>alert(1)</script>hi", "<script"),
    ("<SCRIPT SRC=//evil.example/x.js></SCRIPT>", "evil"),
    ('<img src="x" onerror="alert(1)">', "onerror"),
    ("<body onload=alert(1)>", "onload"),
    ('<div onmouseover="alert(1)">x</div>', "onmouseover"),
    ('<a href="javascript:alert(1)">x</a>', "javascript"),
    ('<a href="JaVaScRiPt:alert(1)">x</a>', "alert"),
    ('<a href="jav&#x09;ascript:alert(1)">x</a>', "alert"),
    ('<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;:alert(1)">x</a>', "alert"),
    ('<a href="  javascript:alert(1)">x</a>', "alert"),
    ('<a href="java\nscript:alert(1)">x</a>', "alert"),
    ('<a href="vbscript:msgbox(1)">x</a>', "vbscript"),
    ('<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>', "data:"),
    ('<img src="data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=">', "svg"),
    ("<svg><script>alert(1)</script></svg>", "<svg"),
    ('<svg onload="alert(1)"><circle/></svg>', "onload"),
    ("<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>", "onerror"),
    ('<math href="javascript:alert(1)">x</math>', "javascript"),
    ('<noscript><p title="</noscript><img src=x onerror=alert(1)>">', "onerror"),
    ('<p style="background:url(https://evil.example/bg.png)">x</p>', "evil"),
    ('<p style="background-image: u\\72l(https://evil.example/a)">x</p>', "evil"),
    ("<style>@import url(https://evil.example/a.css);</style>x", "@import"),
    ("<style>@font-face{src:url(https://evil.example/f.woff)}</style>x", "evil"),
    ('<p style="width: expression(alert(1))">x</p>', "expression"),
    ('<div style="position:fixed;top:0;left:0;width:100%">x</div>', "position"),
    ('<div style="position: absolute">x</div>', "position"),
    ('<base href="https://evil.example/">', "<base"),
    ('<meta http-equiv="refresh" content="0;url=https://evil.example/">', "refresh"),
    ('<form action="https://evil.example/"><input name="p"><button>Go</button></form>', "<form"),
    ('<form action="https://evil.example/"><input name="p"></form>', "<input"),
    ('<iframe src="https://evil.example/"></iframe>', "<iframe"),
    ('<frameset><frame src="https://evil.example/"></frameset>', "frame"),
    ('<object data="https://evil.example/x.swf"></object>', "<object"),
    ('<embed src="https://evil.example/x.swf">', "<embed"),
    ('<img srcset="https://evil.example/a.png 1x, https://evil.example/b.png 2x">', "evil"),
    ('<picture><source srcset="https://evil.example/a.png"><img alt=""></picture>', "evil"),
    ('<table background="https://evil.example/bg.png"><tr><td>x</td></tr></table>', "evil"),
    ('<link rel="stylesheet" href="https://evil.example/a.css">', "<link"),
    ('<video poster="https://evil.example/p.png"></video>', "evil"),
    ('<a href="/mail/">relative, resolves against Tern</a>', "href"),
    ('<img src="https://evil.example/a.png">', "evil"),
    ("<!--[if IE]><script>alert(1)</script><![endif]-->x", "alert"),
]


@pytest.mark.parametrize(("hostile", "absent"), HOSTILE, ids=[h[:40] for h, _ in HOSTILE])
def test_hostile_html_comes_out_harmless(hostile, absent):
    shown = render(sanitize(hostile)).body

    assert absent not in shown.lower()
    assert "<script" not in shown.lower() and " on" not in shown.lower().replace(" one", "")


def test_it_keeps_the_text_and_the_layout_of_ordinary_mail():
    html = (
        '<table width="600" cellpadding="4"><tr><td style="color:#333;padding:8px">'
        "<h2>Your order</h2><p>Hello <b>Ann</b>,<br>thanks.</p></td></tr></table>"
    )

    assert sanitize(html) == (
        '<table width="600" cellpadding="4"><tbody><tr><td style="color:#333;padding:8px">'
        "<h2>Your order</h2><p>Hello <b>Ann</b>,<br>thanks.</p></td></tr></tbody></table>"
    )


def test_links_open_in_a_new_tab_without_opener_or_referrer():
    shown = sanitize('<a href="https://example.com/a?b=1&c=2">shop</a>')

    assert shown == (
        '<a href="https://example.com/a?b=1&amp;c=2" target="_blank" '
        'rel="noopener noreferrer">shop</a>'
    )


def test_only_the_dangerous_declarations_of_a_style_go():
    shown = sanitize(
        '<p style="color: red; position: fixed; background: url(https://e.example/x); '
        'font-weight: bold">x</p>'
    )

    assert shown == '<p style="color:red;font-weight:bold">x</p>'


def test_inline_data_images_stay():
    image = "data:image/png;base64,iVBORw0KGgo="

    assert render(sanitize(f'<img src="{image}" alt="logo">')).body == (
        f'<img src="{image}" alt="logo">'
    )


def test_remote_images_are_blocked_by_default_and_counted():
    rendered = render(sanitize('<p>Hi</p><img src="https://cdn.example/banner.png" alt="Sale">'))

    assert rendered.body == '<p>Hi</p><img alt="Sale">'
    assert rendered.remote_images == 1 and rendered.trackers == 0


def test_shown_images_go_through_the_proxy():
    url = "https://cdn.example/banner.png?a=1&b=2"
    seen = []

    def proxied(remote):
        seen.append(remote)
        return "https://tern.example/mail/image/TOKEN/"

    rendered = render(sanitize(f'<img src="{url}" alt="Sale">'), proxied=proxied)

    assert seen == [url]
    assert rendered.body == '<img src="https://tern.example/mail/image/TOKEN/" alt="Sale">'
    assert "cdn.example" not in rendered.body


@pytest.mark.parametrize(
    "pixel",
    [
        '<img src="https://mail.example/o.gif" width="1" height="1">',
        '<img src="https://mail.example/o.gif" width="0" height="0">',
        '<img src="https://mail.example/o.gif" style="display:none">',
        '<img src="https://track.mailer.example/x.gif">',
        '<img src="https://mailer.example/open/123.gif">',
        '<img src="https://pixel.example/p">',
    ],
)
def test_tracking_pixels_are_counted_and_never_shown(pixel):
    blocked = render(sanitize(pixel))
    shown = render(sanitize(pixel), proxied=lambda url: "https://tern.example/mail/image/T/")

    assert blocked.trackers == shown.trackers == 1
    assert blocked.remote_images == 0
    assert "src" not in blocked.body and "src" not in shown.body


def test_an_ordinary_image_of_a_host_named_open_is_no_tracker():
    html = '<img src="https://tile.openstreetmap.example/opening-hours.png" alt="Map">'

    assert render(sanitize(html)).remote_images == 1 and render(sanitize(html)).trackers == 0


def test_a_marker_written_in_the_text_of_a_mail_is_only_text():
    forged = REMOTE + base64.urlsafe_b64encode(b"https://evil.example/").decode()

    rendered = render(sanitize(f'<p>src="{forged}"</p>'), proxied=lambda url: "PROXIED")

    assert "<img" not in rendered.body


def test_the_iframe_document_carries_its_own_policy():
    blocked = document("<p>x</p>")
    shown = document("<p>x</p>", image_sources=["https://tern.example/mail/image/"])

    policy = "default-src &#x27;none&#x27;; img-src data:; style-src &#x27;unsafe-inline&#x27;"
    assert f'<meta http-equiv="Content-Security-Policy" content="{policy}">' in blocked
    assert "img-src data: https://tern.example/mail/image/;" in shown


def test_plain_text_keeps_line_breaks_and_links_and_escapes_the_rest():
    shown = plain_text("Hi <b>Ann</b>\nsee https://example.com/a?b=1&c=2\n\nBye")

    assert shown == (
        "<p>Hi &lt;b&gt;Ann&lt;/b&gt;<br>see "
        '<a href="https://example.com/a?b=1&amp;c=2" target="_blank" rel="noopener noreferrer">'
        "https://example.com/a?b=1&amp;c=2</a></p>\n\n<p>Bye</p>"
    )
