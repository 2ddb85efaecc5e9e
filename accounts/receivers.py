"""allauth's signals, handed to the one service that records a connected account."""

from typing import Any

from allauth.account.signals import user_signed_up
from allauth.socialaccount.models import SocialLogin
from allauth.socialaccount.signals import social_account_added, social_account_updated
from django.dispatch import receiver
from django.http import HttpRequest

from accounts.adapter import granted_scopes, needs_consent
from accounts.selectors import gmail_address_taken
from accounts.services import gmail_account_connect
from gmail.scopes import can_use_mailbox


@receiver(user_signed_up)
@receiver(social_account_added)
@receiver(social_account_updated)
def record_gmail_account(
    request: HttpRequest, sociallogin: SocialLogin | None = None, **kwargs: Any
) -> None:
    # social_account_updated also fires when someone tries to connect a Google account
    # that belongs to another user; allauth refuses that right after, so skip it here.
    if sociallogin is None or sociallogin.account.provider != "google":
        return
    # allauth sends social_account_updated before the adapter's scope check; a login
    # without the Gmail scope is refused there, and must not touch the stored tokens.
    if not can_use_mailbox(granted_scopes(sociallogin)):
        return
    # No refresh token came and Tern has no working one: the adapter sends the person
    # back to Google's consent screen; until then the mailbox stays as it is.
    if needs_consent(sociallogin):
        return
    owner = sociallogin.account.user
    if request.user.is_authenticated and request.user.pk != owner.pk:
        return
    # Also sent before the adapter's checks: an address now connected under another
    # Google account (this one changed its address) is refused there, cleanly.
    email = sociallogin.account.extra_data.get("email", "")
    if gmail_address_taken(email=email, google_sub=sociallogin.account.uid):
        return
    gmail_account_connect(user=owner, sociallogin=sociallogin)
