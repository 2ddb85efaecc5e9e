"""The labels page: create, rename, recolour and delete the user labels of each account.

Served under /mail/labels/ (config/urls.py) by sync, which owns Gmail's calls
(sync/labels.py). Each change is a POST with CSRF that answers a 303 back to the page
with a toast; a change Tern or Gmail refuses answers the page again, 400, with the
reason beside the form it came from and what the person typed still in it.
"""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.http import AuthenticatedHttpRequest, posted_id
from accounts.selectors import gmail_account_for_user, gmail_accounts_of
from mail.selectors import user_label_of_user, user_labels_by_account
from mail.toast import Toast, toast_after_redirect
from sync import labels
from sync.labels import PALETTE, LabelRefused


@login_required
def labels_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _page(request)


@login_required
@require_POST
def label_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    account = gmail_account_for_user(user=request.user, account_id=posted_id(request, "account"))
    name = request.POST.get("name", "")
    try:
        created = labels.label_create(
            account=account, name=name, colour=request.POST.get("colour", "")
        )
    except LabelRefused as refused:
        return _page(request, problem=str(refused), problem_for=f"new-{account.pk}", status=400)
    return _back(request, f"Label “{created.name}” created.")


@login_required
@require_POST
def label_edit(request: AuthenticatedHttpRequest, label_id: int) -> HttpResponse:
    """Rename and recolour in one form: only what changed is sent to Gmail."""
    label = user_label_of_user(user=request.user, label_id=label_id)
    name = request.POST.get("name", label.name)
    colour = request.POST.get("colour", "")
    try:
        if name.strip() != label.name:
            label = labels.label_rename(label=label, name=name)
        if colour != label.background_color:
            label = labels.label_recolour(label=label, colour=colour)
    except LabelRefused as refused:
        return _page(request, problem=str(refused), problem_for=str(label_id), status=400)
    return _back(request, f"Label “{label.name}” saved.")


@login_required
@require_POST
def label_delete(request: AuthenticatedHttpRequest, label_id: int) -> HttpResponse:
    label = user_label_of_user(user=request.user, label_id=label_id)
    try:
        labels.label_delete(label=label)
    except LabelRefused as refused:
        return _page(request, problem=str(refused), problem_for=str(label_id), status=400)
    return _back(
        request, f"Label “{label.name}” deleted. Its conversations keep their other labels."
    )


def _page(
    request: AuthenticatedHttpRequest,
    *,
    problem: str = "",
    problem_for: str = "",
    status: int = 200,
) -> HttpResponse:
    accounts = gmail_accounts_of(user=request.user)
    by_account = user_labels_by_account(user=request.user)
    typed = request.POST if problem else {}

    def form(form_id: str, name: str, colour: str) -> dict[str, object]:
        """One form's values: what was typed, when this form's change was refused."""
        refused = form_id == problem_for
        return {
            "id": form_id,
            "name": typed.get("name", name) if refused else name,
            "colour": typed.get("colour", colour) if refused else colour,
            "problem": problem if refused else "",
        }

    sections = [
        {
            "account": account,
            "new": form(f"new-{account.pk}", "", ""),
            "labels": [
                {
                    "label": label,
                    "depth": min(label.name.count("/"), 3),
                    "form": form(str(label.pk), label.name, label.background_color),
                }
                for label in by_account.get(account.pk, [])
            ],
        }
        for account in accounts
    ]
    context = {"sections": sections, "palette": PALETTE}
    return render(request, "mail/labels.html", context, status=status)


def _back(request: AuthenticatedHttpRequest, text: str) -> HttpResponse:
    toast_after_redirect(request, Toast(text))
    return HttpResponseRedirect(reverse("labels"), status=303)
