from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.http import AuthenticatedHttpRequest
from accounts.selectors import (
    actions_waiting,
    gmail_account_for_user,
    gmail_accounts_of,
    is_last_account,
)
from accounts.services import gmail_account_disconnect, user_delete


def landing(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("mail:inbox")
    return render(request, "landing.html")


@login_required
def account_settings(request: AuthenticatedHttpRequest) -> HttpResponse:
    accounts = gmail_accounts_of(user=request.user)
    return render(request, "accounts/settings.html", {"accounts": accounts})


@login_required
@require_http_methods(["GET", "POST"])
def disconnect(request: AuthenticatedHttpRequest, account_id: int) -> HttpResponse:
    account = gmail_account_for_user(user=request.user, account_id=account_id)
    is_last = is_last_account(user=request.user, account=account)
    if request.method == "POST" and not is_last:
        gmail_account_disconnect(account=account)
        messages.success(request, f"{account.email} is disconnected and its mail removed.")
        return redirect("accounts:settings")
    context = {
        "account": account,
        "is_last": is_last,
        # User actions still waiting for Gmail go with the account: say so first.
        "waiting": actions_waiting(account=account),
    }
    return render(request, "accounts/disconnect.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def delete_user(request: AuthenticatedHttpRequest) -> HttpResponse:
    if request.method == "POST":
        user = request.user
        logout(request)
        user_delete(user=user)
        messages.success(request, "Your Tern account and all its mirrored mail are deleted.")
        return redirect("accounts:landing")
    return render(request, "accounts/delete.html")
