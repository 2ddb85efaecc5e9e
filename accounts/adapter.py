"""django-allauth hooks: Google is the only way in, Tern needs a Gmail scope and a
mailbox, and asks for consent (a new refresh token) only when it needs one."""

from typing import Any, NoReturn

from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialAccount, SocialApp, SocialLogin, SocialToken
from allauth.socialaccount.providers.base import AuthError, AuthProcess, Provider
from allauth.socialaccount.providers.google.provider import GoogleProvider
from allauth.socialaccount.providers.google.views import GoogleOAuth2Adapter
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView
from allauth.utils import get_request_param
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from accounts.credentials import revoke_at_google
from accounts.gmail_check import has_gmail
from accounts.selectors import (
    gmail_address_taken,
    has_mailbox,
    has_working_refresh_token,
    local_user_with_address,
)
from gmail.scopes import IDENTITY_SCOPES, can_use_mailbox

# Google shows its consent screen, and so issues a new refresh token, only when asked to
# or on the first consent of a person to the app.
CONSENT = "select_account consent"
# The state's data of a sign-in sent back to Google's consent screen (see below).
CONSENT_RETRY = {"consent_retry": True}


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


class TernGoogleProvider(GoogleProvider):
    """allauth's Google provider, asking for GMAIL_SCOPES, and for consent (so for a new
    refresh token) when a mailbox is being connected or reconnected.

    A plain sign-in sends prompt=select_account (settings' AUTH_PARAMS): Google then
    shows no consent screen to a returning person and mints no new refresh token; the
    stored one goes on working.
    """

    def get_scope(self) -> list[str]:
        return [*IDENTITY_SCOPES, *settings.GMAIL_SCOPES]

    def get_auth_params_from_request(self, request: HttpRequest, action: str) -> dict[str, str]:
        params: dict[str, str] = super().get_auth_params_from_request(request, action)
        if get_request_param(request, "process") == AuthProcess.CONNECT:
            params["prompt"] = CONSENT
        return params


def granted_scopes(sociallogin: SocialLogin) -> list[str]:
    return sociallogin.account.extra_data.get("granted_scopes", "").split()


def needs_consent(sociallogin: SocialLogin) -> bool:
    """Whether this login brought no refresh token while Tern holds no working one for
    its Google account (none stored, Google refused it: "needs reconnect", or it lacks a
    Gmail scope this login was granted: GMAIL_SCOPES widened since).

    Google sends a refresh token only with a consent; without one such a mailbox could
    never sync, so the person is sent to Google's consent screen once more.
    """
    if sociallogin.token.token_secret:
        return False
    return not has_working_refresh_token(
        google_sub=sociallogin.account.uid, covering=granted_scopes(sociallogin)
    )


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def get_provider(
        self, request: HttpRequest, provider: str, client_id: str | None = None
    ) -> Provider:
        found = super().get_provider(request, provider, client_id=client_id)
        if type(found) is GoogleProvider:
            return TernGoogleProvider(request, app=found.app)
        return found

    def pre_social_login(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        process = sociallogin.state.get("process") or AuthProcess.LOGIN
        if not can_use_mailbox(granted_scopes(sociallogin)):
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
        if not has_mailbox(google_sub=sociallogin.account.uid):
            _refuse_without_gmail(request, sociallogin, process)
        if needs_consent(sociallogin):
            _ask_consent(request, sociallogin, process)

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


def _refuse_without_gmail(request: HttpRequest, sociallogin: SocialLogin, process: str) -> None:
    """A Google account without Gmail signs in fine, and then every Gmail call answers
    400 "Mail service not enabled": say so now, and connect nothing (no Tern user for a
    new person, no mailbox whose every sync would fail)."""
    if has_gmail(access_token=sociallogin.token.token):
        return
    # Tern will not use this grant: hand it back rather than leave a token at Google.
    revoke_at_google(sociallogin.token.token_secret or sociallogin.token.token)
    page = render(request, "accounts/no_gmail.html", {"process": process})
    raise ImmediateHttpResponse(page)


def _ask_consent(request: HttpRequest, sociallogin: SocialLogin, process: str) -> NoReturn:
    """Back to Google, this time with its consent screen, for the same account."""
    if sociallogin.state.get("data") == CONSENT_RETRY:
        # Consent was asked for and still no refresh token: never loop.
        _refuse(request, "Google did not give Tern lasting access to Gmail. Please try again.")
    provider = sociallogin.account.get_provider(request)
    params = provider.get_auth_params()
    params.update(prompt=CONSENT, login_hint=sociallogin.account.extra_data.get("email", ""))
    response: HttpResponse = provider.redirect(
        request,
        process,
        next_url=sociallogin.state.get("next"),
        data=CONSENT_RETRY,
        auth_params=params,
        scope=provider.get_scope(),
    )
    raise ImmediateHttpResponse(response)


def _is_verified(value: object) -> bool:
    # Google sends a boolean (userinfo v3, id token) or a string ("true", tokeninfo).
    return value is True or str(value).lower() == "true"


def _refuse(request: HttpRequest, message: str) -> NoReturn:
    messages.error(request, message)
    raise ImmediateHttpResponse(redirect(_back(request)))


def _back(request: HttpRequest) -> str:
    return "accounts:settings" if request.user.is_authenticated else "accounts:landing"
