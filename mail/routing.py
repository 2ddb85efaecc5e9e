"""WebSocket routes. The live-update consumer at /ws/mail/ arrives with the realtime issue."""

websocket_urlpatterns = []
