from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

from accounts.models import User


class AuthenticatedHttpRequest(HttpRequest):
    """The request of a view behind `login_required`: its user is signed in."""

    user: User
    htmx: HtmxDetails  # django_htmx.middleware.HtmxMiddleware
