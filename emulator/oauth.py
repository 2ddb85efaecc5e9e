"""OAuth 2.0 and OpenID Connect as accounts.google.com and oauth2.googleapis.com serve them."""

import asyncio
import base64
import hashlib
import html
import time
import urllib.parse

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from .identities import IDENTITY_SCOPES, SCOPE_ALIASES, AccessToken, normalize_scopes

AUTH_PARAMS = (
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "access_type",
    "prompt",
    "login_hint",
    "code_challenge",
    "code_challenge_method",
    "nonce",
    "include_granted_scopes",
)
NO_STORE = {"Cache-Control": "no-cache, no-store, max-age=0, must-revalidate", "Pragma": "no-cache"}


class PageError(Exception):
    """An authorization request too broken to redirect back: Google shows an error page."""

    def __init__(self, status: int, error: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.error, self.detail = status, error, detail


class RedirectError(Exception):
    """An authorization error reported to the client through its redirect_uri."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


async def form_data(request: Request) -> dict[str, str]:
    """The urlencoded body. (Starlette's own form parser needs python-multipart.)"""
    body = (await request.body()).decode("utf-8", "replace")
    return dict(urllib.parse.parse_qsl(body, keep_blank_values=True))


def _emulator(request: Request):
    return request.app.state.emulator


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _token_error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse(
        {"error": error, "error_description": description}, status_code=status, headers=NO_STORE
    )


def _redirect(redirect_uri: str, params: dict) -> RedirectResponse:
    separator = "&" if urllib.parse.urlsplit(redirect_uri).query else "?"
    query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
    return RedirectResponse(f"{redirect_uri}{separator}{query}", status_code=302)


# --- the authorization endpoint ---------------------------------------------------------


def _check_authorization(emulator, params: dict) -> dict:
    config = emulator.config
    if not params.get("client_id"):
        raise PageError(400, "invalid_request", "Missing required parameter: client_id")
    if config.client_id and params["client_id"] != config.client_id:
        raise PageError(401, "invalid_client", "The OAuth client was not found.")
    if not params.get("redirect_uri"):
        raise PageError(400, "invalid_request", "Missing required parameter: redirect_uri")
    if params.get("response_type") != "code":
        raise RedirectError("unsupported_response_type")
    if not params.get("scope"):
        raise PageError(400, "invalid_request", "Missing required parameter: scope")
    method = params.get("code_challenge_method") or "plain"
    if params.get("code_challenge") and method not in ("S256", "plain"):
        raise PageError(400, "invalid_request", "Invalid code_challenge_method")
    if params.get("access_type", "online") not in ("online", "offline"):
        raise PageError(400, "invalid_request", "Invalid access_type")
    return params


async def authorize(request: Request) -> Response:
    emulator = _emulator(request)
    params = {k: request.query_params[k] for k in AUTH_PARAMS if k in request.query_params}
    with emulator.lock:
        try:
            _check_authorization(emulator, params)
        except PageError as exc:
            return _error_page(exc)
        except RedirectError as exc:
            return _redirect(
                params["redirect_uri"], {"error": exc.error, "state": params.get("state")}
            )
        chosen = _auto_consent_user(emulator, params)
        if chosen is not None:
            return _approve(emulator, params, chosen)
        users = list(emulator.identities.users.values())
    return HTMLResponse(_consent_page(params, users))


def _auto_consent_user(emulator, params: dict) -> str | None:
    if not emulator.config.auto_consent:
        return None
    users = emulator.identities.users
    hint = params.get("login_hint", "").strip().lower()
    if hint in users:
        return hint
    if not hint and len(users) == 1:
        return next(iter(users))
    return None


async def consent(request: Request) -> Response:
    """The consent form posts here: one button per user, and a deny button."""
    emulator = _emulator(request)
    form = await form_data(request)
    params = {k: form[k] for k in AUTH_PARAMS if form.get(k)}
    with emulator.lock:
        try:
            _check_authorization(emulator, params)
        except PageError as exc:
            return _error_page(exc)
        except RedirectError as exc:
            return _redirect(
                params["redirect_uri"], {"error": exc.error, "state": params.get("state")}
            )
        if form.get("deny"):
            return _redirect(
                params["redirect_uri"], {"error": "access_denied", "state": params.get("state")}
            )
        email = str(form.get("email", "")).strip().lower()
        if email not in emulator.identities.users:
            return _error_page(PageError(400, "invalid_request", f"No such user: {email}"))
        return _approve(emulator, params, email)


def _approve(emulator, params: dict, email: str) -> Response:
    identities, config = emulator.identities, emulator.config
    identities.expire_refresh_tokens(config.refresh_token_ttl_s)
    scopes = normalize_scopes(params["scope"])
    offline = params.get("access_type") == "offline"
    key = (email, params["client_id"])
    if params.get("include_granted_scopes") == "true" and key in identities.offline_grants:
        scopes = scopes | identities.offline_grants[key]
    # Google sends a refresh token on the first offline consent, or when asked to show
    # the consent screen again (prompt=consent); otherwise the client keeps its old one.
    force = "consent" in params.get("prompt", "").split() or key not in identities.offline_grants
    code = identities.new_code(
        email=email,
        client_id=params["client_id"],
        redirect_uri=params["redirect_uri"],
        scopes=scopes,
        offline=offline,
        force_refresh_token=force,
        code_challenge=params.get("code_challenge"),
        code_challenge_method=params.get("code_challenge_method") or "plain",
        nonce=params.get("nonce"),
        expires_at=emulator.clock.now() + config.code_ttl_s,
    )
    return _redirect(
        params["redirect_uri"],
        {
            "state": params.get("state"),
            "code": code.code,
            "scope": " ".join(sorted(scopes)),
            "authuser": "0",
            "prompt": "consent",
        },
    )


def _error_page(exc: PageError) -> HTMLResponse:
    body = (
        "<!doctype html><title>Error</title><h1>Access blocked: authorization error</h1>"
        f"<p>Error {exc.status}: {html.escape(exc.error)}</p><p>{html.escape(exc.detail)}</p>"
    )
    return HTMLResponse(body, status_code=exc.status)


def _consent_page(params: dict, users: list) -> str:
    hidden = "".join(
        f'<input type="hidden" name="{k}" value="{html.escape(v)}">' for k, v in params.items()
    )
    hint = params.get("login_hint", "").lower()
    buttons = (
        "".join(
            f'<li><button type="submit" name="email" value="{html.escape(u.email)}"'
            f"{' autofocus' if u.email == hint else ''}>"
            f"<strong>{html.escape(u.name)}</strong> <span>{html.escape(u.email)}</span>"
            "</button></li>"
            for u in users
        )
        or "<li>No users yet. Create one with <code>POST /_emulator/users</code>.</li>"
    )
    scopes = "".join(
        f"<li>{html.escape(s)}</li>" for s in sorted(normalize_scopes(params["scope"]))
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in - Google Accounts (emulator)</title>
<style>body{{font:16px system-ui,sans-serif;max-width:32rem;margin:3rem auto;color:#202124}}
ul{{list-style:none;padding:0}} li{{margin:.4rem 0}}
button{{width:100%;text-align:left;padding:.7rem 1rem;border:1px solid #dadce0;
border-radius:8px;background:#fff;cursor:pointer;font:inherit}}
button span{{color:#5f6368;margin-left:.5rem}} .deny{{width:auto;margin-top:1rem}}
.scopes{{font-size:.85rem;color:#5f6368}}</style></head>
<body><h1>Choose an account</h1>
<p>to continue to <code>{html.escape(params["client_id"])}</code> (Google emulator)</p>
<form method="post" action="/o/oauth2/v2/auth/consent">{hidden}
<ul class="users">{buttons}</ul>
<p>This app wants to:</p><ul class="scopes">{scopes}</ul>
<button type="submit" name="deny" value="1" class="deny">Cancel</button>
</form></body></html>"""


# --- the token endpoint -----------------------------------------------------------------


def _client_credentials(request: Request, form) -> tuple[str | None, str | None]:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:]).decode()
        except ValueError:
            return None, None
        client_id, _, secret = decoded.partition(":")
        return urllib.parse.unquote(client_id), urllib.parse.unquote(secret)
    return form.get("client_id"), form.get("client_secret")


async def token(request: Request) -> Response:
    emulator = _emulator(request)
    form = await form_data(request)
    status, latency_ms = emulator.faults.token_fault()
    if latency_ms:
        await asyncio.sleep(latency_ms / 1000)
    if status is not None:
        return _token_error(status, "internal_failure", "Backend Error")
    client_id, client_secret = _client_credentials(request, form)
    config = emulator.config
    if not client_id:
        return _token_error(400, "invalid_request", "Missing required parameter: client_id")
    if config.client_id and client_id != config.client_id:
        return _token_error(401, "invalid_client", "The OAuth client was not found.")
    if config.client_secret and client_secret != config.client_secret:
        return _token_error(401, "invalid_client", "Unauthorized")
    grant_type = form.get("grant_type")
    with emulator.lock:
        if grant_type == "authorization_code":
            return _exchange_code(request, emulator, form, client_id)
        if grant_type == "refresh_token":
            return _refresh(request, emulator, form, client_id)
    return _token_error(400, "unsupported_grant_type", f"Invalid grant_type: {grant_type}")


def _exchange_code(request: Request, emulator, form, client_id: str) -> Response:
    identities = emulator.identities
    code = identities.codes.get(form.get("code", ""))
    if code is None:
        return _token_error(400, "invalid_grant", "Malformed auth code.")
    if code.used or code.expires_at <= emulator.clock.now() or code.client_id != client_id:
        # A code works once; a replay is refused like an expired one.
        return _token_error(400, "invalid_grant", "Bad Request")
    if form.get("redirect_uri") != code.redirect_uri:
        return _token_error(400, "redirect_uri_mismatch", "Bad Request")
    if code.code_challenge:
        verifier = form.get("code_verifier")
        if not verifier:
            return _token_error(400, "invalid_grant", "Missing code verifier.")
        if _challenge(verifier, code.code_challenge_method) != code.code_challenge:
            return _token_error(400, "invalid_grant", "Invalid code verifier.")
    code.used = True
    if code.email not in identities.users:
        return _token_error(400, "invalid_grant", "Bad Request")
    refresh = None
    if code.offline and code.force_refresh_token:
        refresh = identities.issue_refresh_token(
            email=code.email, client_id=client_id, scopes=code.scopes
        )
    access = identities.issue_access_token(
        email=code.email,
        client_id=client_id,
        scopes=code.scopes,
        ttl=emulator.config.token_ttl_s,
        refresh_token=refresh.token if refresh else None,
    )
    body = _token_body(request, emulator, access, nonce=code.nonce)
    if refresh:
        body["refresh_token"] = refresh.token
    return JSONResponse(body, headers=NO_STORE)


def _refresh(request: Request, emulator, form, client_id: str) -> Response:
    identities = emulator.identities
    identities.expire_refresh_tokens(emulator.config.refresh_token_ttl_s)
    grant = identities.refresh_tokens.get(form.get("refresh_token", ""))
    if grant is None or grant.client_id != client_id:
        return _token_error(400, "invalid_grant", "Token has been expired or revoked.")
    scopes = grant.scopes
    if form.get("scope"):
        scopes = normalize_scopes(form["scope"])
        if not scopes <= grant.scopes:
            return _token_error(400, "invalid_scope", "Some requested scopes were invalid.")
    access = identities.issue_access_token(
        email=grant.email,
        client_id=client_id,
        scopes=scopes,
        ttl=emulator.config.token_ttl_s,
        refresh_token=grant.token,
    )
    return JSONResponse(_token_body(request, emulator, access, nonce=None), headers=NO_STORE)


def _challenge(verifier: str, method: str) -> str:
    if method == "S256":
        digest = hashlib.sha256(verifier.encode()).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")
    return verifier


def _token_body(request: Request, emulator, access: AccessToken, *, nonce: str | None) -> dict:
    body = {
        "access_token": access.token,
        "expires_in": emulator.config.token_ttl_s,
        "scope": " ".join(sorted(access.scopes)),
        "token_type": "Bearer",
    }
    if access.scopes & IDENTITY_SCOPES:
        body["id_token"] = id_token(request, emulator, access, nonce=nonce)
    return body


def id_token(request: Request, emulator, access: AccessToken, *, nonce: str | None) -> str:
    """An RS256 ID token with Google's claims. Times are real time (clients check them)."""
    identity = emulator.identities.users[access.email]
    now = int(time.time())
    digest = hashlib.sha256(access.token.encode()).digest()[:16]
    claims = {
        "iss": emulator.config.issuer,
        "azp": access.client_id,
        "aud": access.client_id,
        "sub": identity.sub,
        "at_hash": base64.urlsafe_b64encode(digest).decode().rstrip("="),
        "iat": now,
        "exp": now + 3600,
    }
    if SCOPE_ALIASES["email"] in access.scopes:
        claims.update(email=identity.email, email_verified=identity.email_verified)
    if SCOPE_ALIASES["profile"] in access.scopes:
        claims.update(_profile(request, identity))
    if nonce:
        claims["nonce"] = nonce
    return emulator.key.sign(claims)


def _profile(request: Request, identity) -> dict:
    return {
        "name": identity.name,
        "picture": f"{base_url(request)}/_emulator/avatars/{identity.sub}.svg",
        "given_name": identity.given_name,
        "family_name": identity.family_name,
    }


# --- userinfo, tokeninfo, revoke, certs, discovery --------------------------------------


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.query_params.get("access_token", "")


async def userinfo(request: Request) -> Response:
    emulator = _emulator(request)
    with emulator.lock:
        access = emulator.identities.live_access_token(_bearer(request))
        if access is None or not access.scopes & IDENTITY_SCOPES:
            return JSONResponse(
                {"error": "invalid_request", "error_description": "Invalid Credentials"},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'},
            )
        identity = emulator.identities.users[access.email]
    body = {"sub": identity.sub}
    if SCOPE_ALIASES["profile"] in access.scopes:
        body.update(_profile(request, identity))
    if SCOPE_ALIASES["email"] in access.scopes:
        body.update(email=identity.email, email_verified=identity.email_verified)
    if request.url.path.startswith(("/oauth2/v2/", "/oauth2/v1/")):
        # The older userinfo shape: "id" and "verified_email".
        body["id"] = body.pop("sub")
        if "email_verified" in body:
            body["verified_email"] = body.pop("email_verified")
    return JSONResponse(body)


async def tokeninfo(request: Request) -> Response:
    emulator = _emulator(request)
    params = dict(request.query_params)
    if request.method == "POST":
        params.update(await form_data(request))
    with emulator.lock:
        access = emulator.identities.live_access_token(params.get("access_token", ""))
        if access is None:
            return _token_error(400, "invalid_token", "Invalid Value")
        identity = emulator.identities.users[access.email]
        remaining = int(access.expires_at - emulator.clock.now())
    body = {
        "azp": access.client_id,
        "aud": access.client_id,
        "sub": identity.sub,
        "scope": " ".join(sorted(access.scopes)),
        "exp": str(int(time.time()) + remaining),
        "expires_in": str(remaining),
        "access_type": "offline" if access.refresh_token else "online",
    }
    if SCOPE_ALIASES["email"] in access.scopes:
        body.update(email=identity.email, email_verified=str(identity.email_verified).lower())
    return JSONResponse(body)


async def revoke(request: Request) -> Response:
    emulator = _emulator(request)
    value = request.query_params.get("token")
    if value is None and request.method == "POST":
        value = (await form_data(request)).get("token")
    with emulator.lock:
        revoked = emulator.identities.revoke_token(value or "")
    if not revoked:
        return _token_error(400, "invalid_token", "Token expired or revoked")
    return JSONResponse({})


async def certs_jwks(request: Request) -> Response:
    return JSONResponse(
        _emulator(request).key.jwks(), headers={"Cache-Control": "public, max-age=300"}
    )


async def certs_pem(request: Request) -> Response:
    return JSONResponse(
        _emulator(request).key.pem_certificates(),
        headers={"Cache-Control": "public, max-age=300"},
    )


async def openid_configuration(request: Request) -> Response:
    base = base_url(request)
    return JSONResponse(
        {
            "issuer": _emulator(request).config.issuer,
            "authorization_endpoint": f"{base}/o/oauth2/v2/auth",
            "token_endpoint": f"{base}/token",
            "userinfo_endpoint": f"{base}/oauth2/v3/userinfo",
            "revocation_endpoint": f"{base}/revoke",
            "jwks_uri": f"{base}/oauth2/v3/certs",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "claims_supported": [
                "aud",
                "email",
                "email_verified",
                "exp",
                "family_name",
                "given_name",
                "iat",
                "iss",
                "name",
                "picture",
                "sub",
            ],
            "code_challenge_methods_supported": ["plain", "S256"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
        }
    )


routes = [
    Route("/o/oauth2/v2/auth", authorize, methods=["GET"]),
    Route("/o/oauth2/auth", authorize, methods=["GET"]),
    Route("/o/oauth2/v2/auth/consent", consent, methods=["POST"]),
    Route("/token", token, methods=["POST"]),
    Route("/o/oauth2/token", token, methods=["POST"]),
    Route("/oauth2/v4/token", token, methods=["POST"]),
    Route("/oauth2/v3/userinfo", userinfo, methods=["GET", "POST"]),
    Route("/oauth2/v2/userinfo", userinfo, methods=["GET", "POST"]),
    Route("/oauth2/v1/userinfo", userinfo, methods=["GET", "POST"]),
    Route("/v1/userinfo", userinfo, methods=["GET", "POST"]),
    Route("/oauth2/v3/tokeninfo", tokeninfo, methods=["GET", "POST"]),
    Route("/oauth2/v3/certs", certs_jwks, methods=["GET"]),
    Route("/oauth2/v1/certs", certs_pem, methods=["GET"]),
    Route("/revoke", revoke, methods=["POST", "GET"]),
    Route("/o/oauth2/revoke", revoke, methods=["POST", "GET"]),
    Route("/.well-known/openid-configuration", openid_configuration, methods=["GET"]),
]
