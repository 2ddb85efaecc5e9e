"""ASGI entry point: HTTP goes to Django (bodies over their limit refused first, see
config/limits.py), WebSocket to Channels (session-authenticated)."""

import os

from django.core.asgi import get_asgi_application

# The Procfile's processes run production settings unless told otherwise: forgetting
# the variable must never start a server with DEBUG on and development secrets.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

# Django must be set up before anything imports models (consumers, auth middleware).
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from config.limits import BodyLimitMiddleware  # noqa: E402
from mail.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": BodyLimitMiddleware(django_asgi_app),
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
