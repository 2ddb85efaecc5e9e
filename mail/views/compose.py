"""Compose: a new message (`/mail/compose/`), a draft reopened (`/mail/compose/<id>/`),
a reply, reply all or forward (`/mail/reply/<message id>/?mode=`), and what the form
posts: the draft as typed (saved a second after typing stops, and when the tab closes),
Send, Send at a time, Discard, files added and removed, and Undo of a send.

Every post keeps what was typed first, whatever happens next: a send refused for a
reason the user can fix shows the reasons beside the form, with everything in place.
"""

import datetime as dt

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.http import AuthenticatedHttpRequest
from accounts.models import GmailAccount
from accounts.selectors import gmail_accounts_of
from mail import compose, services
from mail.addresses import header_pairs
from mail.models import Draft, Message
from mail.people import suggestions
from mail.selectors import (
    draft_attachment_of_user,
    draft_of_user,
    drafts_by_gmail_message,
    late_sends,
    message_of_user,
    own_addresses,
    scheduled_drafts,
)
from mail.toast import Toast, toast_after_redirect
from mail.views.actions import local_path, see_other, time_zone

MAX_FILE_BYTES = compose.MAX_ATTACHMENTS_BYTES


@login_required
@require_http_methods(["GET", "POST"])
def compose_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    """GET: a new, empty message (nothing is stored until something is typed). POST:
    the form (compose_post)."""
    if request.method == "POST":
        return compose_post(request)
    accounts = _accounts(request)
    if not accounts:
        return _page(request, draft=None, typed=services.Typed(), account=None, accounts=accounts)
    choices = compose.from_choices(accounts[:1])
    sender = next((c for c in choices if c.default), choices[0])
    typed = services.Typed(
        to=request.GET.get("to", "")[:2000],
        body_text=compose.with_signature("", sender.signature),
        from_address=sender.email,
    )
    return _page(request, draft=None, typed=typed, account=accounts[0], accounts=accounts)


@login_required
@require_GET
def draft_page(request: AuthenticatedHttpRequest, draft_id: int) -> HttpResponse:
    draft = draft_of_user(user=request.user, draft_id=draft_id)
    return _page(request, draft=draft, typed=services.Typed.of(draft), account=draft.account)


@login_required
@require_GET
def reply_page(request: AuthenticatedHttpRequest, message_id: int) -> HttpResponse:
    """A reply (`mode=reply`), reply all (`reply_all`) or forward (`forward`) to one of
    the user's messages, filled in and quoted, stored once the user types."""
    message = message_of_user(user=request.user, message_id=message_id)
    # Every account of the user, once: the From choices (the active ones), the user's
    # own addresses (which reply all leaves out) and the message's own account.
    every = gmail_accounts_of(user=request.user, with_sync_status=False)
    message.account = next(a for a in every if a.pk == message.account_id)
    own = {account.email.lower() for account in every}
    start = _start(request, message, request.GET.get("mode", Draft.Mode.REPLY), own=own)
    sender = _replying_as(message)
    typed = services.Typed(
        to=start.to,
        cc=start.cc,
        subject=start.subject,
        body_text=compose.with_signature(start.body_text, sender.signature),
        from_address=sender.email,
    )
    return _page(
        request,
        draft=None,
        typed=typed,
        account=message.account,
        accounts=[a for a in every if a.status == GmailAccount.Status.ACTIVE],
        start=start,
        replying=message,
    )


@csrf_protect
def compose_post(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The form: `intent` says what to do after keeping what was typed (autosave, save,
    send, schedule, discard)."""
    intent = request.POST.get("intent", "save")
    # A draft about to be sent needs no save to Gmail's drafts first: the send writes
    # it; a send refused saves it after all (_send).
    draft = _draft_kept(request, gmail_save=intent not in {"send", "schedule"})
    if intent == "discard":
        if draft is not None:
            services.draft_discard(draft=draft)
        toast_after_redirect(request, Toast("Draft discarded."))
        return see_other(_after(request, draft))
    if draft is None:  # nothing typed yet: nothing to keep
        return HttpResponse(status=204)
    if intent == "autosave":
        return JsonResponse({"draft": draft.pk, "url": draft.get_absolute_url()})
    if intent in {"send", "schedule"}:
        return _send(request, draft, scheduled=intent == "schedule")
    return see_other(draft.get_absolute_url())


def _send(request: AuthenticatedHttpRequest, draft: Draft, *, scheduled: bool) -> HttpResponse:
    try:
        at = _send_time(request) if scheduled else None
        services.draft_send(draft=draft, at=at)
    except (BadRequest, compose.ComposeError) as error:
        services.draft_save_soon(draft=draft)
        problems = error.problems if isinstance(error, compose.ComposeError) else [str(error)]
        return _refused(request, draft, problems)
    undo = reverse("mail:send_undo", args=[draft.pk])
    if at is not None:
        shown = timezone.localtime(at, time_zone(request.POST.get("tz", ""))).strftime(
            "%a %b %-d, %H:%M"
        )
        toast = Toast(f"Message scheduled for {shown}.", undo)
    elif settings.UNDO_SEND_SECONDS:
        toast = Toast("Sending…", undo)
    else:
        toast = Toast("Message sent.")
    toast_after_redirect(request, toast)
    return see_other(_after(request, draft))


def _send_time(request: AuthenticatedHttpRequest) -> dt.datetime:
    zone = time_zone(request.POST.get("tz", ""))
    try:
        at = dt.datetime.strptime(request.POST.get("send_at", ""), "%Y-%m-%dT%H:%M")
    except ValueError:
        raise BadRequest("Choose a date and a time to send at.") from None
    at = at.replace(tzinfo=zone)
    now = timezone.now()
    if at <= now + dt.timedelta(minutes=1):
        raise BadRequest("Choose a time in the future to send at.")
    if at > now + dt.timedelta(days=366 * 2):
        raise BadRequest("Tern schedules a message at most two years ahead.")
    return at


@login_required
@require_POST
def draft_adopt(request: AuthenticatedHttpRequest, message_id: int) -> HttpResponse:
    """ "Edit draft" on a draft written elsewhere: open it in compose, everything in place."""
    message = message_of_user(user=request.user, message_id=message_id)
    if not message.labels.filter(gmail_id="DRAFT").exists():
        raise BadRequest("This message is not a draft.")
    ours = drafts_by_gmail_message(user=request.user, gmail_ids=[message.gmail_id])
    draft = ours.get(message.gmail_id) or services.draft_adopt(message=message)
    return see_other(draft.get_absolute_url())


@login_required
@require_POST
def send_undo(request: AuthenticatedHttpRequest, draft_id: int) -> HttpResponse:
    """Undo of a send (the toast's) or cancel of a scheduled one: back to the draft."""
    draft = draft_of_user(user=request.user, draft_id=draft_id)
    if draft.state != Draft.State.QUEUED or not services.send_undo(draft=draft):
        toast_after_redirect(request, Toast("Too late: the message has been sent.", is_error=True))
        return see_other(local_path(request, "next") or reverse("mail:inbox"))
    text = "Scheduled send cancelled." if draft.scheduled else "Sending undone."
    toast_after_redirect(request, Toast(text))
    return see_other(draft.get_absolute_url())


@login_required
@require_POST
def attach(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Files chosen or dropped: kept with the draft (made now if there is none yet),
    refused beside the form past Gmail's 25 MB."""
    draft = _draft_kept(request, force=True)
    assert draft is not None  # forced
    problems = []
    for upload in request.FILES.getlist("files"):
        try:
            services.draft_attach(
                draft=draft,
                filename=(upload.name or "attachment")[:255],
                mime_type=(upload.content_type or "")[:255],
                data=upload.read(MAX_FILE_BYTES + 1),
            )
        except compose.ComposeError as error:
            problems += [f"{upload.name}: {problem}" for problem in error.problems]
    draft = draft_of_user(user=request.user, draft_id=draft.pk)
    if request.htmx:
        status = 400 if problems else 200
        return render(
            request,
            "mail/_compose_files.html",
            {"draft": draft, "file_problems": problems, "oob_draft": True},
            status=status,
        )
    if problems:
        return _refused(request, draft, problems)
    return see_other(draft.get_absolute_url())


@login_required
@require_POST
def file_remove(request: AuthenticatedHttpRequest, file_id: int) -> HttpResponse:
    file = draft_attachment_of_user(user=request.user, attachment_id=file_id)
    draft = file.draft
    if request.POST.get("account"):
        _draft_kept(request)  # what was typed, posted with the button
    services.draft_attachment_remove(file=file)
    if request.htmx:
        draft = draft_of_user(user=request.user, draft_id=draft.pk)
        return render(request, "mail/_compose_files.html", {"draft": draft})
    return see_other(draft.get_absolute_url())


@login_required
@require_POST
def people(request: AuthenticatedHttpRequest) -> JsonResponse:
    """Suggestions for the address being typed (`q`), best first. A POST, so that what
    is typed never lands in a URL or an access log."""
    found = suggestions(user=request.user, typed=request.POST.get("q", "")[:100])
    return JsonResponse(
        {
            "people": [
                {"name": person.name, "address": person.address, "value": str(person)}
                for person in found
            ]
        }
    )


@login_required
@require_GET
def scheduled_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    context = {
        "drafts": scheduled_drafts(user=request.user),
        "late": late_sends(user=request.user),
    }
    return render(request, "mail/scheduled.html", context)


@login_required
@require_POST
def late_send_dismiss(request: AuthenticatedHttpRequest, draft_id: int) -> HttpResponse:
    draft = draft_of_user(user=request.user, draft_id=draft_id)
    services.late_send_dismiss(draft=draft)
    return see_other(local_path(request, "next") or reverse("mail:inbox"))


def _accounts(request: AuthenticatedHttpRequest) -> list[GmailAccount]:
    return list(GmailAccount.objects.filter(user=request.user, status=GmailAccount.Status.ACTIVE))


def _replying_as(message: Message) -> compose.FromChoice:
    """The address a reply goes from: the one of the account's the message was sent
    to, else the account's default."""
    choices = compose.from_choices([message.account])
    addressed = {a.lower() for _, a in header_pairs(f"{message.to}, {message.cc}")}
    for choice in choices:
        if choice.email in addressed:
            return choice
    return next((c for c in choices if c.default), choices[0])


def _typed(request: AuthenticatedHttpRequest, from_address: str) -> services.Typed:
    post = request.POST
    return services.Typed(
        to=post.get("to", ""),
        cc=post.get("cc", ""),
        bcc=post.get("bcc", ""),
        subject=post.get("subject", ""),
        body_text=post.get("body", ""),
        from_address=from_address,
        body_html=post.get("body_html", "") if post.get("rich") == "1" else "",
    )


def _draft_kept(
    request: AuthenticatedHttpRequest, *, force: bool = False, gmail_save: bool = True
) -> Draft | None:
    """The form's draft with what was typed kept in it: the one it names, or a new one
    when something was typed (or `force`: files were added), saved to Gmail a moment
    later unless not `gmail_save`. None: nothing to keep."""
    # From: "<account id>:<address>" (an account's own address or an alias), or the
    # account's id alone.
    account_id, _, address = request.POST.get("from", request.POST.get("account", "")).partition(
        ":"
    )
    account = get_object_or_404(
        GmailAccount, pk=_number(account_id), user=request.user, status=GmailAccount.Status.ACTIVE
    )
    sender = compose.from_choice(compose.from_choices([account]), account, address)
    typed = _typed(request, "" if sender.email == account.email.lower() else sender.email)
    draft_id = _number(request.POST.get("draft"))
    if draft_id:
        draft = draft_of_user(user=request.user, draft_id=draft_id)
        if draft.state != Draft.State.EDITING:
            return draft  # being sent: what it holds is what goes
        return services.draft_update(
            draft=draft, typed=typed, account=account, gmail_save=gmail_save
        )
    if not force and typed == services.Typed(from_address=typed.from_address):
        return None
    start, thread = None, None
    replying_id = _number(request.POST.get("reply_to"))
    if replying_id:
        message = message_of_user(user=request.user, message_id=replying_id)
        start = _start(request, message, request.POST.get("mode", Draft.Mode.REPLY))
        if message.account_id == account.pk:
            thread = message.thread
    return services.draft_create(
        account=account, typed=typed, start=start, thread=thread, gmail_save=gmail_save
    )


def _start(
    request: AuthenticatedHttpRequest, message: Message, mode: str, *, own: set[str] | None = None
) -> compose.Start:
    """The start of a reply, reply all or forward; `own` is the user's addresses, when
    known."""
    if mode not in {Draft.Mode.REPLY, Draft.Mode.REPLY_ALL, Draft.Mode.FORWARD}:
        raise BadRequest("Reply, reply all or forward?")
    if own is None:
        own = own_addresses(user=request.user)
    return compose.reply_start(message, mode=mode, own=own)


def _number(value: str | None) -> int:
    return int(value) if value and value.isdigit() and len(value) < 18 else 0


def _after(request: AuthenticatedHttpRequest, draft: Draft | None) -> str:
    """Where the page goes after Send or Discard: where the writer came from."""
    if draft is not None and draft.thread_id is not None:
        return reverse("mail:thread", args=[draft.thread_id])
    return local_path(request, "next") or reverse("mail:inbox")


def _refused(request: AuthenticatedHttpRequest, draft: Draft, problems: list[str]) -> HttpResponse:
    """The form again, everything in place, with why it cannot go yet."""
    draft = draft_of_user(user=request.user, draft_id=draft.pk)
    return _page(
        request,
        draft=draft,
        typed=services.Typed.of(draft),
        account=draft.account,
        problems=problems,
        status=400,
    )


def _page(
    request: AuthenticatedHttpRequest,
    *,
    draft: Draft | None,
    typed: services.Typed,
    account: GmailAccount | None,
    accounts: list[GmailAccount] | None = None,
    start: compose.Start | None = None,
    replying: Message | None = None,
    problems: list[str] | None = None,
    status: int = 200,
) -> HttpResponse:
    """The compose form; `accounts` are the user's active ones, when known."""
    if accounts is None:
        accounts = _accounts(request)
    if account is None or not accounts:
        problem = "Connect a Gmail account in Settings to write mail."
        return render(request, "mail/refused.html", {"problem": problem}, status=400)
    mode = draft.mode if draft else (start.mode if start else Draft.Mode.NEW)
    choices = compose.from_choices(accounts)
    context = {
        "draft": draft,
        "typed": typed,
        "account": account,
        "accounts": accounts,
        "from_choices": choices,
        "from_value": compose.from_choice(choices, account, typed.from_address).value,
        "mode": mode,
        "mode_title": Draft.Mode(mode).label,
        "replying": replying,
        "forwarded": start.forwarded if start else [],
        "start": start,
        "problems": problems or [],
        "undo_seconds": settings.UNDO_SEND_SECONDS,
        "next": local_path(request, "next") if request.method == "POST" else "",
    }
    return render(request, "mail/compose.html", context, status=status)
