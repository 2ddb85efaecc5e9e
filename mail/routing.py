"""WebSocket routes. The live-update consumer at /ws/mail/ arrives with the realtime issue."""

from django.urls import URLPattern, URLResolver

websocket_urlpatterns: list[URLPattern | URLResolver] = []
