"""The Gmail API's request pipeline: route, authenticate, scope, charge, fault, run.

Every call, whether it came alone, in a batch or as an upload, goes through
``execute`` and so is authenticated, charged and faulted on its own.
"""

import asyncio
import json
import logging
import urllib.parse
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import discovery, errors, fields, quota
from .gmail_methods import HANDLERS, Ctx

log = logging.getLogger("emulator.api")
JSON_TYPE = "application/json; charset=UTF-8"


@dataclass
class ApiCall:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes = b""
    base_url: str = ""
    upload: bool = False


@dataclass
class ApiResult:
    status: int
    body: dict | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> bytes:
        return b"" if self.body is None else json.dumps(self.body, ensure_ascii=False).encode()


def _bearer(call: ApiCall) -> str:
    header = call.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return dict(call.query).get("access_token", "") or dict(call.query).get("oauth_token", "")


def execute(emulator, call: ApiCall) -> ApiResult:
    route, path_params = discovery.match(call.method, call.path, upload=call.upload)
    if route is None:
        return ApiResult(404, errors.not_found().body())
    with emulator.lock:
        try:
            token = _authenticate(emulator, call, route)
        except errors.GoogleError as exc:
            return _error(exc)
        units = 0
        try:
            mailbox = _mailbox_for(emulator, path_params.pop("userId"), token.email)
            _check_lockout(emulator, token.email, route)
            units = _charge(emulator, token.email, route)
            fault = emulator.faults.api_error(route.method_id)
            if fault is not None:
                raise fault
            body = _run(
                route,
                Ctx(emulator, mailbox, token, path_params, call.query, call.body, call.base_url),
            )
        except errors.GoogleError as exc:
            emulator.stats.count_call(token.email, route.method_id, units=units, failed=True)
            return _error(exc)
        except Exception:
            # An emulator bug must look like a Google 500, not break a whole batch.
            log.exception("%s failed", route.method_id)
            return _error(errors.backend_error(500))
        emulator.stats.count_call(token.email, route.method_id, units=units, failed=False)
    return ApiResult(204) if body is None else ApiResult(200, body)


def _error(exc: errors.GoogleError) -> ApiResult:
    return ApiResult(exc.code, exc.body(), dict(exc.headers))


def _authenticate(emulator, call: ApiCall, route: discovery.ApiRoute):
    token = emulator.identities.live_access_token(_bearer(call))
    if token is None:
        raise errors.unauthenticated()
    if not token.scopes & route.scopes:
        raise errors.insufficient_scope()
    return token


def _check_lockout(emulator, email: str, route: discovery.ApiRoute) -> None:
    """A locked-out user's every call is refused (not charged); a call of a user who is
    not locked out may start a lockout (a refused call never renews one: Gmail's
    "Retry after" time holds)."""
    now = emulator.clock.now()
    emulator.lockouts.check(email, now=now)
    status = emulator.faults.lockout_roll(route.method_id)
    if status is not None:
        emulator.lockouts.start(email, until=now + emulator.faults.lockout_s, status=status)
        emulator.lockouts.check(email, now=now)


def caller_of(emulator, call: ApiCall) -> str | None:
    """The address whose live token the call carries (None: it will be refused)."""
    with emulator.lock:
        token = emulator.identities.live_access_token(_bearer(call))
    return token.email if token is not None else None


def refused_for_concurrency(emulator, email: str, call: ApiCall) -> ApiResult:
    """Gmail's answer to a call beyond the user's in-flight limit (counted, not charged)."""
    route, _ = discovery.match(call.method, call.path, upload=call.upload)
    with emulator.lock:
        if route is not None:
            emulator.stats.count_call(email, route.method_id, units=0, failed=True)
    return _error(errors.too_many_concurrent_requests())


def _charge(emulator, email: str, route: discovery.ApiRoute) -> int:
    units = quota.cost_of(route.method_id)
    quota.check_and_charge(
        emulator.quota,
        email=email,
        units=units,
        config=emulator.config,
        now=emulator.clock.now(),
    )
    return units


def _run(route: discovery.ApiRoute, ctx: Ctx) -> dict | None:
    handler = HANDLERS.get(route.short_id)
    if handler is None:
        raise errors.not_implemented(route.method_id)
    body = handler(ctx)
    selector = ctx.arg("fields")
    if body is not None and selector:
        body = fields.select(body, selector)
    return body


def _mailbox_for(emulator, user_id: str, email: str):
    user_id = urllib.parse.unquote(user_id)
    if user_id != "me" and user_id.lower() != email:
        raise errors.forbidden(f"Delegation denied for {email}")
    mailbox = emulator.mailbox(email)
    if mailbox is None:
        raise errors.unauthenticated()
    if not emulator.identities.users[mailbox.email].gmail:
        # A Google account without Gmail: the token is good, every method refuses.
        raise errors.failed_precondition("Mail service not enabled")
    return mailbox


async def add_latency(emulator) -> None:
    delay = emulator.faults.latency_ms
    if delay:
        await asyncio.sleep(delay / 1000)


def to_response(result: ApiResult) -> Response:
    if result.status == 204:
        return Response(status_code=204, headers=result.headers)
    return Response(
        result.encode(), status_code=result.status, headers=result.headers, media_type=JSON_TYPE
    )


async def api_endpoint(request: Request) -> Response:
    emulator = request.app.state.emulator
    call = ApiCall(
        method=request.method,
        path=request.url.path,
        query=list(request.query_params.multi_items()),
        headers={k.lower(): v for k, v in request.headers.items()},
        body=await request.body(),
        base_url=str(request.base_url).rstrip("/"),
    )
    email = caller_of(emulator, call)
    limit = emulator.config.concurrent_requests_per_user
    # The counter the slot was taken from: a reset meanwhile starts a new one, which
    # this call's release must not short of a slot.
    in_flight = emulator.in_flight
    if email is not None and not in_flight.admit(email, limit=limit):
        return to_response(refused_for_concurrency(emulator, email, call))
    try:
        await add_latency(emulator)
        return to_response(execute(emulator, call))
    finally:
        if email is not None:
            in_flight.release(email)


async def unknown_method(request: Request) -> JSONResponse:
    return JSONResponse(errors.not_found().body(), status_code=404)


METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
routes = [
    Route("/gmail/v1/{rest:path}", api_endpoint, methods=METHODS),
]
