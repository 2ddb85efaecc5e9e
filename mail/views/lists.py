"""Thread lists: the unified inbox, any list of every account (`/mail/label/<id>/`), and
any list of one account (`/mail/account/<id>/`, `/mail/account/<id>/label/<id>/`).

`<id>` is Gmail's label id (INBOX, STARRED, Label_12…) or Tern's ALL (All mail) and
SNOOZED. Pages go by keyset: `?older=<cursor>` and `?newer=<cursor>`, the cursor being
the (last message time, thread id) of the row next to the page, never an offset.
"""

import datetime as dt
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from accounts.http import AuthenticatedHttpRequest
from accounts.models import GmailAccount
from accounts.selectors import gmail_account_for_user, gmail_accounts_of
from mail.fragments import fragment_key, kept_page, layout_render, with_csrf
from mail.mirror_version import mirror_versions
from mail.models import Label
from mail.rows import ROW_TEMPLATES, ListedPage, listed_page
from mail.search import SearchError, message_filter, parse
from mail.selectors import (
    FOLDER_NAMES,
    NOT_LABELS,
    Cursor,
    failed_action_for_user,
    label_in_any_account,
    label_of_user,
    search_page,
    thread_page,
)
from mail.services import failed_action_dismiss
from mail.views.sidebar import needs_request, page_made_of, sidebar_context

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MICROSECOND = dt.timedelta(microseconds=1)


@login_required
def inbox(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _list(request, folder="INBOX")


@login_required
def folder(request: AuthenticatedHttpRequest, label_id: str) -> HttpResponse:
    def label_of() -> Label | None:
        if label_id in FOLDER_NAMES:
            return None
        return label_in_any_account(user=request.user, gmail_id=label_id)

    return _list(request, folder=label_id, label_of=label_of)


@login_required
def account_inbox(request: AuthenticatedHttpRequest, account_id: int) -> HttpResponse:
    return account_folder(request, account_id=account_id, label_id="INBOX")


@login_required
def account_folder(
    request: AuthenticatedHttpRequest, account_id: int, label_id: str
) -> HttpResponse:
    def label_of() -> Label | None:
        if label_id in NOT_LABELS:
            return None
        account = gmail_account_for_user(user=request.user, account_id=account_id)
        return label_of_user(user=request.user, account=account, gmail_id=label_id)

    return _list(request, folder=label_id, account_id=account_id, label_of=label_of)


@login_required
def search(request: AuthenticatedHttpRequest) -> HttpResponse:
    """`/mail/search/?q=`: the threads of every account with a message matching q, as
    a list like any other; a query Tern cannot read says why (400), never a 500."""
    return _list(request, folder="SEARCH", query=request.GET.get("q", ""))


SUGGESTED = 6
SUGGEST_FROM = 3  # characters typed before the box suggests anything


@login_required
@require_POST
def search_suggest(request: AuthenticatedHttpRequest) -> JsonResponse:
    """The newest conversations matching what is being typed in the search box, its
    last word as a prefix ("quart" finds "quarterly"), for the box's list. By POST, so
    that a half-typed search stays out of URLs and logs until it is searched."""
    query = request.POST.get("q", "")[:1000]
    if len(query.strip()) < SUGGEST_FROM:
        return JsonResponse({"threads": []})
    try:
        matching = message_filter(parse(query, typing=True), user=request.user)
    except SearchError:
        return JsonResponse({"threads": []})  # not readable yet: the typing goes on
    accounts = gmail_accounts_of(user=request.user)
    page = search_page(accounts=accounts, matching=matching, limit=SUGGESTED)
    threads = [
        {
            "url": row.url,
            "subject": row.thread.subject or "(no subject)",
            "people": ", ".join(sender.name for sender in row.senders),
        }
        for row in page.rows
    ]
    return JsonResponse({"threads": threads})


def _list(
    request: AuthenticatedHttpRequest,
    *,
    folder: str,
    account_id: int | None = None,
    label_of: Callable[[], Label | None] = lambda: None,
    query: str = "",
) -> HttpResponse:
    """A list of every account or of `account_id`'s, the folder a label's when `label_of`
    finds it (the user's, else 404). A kept page was made, so found, under the same
    mirror versions: it needs neither looked up again."""
    accounts = gmail_accounts_of(user=request.user)
    account = None
    if account_id is not None:
        # The user's own (else 404), the same object as in the sidebar's list.
        account = next((a for a in accounts if a.pk == account_id), None)
        if account is None:
            raise Http404
    # Read before anything the page shows: what is read after is at least as new.
    versions = mirror_versions([each.pk for each in accounts])
    key = None
    if folder != "SEARCH" and not needs_request(accounts):
        # Search is not kept: newer_than: and older_than: match otherwise as time goes by.
        made_of = page_made_of(request, accounts=accounts, versions=versions)
        key = fragment_key("list-page", LIST_TEMPLATES, made_of)
    problem = ""

    def make() -> tuple[tuple[str, str], bool]:
        nonlocal problem
        label = label_of()
        context = _list_context(
            request,
            accounts=accounts,
            versions=versions,
            folder=folder,
            account=account,
            label=label,
            query=query,
        )
        problem = context["search_problem"]
        html = layout_render(LIST_TEMPLATES[0], context, request, kept=key is not None)
        return (context["folder_name"], html), True

    folder_name, layout = kept_page(key, make)
    context = {
        "layout_html": with_csrf([layout], request)[0],
        "folder_name": folder_name,
        "current_account": account,
        "query": query,
    }
    return render(request, "mail/list.html", context, status=400 if problem else 200)


LIST_TEMPLATES = (
    "mail/_list_layout.html",
    *ROW_TEMPLATES,
    "mail/_sidebar.html",
    "mail/_selection_toolbar.html",
    "mail/_thread_states.html",
    "mail/_pager.html",
    "accounts/_reconnect_banner.html",
)


def _folder_name(folder: str, label: Label | None) -> str:
    if folder == "SEARCH":
        return "Search results"
    return FOLDER_NAMES.get(folder) or (label.name if label else folder)


def _list_context(
    request: AuthenticatedHttpRequest,
    *,
    accounts: list[GmailAccount],
    versions: list[str],
    folder: str,
    account: GmailAccount | None,
    label: Label | None,
    query: str,
) -> dict[str, Any]:
    before, after = _cursor(request.GET.get("older")), _cursor(request.GET.get("newer"))
    bar = sidebar_context(
        request, accounts=accounts, folder=folder, account=account, label=label, versions=versions
    )
    problem = ""
    if folder == "SEARCH":
        try:
            matching = message_filter(parse(query), user=request.user)
            page = listed_page(
                None,
                make=lambda: search_page(
                    accounts=accounts, matching=matching, before=before, after=after
                ),
                folder=folder,
                unified=bar["unified"],
            )
        except SearchError as error:
            problem, page = str(error), ListedPage(rows_html="", count=0)
    else:
        made_of = {
            "user": request.user.pk,
            "accounts": [[each.pk, each.email] for each in accounts],
            "versions": versions,
            "list": [folder, account.pk if account else None, label.pk if label else None],
            "cursors": [before, after],
        }
        page = listed_page(
            made_of,
            make=lambda: thread_page(
                user=request.user,
                accounts=accounts,
                folder=folder,
                account=account,
                label=label if account else None,
                before=before,
                after=after,
            ),
            folder=folder,
            unified=bar["unified"],
        )
    shown = [account] if account else accounts
    return {
        **bar,
        "folder_name": _folder_name(folder, label),
        "query": query,
        "here": request.get_full_path(),
        "search_problem": problem,
        "page": page,
        "rows_html": mark_safe(page.rows_html),  # noqa: S308 - rows our template escaped
        "newer_url": _page_url(request.path, "newer", page.newer, query=query),
        "older_url": _page_url(request.path, "older", page.older, query=query),
        "first_sync": next((a for a in shown if _first_sync_running(a)), None),
    }


def _first_sync_running(account: GmailAccount) -> bool:
    status = getattr(account, "sync_status", None)  # none before the first sync starts
    return status is not None and status.last_synced_at is None


def _cursor(value: str | None) -> Cursor | None:
    """`<microseconds since 1970>.<thread id>`, or None for anything else."""
    if not value:
        return None
    at, _, thread_id = value.partition(".")
    try:
        return EPOCH + int(at) * MICROSECOND, int(thread_id)
    except (ValueError, OverflowError):
        return None


def _page_url(path: str, direction: str, cursor: Cursor | None, *, query: str = "") -> str:
    if cursor is None:
        return ""
    at, thread_id = cursor
    params = {direction: f"{(at - EPOCH) // MICROSECOND}.{thread_id}"}
    if query:
        params["q"] = query
    return f"{path}?{urlencode(params)}"


@login_required
@require_POST
def dismiss_failed_action(request: AuthenticatedHttpRequest, action_id: int) -> HttpResponse:
    action = failed_action_for_user(user=request.user, action_id=action_id)
    failed_action_dismiss(action=action)
    return redirect("mail:inbox")
