"""django-allauth hooks: Google is the only way in, and Tern needs the Gmail scope."""

from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.providers.base import AuthError
from allauth.socialaccount.providers.google.views import GoogleOAuth2Adapter
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView
from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse

from accounts.models import GmailAccount


class GoogleAdapter(GoogleOAuth2Adapter):
    """allauth's Google adapter, keeping the scopes the person actually granted.

    Google's consent page lets people untick the Gmail scope; the token response says
    which scopes were granted, and allauth would drop that. It goes into extra_data so
    that it survives allauth serialising the login between steps.
    """

    def complete_login(self, request, app, token, **kwargs):
        login = super().complete_login(request, app, token, **kwargs)
        login.account.extra_data["granted_scopes"] = kwargs["response"].get("scope", "")
        return login


oauth2_callback = OAuth2CallbackView.adapter_view(GoogleAdapter)


def granted_scopes(sociallogin):
    return sociallogin.account.extra_data.get("granted_scopes", "").split()


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def pre_social_login(self, request, sociallogin):
        if settings.GMAIL_SCOPE not in granted_scopes(sociallogin):
            process = sociallogin.state.get("process") or "login"
            raise ImmediateHttpResponse(
                render(request, "accounts/scope_missing.html", {"process": process})
            )
        email = sociallogin.account.extra_data.get("email", "")
        taken = GmailAccount.objects.filter(email__iexact=email).exclude(
            google_sub=sociallogin.account.uid
        )
        if taken.exists():
            messages.error(request, "That Gmail address is already connected to another user.")
            raise ImmediateHttpResponse(redirect(_back(request)))

    def get_connect_redirect_url(self, request, socialaccount):
        # Back to Tern's own account list, not allauth's connections page.
        return reverse("accounts:settings")

    def on_authentication_error(
        self, request, provider, error=None, exception=None, extra_context=None
    ):
        if error == AuthError.CANCELLED:
            messages.info(request, "You did not give Tern access to Gmail, so nothing changed.")
        else:
            messages.error(
                request,
                "Signing in with Google did not work. Nothing was changed; please try again.",
            )
        raise ImmediateHttpResponse(redirect(_back(request)))


def _back(request):
    return "accounts:settings" if request.user.is_authenticated else "accounts:landing"
