"""Pieces of a page rendered once and then taken from the cache: a list's rows
(mail.rows) and a conversation's messages (mail.views.thread).

A fragment's key is a hash of everything it shows, or of everything that decides what
it shows, together with the source of its templates: a fragment whose inputs or
templates changed has another key, so there is nothing to invalidate and nothing can be
served stale, not even after a deploy that changed the markup.

Forms in a fragment need the reader's CSRF token, which is theirs alone and changes at
every sign-in. A fragment is rendered with `csrf_slot()` in its place (a value derived
from SECRET_KEY, which no email can know, so no email can make Tern write the token
into its text) and `with_csrf` puts the request's token there when the page is sent.

Whole pages (a list's page of rows, a list page, a thread page) are kept the same way
by `kept_page`, for less time, under keys that hold their accounts' mirror versions.
"""

import hashlib
import hmac
import json
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from django.conf import settings
from django.core.cache import cache as django_cache
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.template import Engine
from django.template.loader import get_template
from django.utils.safestring import SafeString, mark_safe

FRAGMENT_TTL_S = 24 * 60 * 60
# A whole page is kept for less: a page's key changes every minute (the sidebar says
# when each account last synced), and it is large.
PAGE_TTL_S = 10 * 60


@cache
def csrf_slot() -> str:
    """What a cached fragment holds where the CSRF token goes: hex, so escaping keeps it
    as it is, and secret, so no email can hold it."""
    return hmac.new(settings.SECRET_KEY.encode(), b"tern: csrf slot", "sha256").hexdigest()


def with_csrf(pieces: Sequence[str], request: HttpRequest) -> list[SafeString]:
    """The `pieces` (escaped markup, fragments) with the request's CSRF token in every
    slot."""
    slot = csrf_slot()
    token = get_token(request) if any(slot in piece for piece in pieces) else ""
    # Markup our templates escaped, and a token of letters and digits.
    return [mark_safe(piece.replace(slot, token)) for piece in pieces]  # noqa: S308


@cache
def _templates_hash(names: tuple[str, ...]) -> str:
    """A hash of these templates' sources (and the CSRF slot, so a new SECRET_KEY makes
    new keys): part of every key, so changed markup is never served from the cache."""
    digest = hashlib.sha256(csrf_slot().encode())
    for name in names:
        digest.update(Engine.get_default().get_template(name).source.encode())
    return digest.hexdigest()[:16]


def fragment_key(kind: str, templates: Sequence[str], made_of: object) -> str:
    """The cache key of a fragment of `kind` rendered from `templates` out of
    `made_of` (plain values, JSON-serialisable)."""
    data = json.dumps(made_of, sort_keys=True, separators=(",", ":"), default=str)
    templates_hash = _templates_hash(tuple(templates))
    return f"mail:{kind}:{templates_hash}:{hashlib.sha256(data.encode()).hexdigest()}"


def fragments[Item](
    items: Sequence[Item],
    *,
    keys: Sequence[str],
    render: Callable[[Item], str],
    prepare: Callable[[list[Item]], None] | None = None,
) -> list[SafeString]:
    """The HTML of each item, in order: from the cache where its key is there, else
    `render(item)` and kept; `prepare` is given the items to render first, to load what
    only rendering needs in one go. One cache round trip to read, one to write what was
    made."""
    found = django_cache.get_many(keys)
    missing = [item for key, item in zip(keys, items, strict=True) if key not in found]
    if missing and prepare is not None:
        prepare(missing)
    made = {}
    html = []
    for key, item in zip(keys, items, strict=True):
        piece = found.get(key)
        if piece is None:
            piece = made[key] = str(render(item))
        html.append(mark_safe(piece))  # noqa: S308 - our templates' own escaped output
    if made:
        django_cache.set_many(made, FRAGMENT_TTL_S)
    return html


def kept_page[Kept](key: str | None, make: Callable[[], tuple[Kept, bool]]) -> Kept:
    """A page or a page's part (markup with CSRF slots, which `with_csrf` fills, and what
    else the page needs of it) from the cache under `key`, else `make()`, which also
    says whether to keep it (a page showing what no key covers is made each time). No
    `key`: made each time."""
    if key is not None:
        kept = django_cache.get(key)
        if kept is not None:
            return kept
    made, keep = make()
    if key is not None and keep:
        django_cache.set(key, made, PAGE_TTL_S)
    return made


def layout_render(name: str, context: dict[str, Any], request: HttpRequest, *, kept: bool) -> str:
    """A page's layout as `kept_page` keeps it: with CSRF slots, and without the context
    processors, which base.html runs around it (the toast is taken from the session
    once); with the request only when the page is not kept (the reconnect banner's link
    to Google is made from it)."""
    extra = {} if kept else {"request": request}
    return str(get_template(name).render({**context, **extra, "csrf_token": csrf_slot()}))
