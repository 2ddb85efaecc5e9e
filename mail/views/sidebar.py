"""The sidebar every mail page shows (templates/mail/_sidebar.html): the unified inbox
and each account, the system lists and the user labels, with their unread counts."""

from dataclasses import dataclass
from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.timesince import timesince

from accounts.http import AuthenticatedHttpRequest
from accounts.models import GmailAccount
from mail.mirror_version import mirror_versions
from mail.models import Label
from mail.selectors import SYSTEM_FOLDERS, Sidebar, account_color, sidebar


@dataclass
class FolderLink:
    name: str
    url: str
    unread: int
    current: bool


@dataclass
class AccountLink:
    account: GmailAccount
    color: str
    url: str
    unread: int
    current: bool


def sidebar_context(
    request: AuthenticatedHttpRequest,
    *,
    accounts: list[GmailAccount],
    folder: str = "",
    account: GmailAccount | None = None,
    label: Label | None = None,
    versions: list[str] | None = None,
) -> dict[str, Any]:
    """What the sidebar template needs, `folder` (of `account`, or of every account)
    and `label` marked as the current list; none on a page that is not a list.
    Its `versions` are the accounts' mirror versions, read first: whatever the page reads
    after them is at least as new, so a page kept under them is never stale."""
    if versions is None:
        versions = mirror_versions([each.pk for each in accounts])
    bar = sidebar(user=request.user, accounts=accounts, versions=versions)
    shown = [account] if account else accounts
    label_groups = []
    for each in shown:
        entries = bar.user_labels.get(each.pk, [])
        for entry in entries:
            entry.url = folder_url(each.pk, entry.label.gmail_id)
            entry.current = label is not None and entry.label.pk == label.pk
        if entries:
            label_groups.append((each, entries))
    return {
        "accounts": accounts,
        "current_account": account,
        "folder": folder,
        "folders": _folder_links(bar, folder=folder, account=account),
        "label_groups": label_groups,
        "account_links": [
            AccountLink(
                account=each,
                color=account_color(n),
                url=folder_url(each.pk, "INBOX"),
                unread=bar.unread_in(each.pk, "INBOX"),
                current=account is not None and each.pk == account.pk,
            )
            for n, each in enumerate(accounts)
        ],
        "unified_unread": bar.unread_in(None, "INBOX"),
        "unified": account is None and len(accounts) > 1,
        "versions": versions,
        "failed_actions": bar.failed_actions,
    }


def _folder_links(bar: Sidebar, *, folder: str, account: GmailAccount | None) -> list[FolderLink]:
    links = []
    for gmail_id, name in SYSTEM_FOLDERS:
        if account is None:
            url = reverse("mail:inbox") if gmail_id == "INBOX" else folder_url(None, gmail_id)
        else:
            url = folder_url(account.pk, gmail_id)
        unread = bar.unread_in(account.pk if account else None, gmail_id)
        links.append(FolderLink(name, url, unread, current=gmail_id == folder))
    return links


def folder_url(account_id: int | None, gmail_id: str) -> str:
    if account_id is None:
        return reverse("mail:folder", args=[gmail_id])
    if gmail_id == "INBOX":
        return reverse("mail:account", args=[account_id])
    return reverse("mail:account_folder", args=[account_id, gmail_id])


def page_made_of(
    request: AuthenticatedHttpRequest, *, accounts: list[GmailAccount], versions: list[str]
) -> dict[str, Any]:
    """What the key of every kept page (mail.fragments.kept_page) holds besides what is
    its own: the reader, the page's address, their time zone and today's date, their
    accounts as the page shows them (address, status, scopes, sync line) and the mirror
    versions of those accounts, read before anything the page shows."""
    return {
        "user": request.user.pk,
        "here": request.get_full_path(),
        "origin": request.build_absolute_uri("/"),  # in the messages' image addresses
        "zone": timezone.get_current_timezone_name(),
        "today": timezone.localdate().isoformat(),
        "versions": versions,
        "accounts": [_as_shown(each) for each in accounts],
    }


def _as_shown(account: GmailAccount) -> list[object]:
    status = getattr(account, "sync_status", None)
    sync: list[object] = []
    if status is not None:
        synced = status.last_synced_at
        sync = [status.full_sync_messages_done, synced, timesince(synced) if synced else ""]
        sync.append(status.last_error)
    return [account.pk, account.email, account.status, account.scopes, sync]


def needs_request(accounts: list[GmailAccount]) -> bool:
    """Whether a page must be rendered with its request, and not kept: the reconnect
    banner's Google link is made from the request."""
    return any(each.status == GmailAccount.Status.NEEDS_REAUTH for each in accounts)
