"""Actions on conversations: `POST /mail/act/` (one thread, or a list's selection) and
`POST /mail/undo/` (the toast's Undo).

Both are plain form posts that answer with a redirect (303) to the page the user goes on
to, carrying the toast; htmx sends the same forms and swaps the page it is redirected to
(`hx-select`), so the page works the same without JavaScript. Bad input gets a clear 400
and nothing of the request is applied.

Fields of /mail/act/:
- `action`: a name of ACTS, or `labels` (the thread's user labels become exactly the
  `label` fields), `label_add` (add each `label`) or `move` (add `label`, leave the inbox);
- `thread`: one or more Tern thread ids (another user's: 404);
- `label`: Tern label ids, for the three label actions;
- `next`: the list to go back to; `here`: the thread page, for actions that keep the
  thread in view; `quiet`: no toast (the thread page marks itself read this way).

Undo restores each thread's labels as they were before (taking it out of Trash where
the action put it there) through the same services, so Gmail gets it back too. Its
token is signed, bound to the user and expires.
"""

import datetime as dt
from collections.abc import Callable, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.db import transaction
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.http import AuthenticatedHttpRequest
from mail import services
from mail.actions import ActionNotAllowed
from mail.labels import FIXED_LABELS
from mail.models import Label, OutboxAction, Thread, ThreadLabel
from mail.selectors import threads_of_user, user_labels_of_user
from mail.toast import Toast, toast_after_redirect

ACTS: dict[str, Callable[..., OutboxAction | None]] = {
    "archive": services.thread_archive,
    "inbox": services.thread_move_to_inbox,
    "trash": services.thread_trash,
    "untrash": services.thread_untrash,
    "spam": services.thread_spam,
    "not_spam": services.thread_not_spam,
    "read": services.thread_mark_read,
    "unread": services.thread_mark_unread,
    "star": services.thread_star,
    "unstar": services.thread_unstar,
    "important": services.thread_mark_important,
    "not_important": services.thread_mark_not_important,
    "delete": services.thread_delete_forever,
    "unsnooze": services.thread_unsnooze,
    "mute": services.thread_mute,
    "unmute": services.thread_unmute,
}
LABEL_ACTIONS = ("labels", "label_add", "move")
# What the toast says, for one conversation and for several.
DONE = {
    "archive": ("Conversation archived.", "{n} conversations archived."),
    "inbox": ("Conversation moved to Inbox.", "{n} conversations moved to Inbox."),
    "trash": ("Conversation moved to Trash.", "{n} conversations moved to Trash."),
    "untrash": ("Conversation restored from Trash.", "{n} conversations restored from Trash."),
    "spam": ("Conversation reported as spam.", "{n} conversations reported as spam."),
    "not_spam": ("Conversation moved out of Spam.", "{n} conversations moved out of Spam."),
    "read": ("Marked as read.", "{n} conversations marked as read."),
    "unread": ("Marked as unread.", "{n} conversations marked as unread."),
    "star": ("Starred.", "{n} conversations starred."),
    "unstar": ("Star removed.", "Star removed from {n} conversations."),
    "important": ("Marked as important.", "{n} conversations marked as important."),
    "not_important": ("Marked as not important.", "{n} conversations marked as not important."),
    "delete": ("Conversation deleted forever.", "{n} conversations deleted forever."),
    "labels": ("Labels changed.", "Labels changed on {n} conversations."),
    "label_add": ("Label added.", "Label added to {n} conversations."),
    "move": ("Conversation moved.", "{n} conversations moved."),
    "unsnooze": ("Conversation back in the inbox.", "{n} conversations back in the inbox."),
    "mute": ("Conversation muted.", "{n} conversations muted."),
    "unmute": ("Conversation unmuted.", "{n} conversations unmuted."),
}
# Actions after which the thread has left the list it was in: the thread page goes back
# to that list (Gmail's way); the others keep the thread in view.
LEAVES = frozenset({"archive", "trash", "spam", "not_spam", "unread", "delete", "move", "mute"})
# Gmail's Undo covers what moves mail; marking read or starring is undone by its opposite.
UNDOABLE = frozenset(
    {"archive", "inbox", "trash", "untrash", "spam", "not_spam", "mute", *LABEL_ACTIONS}
)
MAX_THREADS = 100  # a page holds 50; more is not a person selecting rows
UNDO_SALT = "mail.undo"
UNDO_MAX_AGE_S = 3600


class BadRequest(Exception):
    """What was wrong with the request, in words for the person who sent it."""


@login_required
@require_POST
def act(request: AuthenticatedHttpRequest) -> HttpResponse:
    name = request.POST.get("action", "")
    try:
        if name not in ACTS and name not in LABEL_ACTIONS:
            raise BadRequest("Tern does not know that action.")
        threads = _threads(request)
        labels = _labels(request, threads, required=name in ("label_add", "move"))
        before = _label_ids(threads)
        with transaction.atomic():
            for thread in threads:
                _apply(name, thread, labels)
    except BadRequest as error:
        return _refused(request, str(error))
    except (ActionNotAllowed, ValueError) as error:
        return _refused(request, str(error))
    target = local_path(request, "next") or reverse("mail:inbox")
    if name not in LEAVES:
        target = local_path(request, "here") or target
    if request.POST.get("quiet"):
        return see_other(target)
    one, many = DONE[name]
    toast = Toast(one if len(threads) == 1 else many.format(n=len(threads)))
    if name in UNDOABLE:
        token = _undo_token(
            request, before, _label_ids(threads), state="mute" if name == "mute" else ""
        )
        if token:
            undo_fields = {"undo": token, "next": local_path(request, "next") or target}
            toast = Toast(toast.text, reverse("mail:undo"), undo_fields)
    toast_after_redirect(request, toast)
    return see_other(target)


@login_required
@require_POST
def undo(request: AuthenticatedHttpRequest) -> HttpResponse:
    try:
        payload = signing.loads(
            request.POST.get("undo", ""), salt=UNDO_SALT, max_age=UNDO_MAX_AGE_S
        )
    except signing.BadSignature:  # also SignatureExpired
        return _refused(request, "This can no longer be undone.")
    if payload.get("user") != request.user.pk:
        raise Http404
    changes = {pk: (added, removed) for pk, added, removed in payload["threads"]}
    # Threads deleted since (by Gmail, or forever) are simply not there any more.
    threads = threads_of_user(user=request.user, thread_ids=list(changes))
    try:
        with transaction.atomic():
            for thread in threads:
                added, removed = changes[thread.pk]
                if payload.get("state") == "snooze":
                    services.snooze_forget(thread=thread)
                if payload.get("state") == "mute":
                    services.thread_unmute(thread=thread)
                _restore(thread, added=added, removed=removed)
    except (ActionNotAllowed, ValueError) as error:
        return _refused(request, str(error))
    toast_after_redirect(request, Toast("Action undone."))
    return see_other(local_path(request, "next") or reverse("mail:inbox"))


@login_required
@require_POST
def snooze(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Snooze the threads until a preset (`until`: later, tomorrow, next_week) or a
    chosen local time (`until=at` with `until_at`), in the browser's time zone (`tz`)."""
    try:
        threads = _threads(request)
        zone = time_zone(request.POST.get("tz", ""))
        until = snooze_time(
            request.POST.get("until", ""), request.POST.get("until_at", ""), zone=zone
        )
        before = _label_ids(threads)
        if any(before[thread.pk] & {"TRASH", "SPAM"} for thread in threads):
            raise BadRequest(
                "Conversations in Trash or Spam cannot be snoozed: restore them first."
            )
        with transaction.atomic():
            for thread in threads:
                services.thread_snooze(thread=thread, until=until)
    except BadRequest as error:
        return _refused(request, str(error))
    shown = timezone.localtime(until, zone).strftime("%a %b %-d, %H:%M")
    text = "Conversation snoozed" if len(threads) == 1 else f"{len(threads)} conversations snoozed"
    target = local_path(request, "next") or reverse("mail:inbox")
    token = _undo_token(request, before, _label_ids(threads), state="snooze")
    toast = Toast(f"{text} until {shown}.", reverse("mail:undo"), {"undo": token, "next": target})
    toast_after_redirect(request, toast)
    return see_other(target)


def snooze_time(
    preset: str, chosen: str, *, zone: ZoneInfo, now: dt.datetime | None = None
) -> dt.datetime:
    """When a snooze ends: Gmail's presets (later today: in three hours, on the hour;
    tomorrow and next week: 08:00 local time) or a chosen local time in the future."""
    now = timezone.localtime(now or timezone.now(), zone)
    morning = dt.time(8, 0)
    if preset == "later":
        return (now + dt.timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
    if preset == "tomorrow":
        return dt.datetime.combine(now.date() + dt.timedelta(days=1), morning, zone)
    if preset == "next_week":
        days = 7 - now.weekday()  # next Monday
        return dt.datetime.combine(now.date() + dt.timedelta(days=days), morning, zone)
    if preset == "at":
        try:
            chosen_at = dt.datetime.strptime(chosen, "%Y-%m-%dT%H:%M").replace(tzinfo=zone)
        except ValueError:
            raise BadRequest("Choose a date and a time to snooze until.") from None
        if chosen_at <= now + dt.timedelta(minutes=1):
            raise BadRequest("Choose a time in the future to snooze until.")
        if chosen_at > now + dt.timedelta(days=366 * 5):
            raise BadRequest("Tern snoozes for at most five years.")
        return chosen_at
    raise BadRequest("Choose when the conversation should come back.")


def time_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name) if name else ZoneInfo(settings.TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(settings.TIME_ZONE)


def _apply(name: str, thread: Thread, labels: list[Label]) -> None:
    ids = [label.gmail_id for label in labels if label.account_id == thread.account_id]
    if labels and not ids:
        raise BadRequest("That label belongs to another account than the conversation.")
    if name in ACTS:
        ACTS[name](thread=thread)
    elif name == "labels":
        current = set(
            thread.thread_labels.filter(label__type=Label.Type.USER).values_list(
                "label_gmail_id", flat=True
            )
        )
        add, remove = sorted(set(ids) - current), sorted(current - set(ids))
        if add or remove:
            services.thread_labels_change(thread=thread, add=add, remove=remove)
    elif name == "label_add":
        services.thread_labels_change(thread=thread, add=ids)
    else:  # move
        services.thread_labels_change(thread=thread, add=ids, remove=["INBOX"])


def _restore(thread: Thread, *, added: Sequence[str], removed: Sequence[str]) -> None:
    """Put back the labels an action added and removed: Trash through untrash/trash
    (the only calls Gmail takes for it), the rest in one label change."""
    if "TRASH" in added:
        services.thread_untrash(thread=thread)
    elif "TRASH" in removed:
        services.thread_trash(thread=thread)
    add = [label for label in removed if label not in FIXED_LABELS and label != "TRASH"]
    remove = [label for label in added if label not in FIXED_LABELS and label != "TRASH"]
    if add or remove:
        services.thread_labels_change(thread=thread, add=add, remove=remove)


def _threads(request: AuthenticatedHttpRequest) -> list[Thread]:
    values = request.POST.getlist("thread")
    if not values:
        raise BadRequest("Select at least one conversation first.")
    if len(values) > MAX_THREADS:
        raise BadRequest(f"Select at most {MAX_THREADS} conversations at a time.")
    try:
        ids = sorted({int(value) for value in values})
    except ValueError:
        raise BadRequest("That is not a conversation Tern knows.") from None
    threads = threads_of_user(user=request.user, thread_ids=ids)
    if len(threads) != len(ids):
        raise Http404  # someone else's thread, or none: nothing of the request is applied
    return threads


def _labels(
    request: AuthenticatedHttpRequest, threads: list[Thread], *, required: bool
) -> list[Label]:
    values = request.POST.getlist("label")
    if required and not values:
        raise BadRequest("Choose a label first.")
    try:
        ids = sorted({int(value) for value in values})
    except ValueError:
        raise BadRequest("That is not a label Tern knows.") from None
    labels = user_labels_of_user(user=request.user, label_ids=ids)
    if len(labels) != len(ids):
        raise Http404
    return labels


def _label_ids(threads: list[Thread]) -> dict[int, set[str]]:
    """Each thread's labels now (Gmail's ids), in one query."""
    found: dict[int, set[str]] = {thread.pk: set() for thread in threads}
    rows = ThreadLabel.objects.filter(thread__in=threads).values_list("thread_id", "label_gmail_id")
    for thread_id, gmail_id in rows:
        found[thread_id].add(gmail_id)
    return found


def _undo_token(
    request: AuthenticatedHttpRequest,
    before: dict[int, set[str]],
    after: dict[int, set[str]],
    *,
    state: str = "",
) -> str:
    """What Undo needs: each thread's labels added and removed, and the Tern state
    ("snooze", "mute") the action set, if any."""
    changes = [
        [pk, sorted(after[pk] - labels), sorted(labels - after[pk])]
        for pk, labels in before.items()
        if after[pk] != labels or state
    ]
    if not changes:
        return ""
    payload = {"user": request.user.pk, "threads": changes, "state": state}
    return signing.dumps(payload, salt=UNDO_SALT)


def local_path(request: AuthenticatedHttpRequest, field: str) -> str:
    """A path on this site from the form, or "" (never somewhere else)."""
    value = request.POST.get(field, "")
    if value.startswith("/") and url_has_allowed_host_and_scheme(
        value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return value
    return ""


def see_other(url: str) -> HttpResponseRedirect:
    response = HttpResponseRedirect(url)
    response.status_code = 303  # the page to go on to, fetched with GET
    return response


def _refused(request: AuthenticatedHttpRequest, problem: str) -> HttpResponse:
    """Nothing was applied: say why. htmx keeps the page and shows it in the toast."""
    if request.htmx:
        response = render(
            request, "mail/_toast.html", {"toast": Toast(problem, is_error=True), "oob": True}
        )
        response["HX-Reswap"] = "none"
        return response
    return render(request, "mail/refused.html", {"problem": problem}, status=400)
