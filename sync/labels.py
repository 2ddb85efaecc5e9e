"""Creating, renaming, recolouring and deleting a user's labels: at Gmail first (through
the account's one client), then in the mirror from Gmail's answer, so the two agree.

These are not outbox actions: a new label's id is Gmail's to give, and the person
managing labels waits the one call and reads at once whether Gmail took the change.
Names are checked before asking (mail.labels.label_name_problem says why Gmail would
refuse), colours are Gmail's own palette (it refuses any other), and a nested label
(`Projects/Tern`) follows its parent when the parent is renamed, as in Gmail's web app.
"""

from dataclasses import dataclass
from typing import cast

from accounts.credentials import NeedsReconnect
from accounts.models import GmailAccount
from gmail.api import GmailClient, Request
from gmail.client import Json
from gmail.errors import PermanentError, RetryLater
from mail import mirror
from mail.labels import label_name_problem
from mail.mirror import GmailLabel
from mail.models import Label
from sync.clients import gmail_client


@dataclass(frozen=True)
class Colour:
    name: str
    background: str
    text: str


# A few of the pairs Gmail's label palette allows (LabelColor in the API reference);
# Gmail refuses a colour outside its palette.
PALETTE = (
    Colour("Red", "#fb4c2f", "#ffffff"),
    Colour("Orange", "#ffad47", "#000000"),
    Colour("Yellow", "#fad165", "#000000"),
    Colour("Green", "#16a766", "#ffffff"),
    Colour("Teal", "#2da2bb", "#ffffff"),
    Colour("Blue", "#4a86e8", "#ffffff"),
    Colour("Purple", "#a479e2", "#ffffff"),
    Colour("Pink", "#f691b3", "#000000"),
    Colour("Brown", "#a46a21", "#ffffff"),
    Colour("Grey", "#999999", "#ffffff"),
)
COLOURS = {colour.background: colour for colour in PALETTE}


class LabelRefused(Exception):
    """The change was not made (by Tern's checks or by Gmail); the message says why."""


def label_create(*, account: GmailAccount, name: str, colour: str = "") -> Label:
    name = _checked_name(account, name, current=None)
    body: Json = {
        "name": name,
        "labelListVisibility": "labelShow",
        "messageListVisibility": "show",
        **_colour_body(colour),
    }
    gmail = _gmail(account)
    created = _call(gmail, "labels.create", gmail.users.labels().create(userId="me", body=body))
    return mirror.label_store(account=account, resource=cast(GmailLabel, created))


def label_rename(*, label: Label, name: str) -> Label:
    """Rename the label and its nested labels (`Old/x` becomes `New/x`)."""
    account = label.account
    name = _checked_name(account, name, current=label)
    old = label.name
    gmail = _gmail(account)
    renamed = _patch(gmail, label, {"name": name})
    children = Label.objects.filter(
        account=account, type=Label.Type.USER, name__startswith=f"{old}/"
    )
    for child in children:
        _patch(gmail, child, {"name": name + child.name.removeprefix(old)})
    return renamed


def label_recolour(*, label: Label, colour: str) -> Label:
    body = _colour_body(colour) or {"color": None}
    return _patch(_gmail(label.account), label, body)


def label_delete(*, label: Label) -> None:
    """Gone from Gmail and from every message there (Gmail's rule); nested labels stay."""
    gmail = _gmail(label.account)
    try:
        gmail.call("labels.delete", gmail.users.labels().delete(userId="me", id=label.gmail_id))
    except PermanentError as error:
        if error.status != 404:  # already gone at Gmail: drop it here too
            raise _refused(error) from error
    except (RetryLater, NeedsReconnect) as error:
        raise _refused(error) from error
    mirror.label_remove(account=label.account, gmail_id=label.gmail_id)


def _gmail(account: GmailAccount) -> GmailClient:
    try:
        return gmail_client(account)
    except NeedsReconnect as error:
        raise _refused(error) from error


def _patch(gmail: GmailClient, label: Label, body: Json) -> Label:
    request = gmail.users.labels().patch(userId="me", id=label.gmail_id, body=body)
    patched = _call(gmail, "labels.patch", request)
    return mirror.label_store(account=label.account, resource=cast(GmailLabel, patched))


def _call(gmail: GmailClient, method: str, request: Request) -> Json:
    try:
        return gmail.call(method, request)
    except (PermanentError, RetryLater, NeedsReconnect) as error:
        raise _refused(error) from error


def _refused(error: Exception) -> LabelRefused:
    if isinstance(error, NeedsReconnect):
        return LabelRefused("Gmail no longer accepts Tern's access: reconnect the account.")
    if isinstance(error, RetryLater):
        return LabelRefused("Gmail is busy or out of reach just now. Try again in a minute.")
    if isinstance(error, PermanentError) and error.status == 409:
        return LabelRefused("A label with this name exists already.")
    if isinstance(error, PermanentError) and error.status == 404:
        return LabelRefused("Gmail no longer has this label.")
    return LabelRefused("Gmail refused the change.")


def _checked_name(account: GmailAccount, name: str, *, current: Label | None) -> str:
    problem = label_name_problem(name)
    if problem:
        raise LabelRefused(problem)
    name = "/".join(part.strip() for part in name.strip().split("/"))
    if any(not part for part in name.split("/")):
        raise LabelRefused("Each part of a nested label needs a name (“Projects/Tern”).")
    if len(name) > 225:
        raise LabelRefused("A label name has at most 225 characters.")
    clash = Label.objects.filter(account=account, name__iexact=name)
    if current is not None:
        clash = clash.exclude(pk=current.pk)
    if clash.exists():
        raise LabelRefused("A label with this name exists already.")
    return name


def _colour_body(colour: str) -> Json:
    if not colour:
        return {}
    chosen = COLOURS.get(colour.lower())
    if chosen is None:
        raise LabelRefused("Choose one of the colours offered.")
    return {"color": {"backgroundColor": chosen.background, "textColor": chosen.text}}
