from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

from accounts.models import User


class AuthenticatedHttpRequest(HttpRequest):
    """The request of a view behind `login_required`: its user is signed in."""

    user: User
    htmx: HtmxDetails  # django_htmx.middleware.HtmxMiddleware


def posted_id(request: HttpRequest, field: str) -> int:
    """A row id from a form field, or 0 for a missing or unreadable one: no row has id 0,
    so the user-scoped getter it is passed to answers 404, as for another user's id."""
    try:
        return int(request.POST.get(field) or "")
    except ValueError:
        return 0
