"""The thread page: a conversation, each message's email in a sandboxed iframe."""

from dataclasses import dataclass
from typing import Any

from csp.decorators import csp_update
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.template.loader import get_template
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString

from accounts.http import AuthenticatedHttpRequest
from accounts.models import GmailAccount
from accounts.selectors import gmail_accounts_of
from mail import images, sanitize
from mail.addresses import header_pairs, sender_of
from mail.fragments import (
    csrf_slot,
    fragment_key,
    fragments,
    kept_page,
    layout_render,
    with_csrf,
)
from mail.mirror_version import mirror_versions
from mail.models import Attachment, Draft, Label, Message, Thread
from mail.selectors import (
    drafts_by_gmail_message,
    message_bodies_load,
    thread_labels,
    thread_messages,
    thread_of_user,
    trusted_addresses,
)
from mail.views.sidebar import needs_request, page_made_of, sidebar_context

# Labels the page shows as markers or not at all, never as chips.
UNCHIPPED = {"UNREAD", "STARRED", "IMPORTANT", "CHAT"}


@dataclass
class _Card:
    """A message of the page and what decides how it is shown, known before rendering."""

    message: Message
    is_last: bool
    with_images: bool  # "Show images" asked for it (?images=<id>)
    trusted: bool  # its sender is one the user always shows images from
    draft: Draft | None = None

    @property
    def images_shown(self) -> bool:
        return self.with_images or self.trusted


@dataclass
class Shown:
    """A message as the page shows it."""

    message: Message
    sender_name: str
    sender_address: str
    to: list[tuple[str, str]]
    cc: list[tuple[str, str]]
    is_open: bool
    attachments: list[Attachment]
    attached_messages: list[Attachment]
    html_document: str = ""
    text_html: str = ""
    remote_images: int = 0
    trackers: int = 0
    images_shown: bool = False
    sender_trusted: bool = False  # "Always show from this sender": images shown at once
    draft: Draft | None = None  # a draft Tern wrote, which "Edit draft" reopens


# A srcdoc iframe inherits the page's CSP on top of its own: the email's style attributes
# need 'unsafe-inline' here too. Tern's own markup on this page has no inline style, and
# every value in it is escaped; the email's markup is only ever inside the iframe.
@login_required
@csp_update({"style-src": ["'unsafe-inline'"]})  # type: ignore[arg-type]  # typed for HttpRequest views
def thread_page(request: AuthenticatedHttpRequest, thread_id: int) -> HttpResponse:
    """The conversation, kept whole in the cache (mail.fragments.kept_page) under the
    mirror versions of the user's accounts and what else decides it, while it shows no
    draft; another user's thread, or one that is gone, is 404 (a kept page is only ever
    the user's own, made under the versions it is kept under)."""
    accounts = gmail_accounts_of(user=request.user)
    # Read before anything the page shows: what is read after is at least as new.
    versions = mirror_versions([each.pk for each in accounts])
    back_url = _back_url(request)
    key = None
    if not needs_request(accounts):
        made_of = page_made_of(request, accounts=accounts, versions=versions)
        made_of |= {"thread": thread_id, "back": back_url}
        key = fragment_key("thread-page", THREAD_TEMPLATES, made_of)

    def make() -> tuple[tuple[str, str], bool]:
        thread = thread_of_user(user=request.user, thread_id=thread_id)
        context = _thread_context(request, thread, accounts=accounts, versions=versions)
        context["back_url"] = back_url
        html = layout_render(THREAD_TEMPLATES[0], context, request, kept=key is not None)
        # What a draft shows (being sent, or not) is no mirror's: not kept.
        return (thread.subject, html), not context["has_draft"]

    subject, layout = kept_page(key, make)
    context = {"layout_html": with_csrf([layout], request)[0], "subject": subject}
    return render(request, "mail/thread.html", context)


def _thread_context(
    request: AuthenticatedHttpRequest,
    thread: Thread,
    *,
    accounts: list[GmailAccount],
    versions: list[str],
) -> dict[str, Any]:
    messages = thread_messages(user=request.user, thread=thread)
    with_images = set(request.GET.getlist("images"))
    # Senders the user asked to always show images from: one query for the thread.
    trusted = trusted_addresses(
        user=request.user,
        addresses=[sender_of(m.sender)[1] for m in messages if m.has_html],  # type: ignore[attr-defined]
    )
    pages = [
        _Card(
            message=message,
            is_last=message is messages[-1],
            with_images=str(message.pk) in with_images,
            trusted=sender_of(message.sender)[1].lower() in trusted,
        )
        for message in messages
    ]
    labels = thread_labels(user=request.user, thread=thread)
    on = {label.gmail_id for label in labels if label.on}  # type: ignore[attr-defined]
    if "DRAFT" in on:  # a query only for a thread with a draft
        ours = drafts_by_gmail_message(user=request.user, gmail_ids=[m.gmail_id for m in messages])
        for card in pages:
            card.draft = ours.get(card.message.gmail_id)
    return {
        "thread": thread,
        "labels": [label for label in labels if label.gmail_id in on and _chip(label)],
        "label_choices": [
            (label, label.gmail_id in on) for label in labels if label.type == Label.Type.USER
        ],
        "is_in": {place: place in on for place in ("INBOX", "TRASH", "SPAM")},
        "is_starred": "STARRED" in on,
        "is_important": "IMPORTANT" in on,
        "is_unread": "UNREAD" in on,
        "has_draft": "DRAFT" in on,
        "here": request.get_full_path(),
        "cards": _cards(request, pages),
        **sidebar_context(request, accounts=accounts, versions=versions),
    }


MESSAGE_TEMPLATES = ("mail/_message.html", "mail/_clip.html")
THREAD_TEMPLATES = (
    "mail/_thread_layout.html",
    *MESSAGE_TEMPLATES,
    "mail/_sidebar.html",
    "mail/_thread_toolbar.html",
    "mail/_thread_states.html",
    "accounts/_reconnect_banner.html",
)


def _cards(request: AuthenticatedHttpRequest, pages: list[_Card]) -> list[SafeString]:
    """Each message's HTML (mail/_message.html): from the cache, or rendered (its email
    through mail.sanitize's rendering, its images through the proxy) and kept. A
    20-message thread is most of its page's time when rendered each time."""
    origin = request.build_absolute_uri("/").rstrip("/")
    images_shown_ids = [card.message.pk for card in pages if card.images_shown]
    template = get_template(MESSAGE_TEMPLATES[0])
    made_for = {
        "user": request.user.pk,
        "origin": origin,
        "path": request.path,
        "images_shown_ids": images_shown_ids,
        "timezone": timezone.get_current_timezone_name(),
        "sanitize": sanitize.VERSION,
    }

    def render(card: _Card) -> str:
        shown = _shown(card, origin=origin, user_id=request.user.pk)
        return template.render(
            {
                "shown": shown,
                "path": request.path,
                "images_shown_ids": images_shown_ids,
                "is_last": card.is_last,
                "csrf_token": csrf_slot(),
            }
        )

    keys = [fragment_key("message", MESSAGE_TEMPLATES, _made_of(card, made_for)) for card in pages]

    def prepare(missing: list[_Card]) -> None:
        message_bodies_load([card.message for card in missing])

    # With their CSRF slots: the page fills them once it is whole (thread_page).
    return fragments(pages, keys=keys, render=render, prepare=prepare)


def _made_of(card: _Card, page: dict[str, object]) -> dict[str, object]:
    """All that decides a message's HTML: its content (a Gmail message never changes;
    its id, and its attachments' ids, which a message stored again renews), its labels
    that show, and how the page shows it."""
    message, draft = card.message, card.draft
    return {
        **page,
        "message": [message.pk, message.gmail_id, message.account_id, message.thread_id],
        "files": [file.pk for file in message.attachments.all()],
        "unread": message.is_unread,  # type: ignore[attr-defined]
        "draft": message.is_draft,  # type: ignore[attr-defined]
        "last": card.is_last,
        "with_images": card.with_images,
        "trusted": card.trusted,
        "ours": [draft.pk, draft.state, draft.scheduled, draft.send_at] if draft else None,
    }


def _back_url(request: AuthenticatedHttpRequest) -> str:
    """The list the thread was opened from (the Referer, when it is one of this site's
    lists), else the inbox: where Back and the actions that leave the thread go."""
    referer = request.headers.get("Referer", "")
    origin = request.build_absolute_uri("/")
    if referer.startswith(origin):
        path = "/" + referer.removeprefix(origin)
        if path.startswith("/mail/") and not path.startswith(("/mail/thread/", "/mail/act")):
            return path
    return reverse("mail:inbox")


def _folder(path: str) -> str:
    """/mail/image/<token>/ → /mail/image/"""
    return path.rstrip("/").rsplit("/", 1)[0] + "/"


def _chip(label: Label) -> bool:
    return label.gmail_id not in UNCHIPPED and not label.gmail_id.startswith("CATEGORY_")


def _shown(card: _Card, *, origin: str, user_id: int) -> Shown:
    message = card.message
    name, address = sender_of(message.sender)
    files = list(message.attachments.all())
    shown = Shown(
        message=message,
        sender_name=name or address,
        sender_address=address,
        to=header_pairs(message.to),
        cc=header_pairs(message.cc),
        is_open=card.is_last or message.is_unread or card.with_images,  # type: ignore[attr-defined]
        sender_trusted=card.trusted,
        attachments=[f for f in files if f.mime_type != "message/rfc822" and not f.is_inline],
        attached_messages=[f for f in files if f.mime_type == "message/rfc822"],
        images_shown=card.images_shown,
        draft=card.draft,
    )
    if message.body_html:
        paths: list[str] = []

        def through_proxy(url: str) -> str:
            paths.append(images.proxied(url))
            return origin + paths[-1]

        by_content_id = {f.content_id: f for f in files if f.content_id}
        inline_paths: list[str] = []

        def inline_image(content_id: str) -> str | None:
            image = by_content_id.get(content_id)
            if image is None:
                return None
            inline_paths.append(images.inline_path(user_id=user_id, attachment_id=image.pk))
            return origin + inline_paths[-1]

        rendered = sanitize.render(
            sanitize.message_html_safe(message),
            proxied=through_proxy if shown.images_shown else None,
            inline=inline_image,
        )
        # The iframe may load images from these paths only: /mail/image/<token>/ (the
        # proxy) and /mail/inline/<token>/ (the message's own inline images).
        sources = [origin + _folder(found[0]) for found in (paths, inline_paths) if found]
        shown.html_document = sanitize.document(rendered.body, image_sources=sources)
        shown.remote_images, shown.trackers = rendered.remote_images, rendered.trackers
    else:
        shown.text_html = sanitize.plain_text(message.body_text)
    return shown
