from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from mail.selectors import thread_list


@login_required
def inbox(request):
    threads = thread_list(user=request.user, label_gmail_id="INBOX")
    return render(request, "mail/inbox.html", {"threads": threads})
