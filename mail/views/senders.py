"""Senders whose images the user always wants shown ("Always show from this sender").

Their mail shows remote images at once, still only through Tern's image proxy. The list
is the user's own, kept by address (lowercase), and editable at /mail/senders/.
"""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.http import AuthenticatedHttpRequest, posted_id
from mail import services
from mail.addresses import sender_of
from mail.selectors import message_of_user, trusted_sender_of_user, trusted_senders_of_user
from mail.toast import Toast, toast_after_redirect


@login_required
def trusted_senders(request: AuthenticatedHttpRequest) -> HttpResponse:
    senders = trusted_senders_of_user(user=request.user)
    return render(request, "mail/trusted_senders.html", {"senders": senders})


@login_required
@require_POST
def sender_trust(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Always show images from the sender of `message` (a Tern message id)."""
    message = message_of_user(user=request.user, message_id=posted_id(request, "message"))
    address = sender_of(message.sender)[1].strip().lower()
    if "@" not in address:
        return render(
            request,
            "mail/refused.html",
            {"problem": "This message has no sender address to remember."},
            status=400,
        )
    services.sender_trust(user=request.user, address=address)
    toast_after_redirect(request, Toast(f"Images from {address} will always be shown."))
    return HttpResponseRedirect(
        f"{message.thread.get_absolute_url()}#message-{message.pk}", status=303
    )


@login_required
@require_POST
def sender_forget(request: AuthenticatedHttpRequest, sender_id: int) -> HttpResponse:
    sender = trusted_sender_of_user(user=request.user, sender_id=sender_id)
    services.sender_forget(sender=sender)
    toast_after_redirect(
        request, Toast(f"Images from {sender.address} will be hidden again until you ask.")
    )
    return HttpResponseRedirect(reverse("mail:trusted_senders"), status=303)
