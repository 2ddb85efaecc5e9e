import logging

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts.models import GmailAccount
from sync import webhook
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
