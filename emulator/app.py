"""The ASGI application: every Google endpoint and the control API on one base URL."""

import contextlib
import html
import logging

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

from . import batch, control, gmail_api, oauth, upload
from .state import Emulator

log = logging.getLogger("emulator")


class CountRequests:
    """Counts every HTTP request, so the emulator can report its own throughput."""

    def __init__(self, app, emulator: Emulator) -> None:
        self.app, self.emulator = app, emulator

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            self.emulator.stats.count_request()
        await self.app(scope, receive, send)


async def index(request: Request) -> HTMLResponse:
    emulator = request.app.state.emulator
    with emulator.lock:
        users = [(i.name, i.email) for i in emulator.identities.users.values()]
    items = "".join(f"<li>{html.escape(f'{name} <{email}>')}</li>" for name, email in users)
    return HTMLResponse(
        "<!doctype html><title>Google emulator</title><h1>Google emulator</h1>"
        f"<p>Users:</p><ul>{items or '<li>none</li>'}</ul>"
        '<p>See <a href="/_emulator/stats">stats</a> and docs/emulator.md.</p>'
    )


async def not_found(request: Request, exc) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": 404, "message": "Not Found", "status": "NOT_FOUND"}},
        status_code=404,
    )


def create_app(emulator: Emulator, *, background=()) -> Starlette:
    """``background``: callables started with the app, each answering an asyncio task."""

    @contextlib.asynccontextmanager
    async def lifespan(app):
        await emulator.pusher.start()
        tasks = [start() for start in background]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await emulator.pusher.stop()

    # The Gmail API first: it carries nearly all the traffic, and routes match in order.
    routes = [
        *gmail_api.routes,
        *upload.routes,
        *batch.routes,
        *oauth.routes,
        *control.routes,
        Route("/", index, methods=["GET"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={404: not_found})
    app.state.emulator = emulator
    app.add_middleware(CountRequests, emulator=emulator)
    return app
