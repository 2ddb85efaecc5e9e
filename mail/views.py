from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from accounts.selectors import gmail_accounts_of
from mail.selectors import thread_list


@login_required
def inbox(request):
    context = {
        "accounts": gmail_accounts_of(user=request.user),
        "threads": thread_list(user=request.user, label_gmail_id="INBOX"),
    }
    return render(request, "mail/inbox.html", context)
