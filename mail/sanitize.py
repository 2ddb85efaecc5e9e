"""Email HTML made harmless, once per message, and shown without loading anything.

`sanitize` is an allowlist (nh3, the Rust ammonia): no script, event handlers, forms,
frames, objects, `<base>`, `<meta>`, `<style>`; URLs only http, https, mailto, cid, and
data: for inline images; in style attributes only presentational properties, and no
declaration that loads a resource (`url(`, `image-set(`, `expression(`) or that CSS
escapes could disguise. Links open in a new tab with `rel="noopener noreferrer"`.

Remote images do not survive as URLs: each `<img src>` on the web becomes a marker,
`tern-remote:<the URL, base64url>`, or `tern-tracker:` for a tracking pixel (a 1x1 or
hidden image, or one from a tracking-looking host), which is never shown. `render` then
writes each message's document for its sandboxed iframe: markers removed (nothing
leaves the reader's browser), or with images shown, remote ones through Tern's proxy.
The output of nh3 is html5ever's serialisation (every `<` in text is `&lt;`, every `"`
in a value `&quot;`), so the markers and `<img>` tags are found in it by pattern.
"""

import base64
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import unescape
from urllib.parse import unquote, urlsplit

import nh3
from django.utils.html import escape, linebreaks, urlize

from mail.models import Message

# Raise it when the rules change: cached bodies of an older version are sanitised again.
VERSION = 1

TAGS = (nh3.ALLOWED_TAGS - {"area", "map"}) | {"font"}
_PRESENTATION = {"align", "valign", "width", "height", "bgcolor", "border", "dir", "title"}
ATTRIBUTES: dict[str, set[str]] = {
    "*": {"style", "dir", "lang", "title", "align"},
    "a": {"href", "name"},
    "img": {"src", "alt", "width", "height", "border", "align"},
    "font": {"color", "face", "size"},
    "table": _PRESENTATION | {"cellpadding", "cellspacing"},
    "td": _PRESENTATION | {"colspan", "rowspan", "nowrap"},
    "th": _PRESENTATION | {"colspan", "rowspan", "nowrap"},
    "tr": _PRESENTATION,
    "col": _PRESENTATION | {"span"},
    "colgroup": _PRESENTATION | {"span"},
    "ol": {"start", "type", "reversed"},
    "li": {"value"},
    "blockquote": {"cite"},
    "time": {"datetime"},
}
URL_SCHEMES = {"http", "https", "mailto", "cid", "data"}
# Whatever the scheme filter lets through, only these data: URLs stay, and only on <img>.
INLINE_IMAGE = re.compile(r"data:image/(png|gif|jpeg|jpg|webp);base64,[a-z0-9+/=\s]*\Z", re.I)
STYLE_PROPERTIES = {
    *("color", "background-color", "opacity"),
    *("font", "font-family", "font-size", "font-style", "font-weight", "font-variant"),
    *("line-height", "letter-spacing", "word-spacing", "white-space", "word-break"),
    *("text-align", "text-decoration", "text-indent", "text-transform", "vertical-align"),
    *("overflow-wrap", "word-wrap", "direction", "unicode-bidi", "list-style-type"),
    *("margin", "margin-top", "margin-right", "margin-bottom", "margin-left"),
    *("padding", "padding-top", "padding-right", "padding-bottom", "padding-left"),
    *("border", "border-top", "border-right", "border-bottom", "border-left"),
    *("border-color", "border-style", "border-width", "border-radius", "border-collapse"),
    *("border-spacing", "width", "height", "max-width", "min-width", "max-height"),
    *("min-height", "display", "table-layout", "float", "clear", "overflow"),
    *("visibility",),
}
# Declarations that could load something or that CSS escapes (\75rl) could disguise.
DANGEROUS_CSS = re.compile(r"url\s*\(|image-set|expression|@import|\\|&|/\*|<", re.I)

# Tracking-looking image URLs: a host that names tracking, or a host label or path
# segment like "open" or "pixel" (narrow, so that an image of "openstreetmap" still shows).
TRACKER_HOST = re.compile(r"track|pixel|beacon|(^|\.)(open|trk|t|e|click)\.", re.I)
TRACKER_PATH = re.compile(r"/(open|track|trk|pixel|beacon)(ed)?([./?]|$)", re.I)
REMOTE = "tern-remote:"
TRACKER = "tern-tracker:"
_IMG = re.compile(r'<img\b(?:[^>"]|"[^"]*")*>')
_ATTR = re.compile(r'\s([a-z-]+)="([^"]*)"')
_MARKED_SRC = re.compile(r' src="tern-(remote|tracker):([A-Za-z0-9_=-]*)"')
_CID_SRC = re.compile(r' src="cid:([^"]*)"', re.I)


def sanitize(html: str) -> str:
    """`html` made harmless, remote images replaced by markers (see the module)."""
    clean = nh3.clean(
        html,
        tags=TAGS,
        clean_content_tags={"script", "style", "title", "template", "noscript", "textarea"},
        attributes=ATTRIBUTES,
        attribute_filter=_attribute,
        url_schemes=URL_SCHEMES,
        # A relative URL in a srcdoc document would resolve against Tern's own origin.
        url_relative="deny",
        strip_comments=True,
        link_rel="noopener noreferrer",
        set_tag_attribute_values={"a": {"target": "_blank"}},
        filter_style_properties=STYLE_PROPERTIES,
    )
    return _IMG.sub(_mark_image, clean)


def _attribute(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "style":
        return _style(value)
    if attribute in ("href", "src", "cite") and value.strip().lower().startswith("data:"):
        return value if tag == "img" and INLINE_IMAGE.match(value.strip()) else None
    if tag == "img" and attribute in ("width", "height"):
        return value if value.strip().rstrip("%px").isdigit() else None
    return value


def _style(value: str) -> str | None:
    kept = []
    for declaration in value.split(";"):
        name, _, setting = declaration.partition(":")
        if not setting.strip() or DANGEROUS_CSS.search(declaration):
            continue
        if name.strip().lower() == "position":  # nothing escapes its box
            continue
        kept.append(f"{name.strip()}:{setting.strip()}")
    return ";".join(kept) or None


def _mark_image(match: re.Match[str]) -> str:
    tag = match.group(0)
    attributes = {name: value for name, value in _ATTR.findall(tag)}
    src = attributes.get("src", "")
    if urlsplit(src.replace("&amp;", "&")).scheme not in ("http", "https"):
        return tag
    if _is_tracker(src, attributes):
        marked = TRACKER
    else:
        url = src.replace("&amp;", "&").replace("&quot;", '"')
        marked = REMOTE + base64.urlsafe_b64encode(url.encode()).decode("ascii")
    return tag.replace(f' src="{src}"', f' src="{marked}"', 1)


def _is_tracker(src: str, attributes: dict[str, str]) -> bool:
    tiny = any(
        attributes.get(side, "").rstrip("px").strip() in ("0", "1") for side in ("width", "height")
    )
    style = attributes.get("style", "").replace(" ", "").lower()
    hidden = any(
        rule in style
        for rule in ("display:none", "visibility:hidden", "width:1px", "height:1px", "width:0")
    )
    host = urlsplit(src.replace("&amp;", "&")).hostname or ""
    path = urlsplit(src.replace("&amp;", "&")).path
    return tiny or hidden or bool(TRACKER_HOST.search(host) or TRACKER_PATH.search(path))


@dataclass(frozen=True)
class Rendered:
    body: str  # the sanitised HTML as shown
    remote_images: int  # remote images blocked (0 once they are shown)
    trackers: int  # tracking pixels, never shown


def render(
    safe_html: str,
    *,
    proxied: Callable[[str], str] | None = None,
    inline: Callable[[str], str | None] | None = None,
) -> Rendered:
    """The sanitised HTML as shown: without remote images, or, given `proxied` (a
    function from an image's URL to its absolute proxy URL), with them through it.
    `inline` maps a `cid:` reference (a Content-ID) to the absolute URL of that inline
    image, or None when the message has no such image (the reference is dropped)."""
    remote = trackers = 0

    def with_inline(match: re.Match[str]) -> str:
        url = inline(unquote(unescape(match.group(1)))) if inline else None
        return f' src="{escape(url)}"' if url else ""

    def replace(match: re.Match[str]) -> str:
        nonlocal remote, trackers
        if match.group(1) == "tracker":
            trackers += 1
            return ""
        if proxied is None:
            remote += 1
            return ""
        url = base64.urlsafe_b64decode(match.group(2)).decode()
        return f' src="{escape(proxied(url))}"'

    body = _CID_SRC.sub(with_inline, _MARKED_SRC.sub(replace, safe_html))
    return Rendered(body=body, remote_images=remote, trackers=trackers)


def document(body: str, *, image_sources: Sequence[str] = ()) -> str:
    """The iframe's document for a rendered body, with a CSP of its own: nothing loads
    but data: images and what `image_sources` allow (absolute URL prefixes, as a
    sandboxed srcdoc has no origin of its own to call 'self': Tern's inline images and,
    when images are shown, the proxy)."""
    img_src = " ".join(["data:", *image_sources])
    policy = f"default-src 'none'; img-src {img_src}; style-src 'unsafe-inline'"
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{escape(policy)}">'
        "<style>html{color-scheme:light}body{margin:0;padding:4px 2px;"
        "font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1f2328;"
        "background:#fff;overflow-wrap:anywhere}img{max-width:100%;height:auto}"
        "table{max-width:100%}a[href]{color:#0b57d0}</style>"
        f"</head><body>{body}</body></html>"
    )


def plain_text(text: str) -> str:
    """Plain-text mail as HTML: escaped, its line breaks kept, its links clickable and
    opening in a new tab."""
    html = linebreaks(urlize(text, nofollow=False, autoescape=True), autoescape=False)
    return nh3.clean(
        html,
        tags={"p", "br", "a"},
        attributes={"a": {"href"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
        set_tag_attribute_values={"a": {"target": "_blank"}},
    )


def message_html_safe(message: Message) -> str:
    """The message's HTML body sanitised, from its cache on the row, made (and stored)
    on the first view after the body arrived or these rules changed."""
    if message.body_html_safe_version != VERSION:
        message.body_html_safe = sanitize(message.body_html)
        message.body_html_safe_version = VERSION
        # A cache, not a change of the mailbox: an update of these two columns only.
        Message.objects.filter(pk=message.pk).update(
            body_html_safe=message.body_html_safe, body_html_safe_version=VERSION
        )
    return message.body_html_safe


# What compose's rich mode makes (bold, italic, lists, links, quotes): within TAGS and
# ATTRIBUTES above, narrowed to these, so that the HTML Tern sends holds nothing else.
COMPOSE_TAGS = {
    "p",
    "br",
    "div",
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ul",
    "ol",
    "li",
    "a",
    "blockquote",
}
assert COMPOSE_TAGS <= TAGS


def compose_html(html: str) -> str:
    """HTML written in compose's rich mode, made safe to keep, show again and send."""
    return nh3.clean(
        html,
        tags=COMPOSE_TAGS,
        attributes={"a": {"href"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )
