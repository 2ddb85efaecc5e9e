"""Media uploads for messages.send/insert/import and drafts: media, multipart, resumable."""

import json
import secrets
import urllib.parse

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import discovery, errors, mime, multipart
from .gmail_api import ApiCall, add_latency, execute, to_response


def _api_path(path: str) -> str:
    return "/upload/" + path.split("/upload/", 1)[1]


def _with_raw(method_id: str, metadata: dict, raw: bytes) -> bytes:
    """Put the uploaded message where the JSON body would carry it."""
    encoded = mime.b64url(raw)
    if ".drafts." in method_id:
        message = dict(metadata.get("message") or {})
        message["raw"] = encoded
        metadata = {**metadata, "message": message}
    else:
        metadata = {**metadata, "raw": encoded}
    return json.dumps(metadata).encode()


def _metadata(body: bytes) -> dict:
    if not body.strip():
        return {}
    try:
        found = json.loads(body)
    except ValueError as exc:
        raise errors.invalid_argument("Invalid JSON payload received.") from exc
    return found if isinstance(found, dict) else {}


def _simple_body(method_id: str, upload_type: str, content_type: str, body: bytes) -> bytes:
    if upload_type == "media":
        return _with_raw(method_id, {}, body)
    if upload_type == "multipart":
        boundary = multipart.boundary_of(content_type)
        parts = multipart.split(body, boundary) if boundary else []
        if len(parts) != 2:
            raise errors.invalid_argument("Multipart upload needs a metadata part and a media part")
        return _with_raw(method_id, _metadata(parts[0][1]), parts[1][1])
    raise errors.invalid_argument(f"Invalid uploadType: {upload_type}")


def _error(exc: errors.GoogleError) -> Response:
    return Response(json.dumps(exc.body()), exc.code, media_type="application/json")


async def upload_endpoint(request: Request) -> Response:
    emulator = request.app.state.emulator
    await add_latency(emulator)
    path = _api_path(request.url.path)
    params = request.query_params
    upload_type = params.get("uploadType") or (
        "resumable" if request.url.path.startswith("/resumable/") else "media"
    )
    query = [(k, v) for k, v in params.multi_items() if k not in ("uploadType", "upload_id")]
    headers = {k.lower(): v for k, v in request.headers.items()}
    base = str(request.base_url).rstrip("/")
    body = await request.body()
    try:
        if upload_type == "resumable":
            session_id = params.get("upload_id")
            if session_id is None:
                return _start_session(emulator, request.method, path, query, body, base)
            return _continue_session(emulator, session_id, headers, body, base)
        route, _ = discovery.match(request.method, path, upload=True)
        if route is None:
            raise errors.not_found()
        content_type = headers.get("content-type", "")
        payload = _simple_body(route.method_id, upload_type, content_type, body)
    except errors.GoogleError as exc:
        return _error(exc)
    call = ApiCall(request.method, path, query, headers, payload, base, upload=True)
    return to_response(execute(emulator, call))


def _start_session(emulator, method: str, path: str, query, body: bytes, base: str) -> Response:
    """A resumable upload starts with the metadata; the answer's Location takes the bytes."""
    if discovery.match(method, path, upload=True)[0] is None:
        raise errors.not_found()
    session_id = secrets.token_urlsafe(24)
    with emulator.lock:
        emulator.uploads[session_id] = {
            "method": method,
            "path": path,
            "query": query,
            "metadata": _metadata(body),
            "data": b"",
        }
    location = urllib.parse.urlencode(
        [*query, ("uploadType", "resumable"), ("upload_id", session_id)]
    )
    return Response(status_code=200, headers={"Location": f"{base}{path}?{location}"})


def _continue_session(emulator, session_id: str, headers: dict, body: bytes, base: str):
    with emulator.lock:
        session = emulator.uploads.get(session_id)
        if session is None:
            raise errors.not_found()
        session["data"] += body
        total = _total_size(headers.get("content-range", ""))
        if total is not None and len(session["data"]) < total:
            received = f"bytes=0-{len(session['data']) - 1}"
            return Response(status_code=308, headers={"Range": received})
        del emulator.uploads[session_id]
    route, _ = discovery.match(session["method"], session["path"], upload=True)
    payload = _with_raw(route.method_id, session["metadata"], session["data"])
    call = ApiCall(
        session["method"], session["path"], session["query"], headers, payload, base, upload=True
    )
    return to_response(execute(emulator, call))


def _total_size(content_range: str) -> int | None:
    # "bytes 0-99/1000", or "bytes */1000" when asking for the status.
    _, _, total = content_range.rpartition("/")
    return int(total) if total.isdigit() else None


routes = [
    Route("/upload/gmail/v1/{rest:path}", upload_endpoint, methods=["POST", "PUT"]),
    Route("/resumable/upload/gmail/v1/{rest:path}", upload_endpoint, methods=["POST", "PUT"]),
]
