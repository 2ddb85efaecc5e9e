"""Request bodies are refused above a limit before they are read (ASGI middleware).

Without this the server reads a whole body into memory before Django sees it: eight
parallel 50 MB POSTs grew a web process by 350 MB, for good. The limit is checked on
`Content-Length` before a byte is read, and on the streamed size of a body sent without
one (chunked). The longest matching path prefix of REQUEST_BODY_LIMITS decides; the
proxy in front of Tern should refuse the same (docs/deployment.md).
"""

from django.conf import settings

TOO_LARGE = b"Request body too large.\n"


class BodyLimitMiddleware:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = body_limit(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            return await _refuse(send)
        seen = 0
        refused = False

        async def limited_receive():
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # Django then stops reading and sends nothing; we answer instead.
                    refused = True
                    return {"type": "http.disconnect"}
            return message

        await self.app(scope, limited_receive, send)
        if refused:
            await _refuse(send)


def body_limit(path):
    limits = settings.REQUEST_BODY_LIMITS
    prefix = max((p for p in limits if path.startswith(p)), key=len, default="")
    return limits.get(prefix, settings.REQUEST_BODY_LIMIT_DEFAULT)


def _content_length(scope):
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send):
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(TOO_LARGE)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": TOO_LARGE})
