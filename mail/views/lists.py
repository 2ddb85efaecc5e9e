from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.http import AuthenticatedHttpRequest
from accounts.selectors import gmail_accounts_of
from mail.selectors import failed_action_for_user, failed_actions, thread_list
from mail.services import failed_action_dismiss


@login_required
def inbox(request: AuthenticatedHttpRequest) -> HttpResponse:
    context = {
        "accounts": gmail_accounts_of(user=request.user),
        "failed_actions": failed_actions(user=request.user),
        "threads": thread_list(user=request.user, label_gmail_id="INBOX"),
    }
    return render(request, "mail/inbox.html", context)


@login_required
@require_POST
def dismiss_failed_action(request: AuthenticatedHttpRequest, action_id: int) -> HttpResponse:
    action = failed_action_for_user(user=request.user, action_id=action_id)
    failed_action_dismiss(action=action)
    return redirect("mail:inbox")
