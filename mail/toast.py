"""The toast: one short line at the bottom left of the page after an action, with Undo
when the action can be undone ("Conversation archived. Undo").

A view that answers an htmx request renders `mail/_toast.html` with `toast` and
`oob=True` beside its fragment, which replaces the page's `#toast` region. A view that
redirects (a plain form, without JavaScript) calls `toast_after_redirect`, and the next
page shows it: `toast_pop` is the context processor that hands it to base.html.

Undo is a plain POST form: `undo_url` is the view that undoes the action and
`undo_fields` its hidden inputs (each feature owns its own undo view).
"""

from dataclasses import asdict, dataclass, field

from django.http import HttpRequest

SESSION_KEY = "tern_toast"


@dataclass(frozen=True)
class Toast:
    text: str  # what happened, in plain words: "Conversation archived."
    undo_url: str = ""  # POST here to undo it; empty: nothing to undo
    undo_fields: dict[str, str] = field(default_factory=dict)
    is_error: bool = False


def toast_after_redirect(request: HttpRequest, toast: Toast) -> None:
    """Show `toast` on the next page this browser loads."""
    request.session[SESSION_KEY] = asdict(toast)


def toast_pop(request: HttpRequest) -> dict[str, Toast | None]:
    """Context processor: the toast waiting for this page, if any (shown once)."""
    session = getattr(request, "session", None)
    if session is None or SESSION_KEY not in session:
        return {"toast": None}
    return {"toast": Toast(**session.pop(SESSION_KEY))}
