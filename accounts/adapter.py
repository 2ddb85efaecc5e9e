"""django-allauth hooks: Google is the only way in, and Tern needs the Gmail scope."""

from typing import Any, NoReturn

from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialAccount, SocialApp, SocialLogin, SocialToken
from allauth.socialaccount.providers.base import AuthError, Provider
from allauth.socialaccount.providers.google.views import GoogleOAuth2Adapter
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest
from django.shortcuts import redirect, render
from django.urls import reverse

from accounts.selectors import gmail_address_taken, local_user_with_address


class GoogleAdapter(GoogleOAuth2Adapter):
    """allauth's Google adapter, keeping the scopes the person actually granted.

    Google's consent page lets people untick the Gmail scope; the token response says
    which scopes were granted, and allauth would drop that. It goes into extra_data so
    that it survives allauth serialising the login between steps.
    """

    def complete_login(
        self, request: HttpRequest, app: SocialApp, token: SocialToken, **kwargs: Any
    ) -> SocialLogin:
        login = super().complete_login(request, app, token, **kwargs)
        login.account.extra_data["granted_scopes"] = kwargs["response"].get("scope", "")
        return login


oauth2_callback = OAuth2CallbackView.adapter_view(GoogleAdapter)


def granted_scopes(sociallogin: SocialLogin) -> list[str]:
    return sociallogin.account.extra_data.get("granted_scopes", "").split()


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def pre_social_login(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        if settings.GMAIL_SCOPE not in granted_scopes(sociallogin):
            process = sociallogin.state.get("process") or "login"
            raise ImmediateHttpResponse(
                render(request, "accounts/scope_missing.html", {"process": process})
            )
        extra = sociallogin.account.extra_data
        email = extra.get("email", "")
        if not _is_verified(extra.get("email_verified", extra.get("verified_email"))):
            _refuse(request, "Google has not verified that address, so Tern cannot use it.")
        if gmail_address_taken(email=email, google_sub=sociallogin.account.uid):
            _refuse(request, "That Gmail address is already connected to another user.")
        # allauth would park this login, tokens included, in the session for its signup
        # form; Tern refuses instead, so no token ever sits in a session row.
        new_person = not sociallogin.is_existing and not request.user.is_authenticated
        if new_person and local_user_with_address(email=email):
            _refuse(
                request,
                "A Tern account with that address already exists but was not made "
                "with Google sign-in. Ask your administrator to connect it.",
            )

    def is_auto_signup_allowed(self, request: HttpRequest, sociallogin: SocialLogin) -> bool:
        # Never allauth's signup form: it keeps the pending login, tokens included, in
        # the session. Every case that would lead there is refused in pre_social_login.
        return True

    def get_connect_redirect_url(self, request: HttpRequest, socialaccount: SocialAccount) -> str:
        # Back to Tern's own account list, not allauth's connections page.
        return reverse("accounts:settings")

    def on_authentication_error(
        self,
        request: HttpRequest,
        provider: Provider,
        error: str | None = None,
        exception: Exception | None = None,
        extra_context: dict[str, Any] | None = None,
    ) -> NoReturn:
        if error == AuthError.CANCELLED:
            messages.info(request, "You did not give Tern access to Gmail, so nothing changed.")
        else:
            messages.error(
                request,
                "Signing in with Google did not work. Nothing was changed; please try again.",
            )
        raise ImmediateHttpResponse(redirect(_back(request)))


def _is_verified(value: object) -> bool:
    # Google sends a boolean (userinfo v3, id token) or a string ("true", tokeninfo).
    return value is True or str(value).lower() == "true"


def _refuse(request: HttpRequest, message: str) -> NoReturn:
    messages.error(request, message)
    raise ImmediateHttpResponse(redirect(_back(request)))


def _back(request: HttpRequest) -> str:
    return "accounts:settings" if request.user.is_authenticated else "accounts:landing"
