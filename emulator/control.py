"""The control API under /_emulator/: what tests and demos arrange, Google has no twin of."""

import html
import json
import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .faults import Faults

log = logging.getLogger("emulator")


def _emulator(request: Request):
    return request.app.state.emulator


def _problem(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _json(request: Request) -> dict:
    raw = await request.body()
    if not raw.strip():
        return {}
    body = json.loads(raw)
    if not isinstance(body, dict):
        raise ValueError("expected a JSON object")
    return body


def _mailbox_or_404(request: Request):
    mailbox = _emulator(request).mailbox(request.path_params["email"])
    if mailbox is None:
        return None, _problem(404, "no such user")
    return mailbox, None


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def reset(request: Request) -> Response:
    _emulator(request).reset()
    return JSONResponse({"status": "reset"})


async def create_user(request: Request) -> Response:
    emulator = _emulator(request)
    try:
        body = await _json(request)
        email, name = str(body["email"]), str(body.get("name") or body["email"].split("@")[0])
        options = {
            "email_verified": bool(body.get("email_verified", True)),
            "gmail": bool(body.get("gmail", True)),
        }
        if body.get("sub"):
            options["sub"] = str(body["sub"])
    except (ValueError, KeyError, AttributeError):
        return _problem(400, 'expected {"email": ..., "name": ...}')
    if "@" not in email:
        return _problem(400, "invalid email")
    try:
        identity = emulator.add_user(email, name, **options)
    except ValueError as exc:
        return _problem(409, str(exc))
    with emulator.lock:
        history_id = emulator.mailbox(email).history_id
    return JSONResponse(
        {
            "email": identity.email,
            "name": identity.name,
            "sub": identity.sub,
            "gmail": identity.gmail,
            "historyId": str(history_id),
        },
        status_code=201,
    )


async def list_users(request: Request) -> Response:
    emulator = _emulator(request)
    with emulator.lock:
        users = [
            {"email": i.email, "name": i.name, "sub": i.sub, "gmail": i.gmail}
            for i in emulator.identities.users.values()
        ]
    return JSONResponse({"users": users})


async def user_state(request: Request) -> Response:
    emulator = _emulator(request)
    with emulator.lock:
        mailbox, problem = _mailbox_or_404(request)
        return problem or JSONResponse(mailbox.state())


async def expire_history(request: Request) -> Response:
    emulator = _emulator(request)
    with emulator.lock:
        mailbox, problem = _mailbox_or_404(request)
        if problem:
            return problem
        mailbox.expire_history()
        return JSONResponse({"historyId": str(mailbox.history_id)})


async def expire_page_tokens(request: Request) -> Response:
    """Every page token the user's listings handed out so far is refused from now on."""
    emulator = _emulator(request)
    with emulator.lock:
        mailbox, problem = _mailbox_or_404(request)
        if problem:
            return problem
        emulator.page_tokens_valid_from[mailbox.email] = emulator.clock.now_ms() + 1
    return JSONResponse({"status": "expired"})


async def lockout_user(request: Request) -> Response:
    """Lock the user out as Gmail does when its rate limit trips, for `seconds`: 429
    rateLimitExceeded "Retry after <time>", or 403 "Quota exceeded … per user"."""
    emulator = _emulator(request)
    try:
        body = await _json(request)
        seconds = float(body.get("seconds", 900))
        status = int(body.get("status", 429))
    except (ValueError, TypeError):
        return _problem(400, 'expected {"seconds": N, "status": 429|403}')
    if seconds <= 0 or status not in (429, 403):
        return _problem(400, 'expected {"seconds": N, "status": 429|403}')
    with emulator.lock:
        mailbox, problem = _mailbox_or_404(request)
        if problem:
            return problem
        until = emulator.clock.now() + seconds
        emulator.lockouts.start(mailbox.email, until=until, status=status)
    return JSONResponse({"until": until, "status": status})


async def add_send_as(request: Request) -> Response:
    """Give the user an address to send as, as they would in Gmail's settings."""
    emulator = _emulator(request)
    try:
        body = await _json(request)
        email = str(body["sendAsEmail"])
        options = {
            "display_name": str(body.get("displayName", "")),
            "reply_to": str(body.get("replyToAddress", "")),
            "signature": str(body.get("signature", "")),
            "default": bool(body.get("isDefault", False)),
        }
    except (ValueError, KeyError, AttributeError):
        return _problem(400, 'expected {"sendAsEmail": ..., "displayName": ..., ...}')
    if "@" not in email:
        return _problem(400, "invalid email")
    with emulator.lock:
        mailbox, problem = _mailbox_or_404(request)
        if problem:
            return problem
        return JSONResponse(mailbox.add_send_as(email, **options).as_json(), status_code=201)


async def revoke_user(request: Request) -> Response:
    emulator = _emulator(request)
    with emulator.lock:
        mailbox, problem = _mailbox_or_404(request)
        if problem:
            return problem
        revoked = emulator.identities.revoke_user(mailbox.email)
    return JSONResponse({"revoked": revoked})


async def user_tokens(request: Request) -> Response:
    emulator = _emulator(request)
    with emulator.lock:
        mailbox, problem = _mailbox_or_404(request)
        return problem or JSONResponse(emulator.identities.live_tokens(mailbox.email))


async def issue_tokens(request: Request) -> Response:
    """A shortcut around the consent screen for scripts and benchmarks (not Google's)."""
    emulator = _emulator(request)
    try:
        body = await _json(request)
    except ValueError:
        return _problem(400, "invalid JSON")
    scopes = frozenset(body.get("scopes") or ["https://www.googleapis.com/auth/gmail.modify"])
    client_id = body.get("client_id") or emulator.config.client_id or "emulator-client"
    with emulator.lock:
        mailbox, problem = _mailbox_or_404(request)
        if problem:
            return problem
        identities = emulator.identities
        refresh = identities.issue_refresh_token(
            email=mailbox.email, client_id=client_id, scopes=scopes
        )
        ttl = int(body.get("ttl_s") or emulator.config.token_ttl_s)
        access = identities.issue_access_token(
            email=mailbox.email,
            client_id=client_id,
            scopes=scopes,
            ttl=ttl,
            refresh_token=refresh.token,
        )
    return JSONResponse(
        {
            "access_token": access.token,
            "refresh_token": refresh.token,
            "expires_in": ttl,
            "scope": " ".join(sorted(scopes)),
            "client_id": client_id,
        },
        status_code=201,
    )


async def config(request: Request) -> Response:
    emulator = _emulator(request)
    if request.method == "PUT":
        try:
            changes = await _json(request)
            with emulator.lock:
                emulator.config.update(changes)
        except ValueError as exc:
            return _problem(400, str(exc))
    with emulator.lock:
        return JSONResponse(emulator.config.as_dict())


async def faults(request: Request) -> Response:
    emulator = _emulator(request)
    if request.method == "PUT":
        try:
            new = Faults.from_request(await _json(request))
        except (ValueError, TypeError) as exc:
            return _problem(400, str(exc))
        with emulator.lock:
            emulator.faults = new
        # The seed is printed so that a failing chaos run can be replayed.
        log.warning("faults set with seed=%s: %s", new.seed, new.as_dict())
    with emulator.lock:
        return JSONResponse(emulator.faults.as_dict())


async def stats(request: Request) -> Response:
    emulator = _emulator(request)
    with emulator.lock:
        snapshot = emulator.stats.snapshot(pending_pushes=emulator.pusher.pending)
        snapshot["faults_seed"] = emulator.faults.seed
        snapshot["concurrency"] = emulator.in_flight.as_dict()
        snapshot["lockouts"] = emulator.lockouts.as_dict(now=emulator.clock.now())
    return JSONResponse(snapshot)


async def advance_clock(request: Request) -> Response:
    emulator = _emulator(request)
    try:
        seconds = float((await _json(request))["seconds"])
    except (ValueError, KeyError, TypeError):
        return _problem(400, 'expected {"seconds": N}')
    with emulator.lock:
        emulator.clock.advance(seconds)
        offset = emulator.clock.offset
    return JSONResponse({"offset_s": offset})


async def avatar(request: Request) -> Response:
    emulator = _emulator(request)
    sub = request.path_params["sub"]
    with emulator.lock:
        names = [i.name for i in emulator.identities.users.values() if i.sub == sub]
    initial = html.escape((names[0][:1] if names else "?").upper())
    hue = sum(sub.encode()) % 360
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="96" height="96" viewBox="0 0 96 96">'
        f'<circle cx="48" cy="48" r="48" fill="hsl({hue},45%,45%)"/>'
        '<text x="48" y="62" font-size="44" text-anchor="middle" fill="#fff" '
        f'font-family="sans-serif">{initial}</text></svg>'
    )
    return Response(svg, media_type="image/svg+xml")


routes = [
    Route("/_emulator/health", health, methods=["GET"]),
    Route("/_emulator/reset", reset, methods=["POST"]),
    Route("/_emulator/users", create_user, methods=["POST"]),
    Route("/_emulator/users", list_users, methods=["GET"]),
    Route("/_emulator/users/{email}/state", user_state, methods=["GET"]),
    Route("/_emulator/users/{email}/expire-history", expire_history, methods=["POST"]),
    Route("/_emulator/users/{email}/revoke", revoke_user, methods=["POST"]),
    Route("/_emulator/users/{email}/lockout", lockout_user, methods=["POST"]),
    Route("/_emulator/users/{email}/expire-page-tokens", expire_page_tokens, methods=["POST"]),
    Route("/_emulator/users/{email}/send-as", add_send_as, methods=["POST"]),
    Route("/_emulator/users/{email}/tokens", user_tokens, methods=["GET"]),
    Route("/_emulator/users/{email}/tokens", issue_tokens, methods=["POST"]),
    Route("/_emulator/config", config, methods=["GET", "PUT"]),
    Route("/_emulator/faults", faults, methods=["GET", "PUT"]),
    Route("/_emulator/stats", stats, methods=["GET"]),
    Route("/_emulator/clock", advance_clock, methods=["POST"]),
    Route("/_emulator/avatars/{sub}.svg", avatar, methods=["GET"]),
]
