import logging
import mimetypes
import re

from csp.decorators import csp_update
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils.http import content_disposition_header
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts.credentials import NeedsReconnect
from accounts.http import AuthenticatedHttpRequest
from accounts.models import GmailAccount
from gmail.errors import PermanentError, RetryLater
from mail.attached import attached_message
from mail.images import inline_attachment
from mail.selectors import attachment_of_user
from sync import webhook
from sync.attachments import attachment_data, decoded_chunks
from sync.services import push_received
from sync.tasks import mailbox_sync_enqueue

logger = logging.getLogger(__name__)

# Pub/Sub redelivers for up to 7 days; remember message ids that long.
SEEN_TTL_S = 7 * 24 * 60 * 60
MAX_BODY = 64 * 1024


@csrf_exempt
@require_POST
def gmail_push(request: HttpRequest) -> HttpResponse:
    """Pub/Sub push: verify, dedupe, record the hint, enqueue a sync, answer 204.

    Never calls Gmail. Anything we cannot use but should not see again (a duplicate, a
    mailbox we do not know) is acknowledged, so Pub/Sub does not retry it for a week.
    """
    try:
        webhook.verify(request)
    except webhook.PushRejected as rejected:
        logger.warning("push rejected", extra={"reason": rejected.reason})
        return HttpResponse(status=rejected.status)
    if len(request.body) > MAX_BODY:
        return HttpResponse(status=413)
    try:
        push = webhook.parse(request.body)
    except ValueError:
        return HttpResponse("malformed push envelope", status=400, content_type="text/plain")
    seen_key = f"sync:push-seen:{push.message_id}"
    if not cache.add(seen_key, 1, SEEN_TTL_S):
        return HttpResponse(status=204)
    try:
        _handle(push)
    except Exception:
        # Not handled after all: forget the id so that Pub/Sub's redelivery is.
        cache.delete(seen_key)
        raise
    return HttpResponse(status=204)


def _handle(push: webhook.Push) -> None:
    account = GmailAccount.objects.filter(email__iexact=push.email).only("pk", "status").first()
    if account is None:
        # No address in the log: the message id is enough to find it in Pub/Sub.
        logger.info("push for an unknown mailbox", extra={"message_id": push.message_id})
        return
    push_received(account=account, history_id=push.history_id)
    if account.status == GmailAccount.Status.ACTIVE:
        mailbox_sync_enqueue(account.pk)


# Types a browser may show from Tern's origin: raster images only (an SVG can hold script).
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
UNSAFE_IN_NAMES = re.compile(r"[\x00-\x1f\x7f]+")


@login_required
def attachment_download(
    request: AuthenticatedHttpRequest, attachment_id: int
) -> HttpResponse | StreamingHttpResponse:
    """An attachment of the user's mail, fetched from Gmail through the account's one
    client and streamed as a download (`?inline=1` shows a safe image in the browser)."""
    attachment = attachment_of_user(user=request.user, attachment_id=attachment_id)
    try:
        data = attachment_data(attachment)
    except (NeedsReconnect, RetryLater, PermanentError) as error:
        return _refused_by_gmail(request, error, title="Download failed")
    inline = request.GET.get("inline") == "1" and attachment.mime_type.lower() in INLINE_TYPES
    response = StreamingHttpResponse(
        decoded_chunks(data),
        content_type=attachment.mime_type.lower() if inline else "application/octet-stream",
    )
    response["Content-Disposition"] = (
        content_disposition_header(
            not inline, safe_filename(attachment.filename, attachment.mime_type)
        )
        or "attachment"
    )
    response["X-Content-Type-Options"] = "nosniff"
    # Whatever the file is, it runs nothing and loads nothing from Tern's origin.
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


def inline_image(request: HttpRequest, token: str) -> StreamingHttpResponse:
    """An inline image (`cid:`) of a message, for the email's sandboxed iframe, which
    sends no session cookie: the signed token names the user and the attachment, and
    the attachment is still looked up as that user's. Raster images only; anything
    else, or a token Tern did not make, is 404."""
    signed = inline_attachment(token)
    if signed is None:
        raise Http404("No such image.")
    user_id, attachment_id = signed
    user = get_user_model()(pk=user_id)
    attachment = attachment_of_user(user=user, attachment_id=attachment_id)
    if attachment.mime_type.lower() not in INLINE_TYPES:
        raise Http404("No such image.")
    try:
        data = attachment_data(attachment)
    except (NeedsReconnect, RetryLater, PermanentError):
        # An image in an iframe: the reader sees it missing; the page says nothing more.
        raise Http404("The image could not be fetched from Gmail.") from None
    response = StreamingHttpResponse(
        decoded_chunks(data), content_type=attachment.mime_type.lower()
    )
    response["Content-Disposition"] = "inline"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    # An attachment never changes: the browser keeps it for the token's day.
    response["Cache-Control"] = "private, max-age=86400"
    return response


NOT_SHOWN = "The attached message could not be shown"


@login_required
@csp_update({"style-src": ["'unsafe-inline'"]})  # type: ignore[arg-type]  # as the thread page
def attached_message_page(request: AuthenticatedHttpRequest, attachment_id: int) -> HttpResponse:
    """An attached message (message/rfc822) of the user's mail, shown as a message: its
    raw bytes fetched from Gmail through the account's one client, read by
    mail.attached, its body sandboxed like any mail's."""
    attachment = attachment_of_user(user=request.user, attachment_id=attachment_id)
    if attachment.mime_type.lower() != "message/rfc822":
        raise Http404("Not an attached message.")
    try:
        raw = b"".join(decoded_chunks(attachment_data(attachment)))
    except (NeedsReconnect, RetryLater, PermanentError) as error:
        return _refused_by_gmail(request, error, title=NOT_SHOWN)
    context = {"attachment": attachment, "attached": attached_message(raw)}
    return render(request, "mail/attached_message.html", context)


def safe_filename(name: str, mime_type: str) -> str:
    """The file's own name without paths, control characters or leading dots (so it
    cannot land outside the downloads folder or hide), or a plain one."""
    last = re.split(r"[/\\]", name)[-1]
    cleaned = UNSAFE_IN_NAMES.sub("_", last).strip().lstrip(".").strip()[:200]
    if cleaned:
        return cleaned
    extension = mimetypes.guess_extension(mime_type) or ""
    return f"attachment{extension}"


# What the reader is told when Gmail refuses to hand over an attachment, and the status.
REFUSALS: tuple[tuple[type[Exception], int, str], ...] = (
    (
        NeedsReconnect,
        502,
        "Gmail no longer accepts Tern's access to this account: reconnect it in Settings, "
        "then try again.",
    ),
    (RetryLater, 503, "Gmail is busy or out of reach just now. Try again in a minute."),
    (
        PermanentError,
        404,
        "Gmail no longer has this attachment (the message may have been deleted).",
    ),
)


def _refused_by_gmail(request: HttpRequest, error: Exception, *, title: str) -> HttpResponse:
    status, problem = next((s, p) for kind, s, p in REFUSALS if isinstance(error, kind))
    return render(request, "mail/refused.html", {"problem": problem, "title": title}, status=status)
