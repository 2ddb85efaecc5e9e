"""Batch requests: multipart/mixed in, multipart/mixed out, each call run on its own.

google-api-python-client reads each response part's Content-ID and takes what follows
" + " as the request id, so every answer echoes its request's Content-ID as
``<response-...>``; the sub-response's headers must end with CRLF CRLF.
"""

import http
import secrets
import urllib.parse

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import errors, multipart
from .gmail_api import (
    ApiCall,
    ApiResult,
    add_latency,
    caller_of,
    execute,
    refused_for_concurrency,
)
from .quota import InFlight

MAX_CALLS = 100


def _parse_call(content: bytes, outer_headers: dict, base_url: str) -> ApiCall:
    text = content.decode("utf-8")
    head, _, body = text.replace("\r\n", "\n").partition("\n\n")
    request_line, _, header_text = head.partition("\n")
    method, target, *_ = request_line.split(" ")
    url = urllib.parse.urlsplit(target)
    headers = {"authorization": outer_headers.get("authorization", "")}
    headers.update(multipart.parse_headers(header_text))
    return ApiCall(
        method=method.upper(),
        path=urllib.parse.unquote(url.path),
        query=urllib.parse.parse_qsl(url.query, keep_blank_values=True),
        headers=headers,
        body=body.rstrip("\r\n").encode(),
        base_url=base_url,
    )


def _encode_part(content_id: str, result: ApiResult) -> bytes:
    inner = content_id.strip().removeprefix("<").removesuffix(">")
    lines = [
        "Content-Type: application/http",
        f"Content-ID: <response-{inner}>",
        "",
        f"HTTP/1.1 {result.status} {http.HTTPStatus(result.status).phrase}",
    ]
    body = result.encode()
    if result.body is not None:
        lines.append("Content-Type: application/json; charset=UTF-8")
    lines.extend(f"{name}: {value}" for name, value in result.headers.items())
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def batch_endpoint(request: Request) -> Response:
    emulator = request.app.state.emulator
    boundary = multipart.boundary_of(request.headers.get("content-type", ""))
    if boundary is None:
        problem = errors.invalid_argument("Batch requests must be multipart/mixed")
        return JSONResponse(problem.body(), status_code=400)
    parts = multipart.split(await request.body(), boundary)
    if len(parts) > MAX_CALLS:
        problem = errors.invalid_argument(
            f"A batch request may contain at most {MAX_CALLS} calls; this one has {len(parts)}."
        )
        return JSONResponse(problem.body(), status_code=400)
    outer = {k.lower(): v for k, v in request.headers.items()}
    base_url = str(request.base_url).rstrip("/")
    calls = [_parse_or_problem(content, outer, base_url) for _, content in parts]
    # Gmail runs a batch's calls side by side: each one takes a slot of its user's
    # in-flight limit for the whole batch, and those beyond it are refused.
    admitted: list[str] = []
    answers: list[ApiResult | None] = []
    in_flight = emulator.in_flight  # released on the same counter, whatever resets meanwhile
    for call in calls:
        answers.append(
            call if isinstance(call, ApiResult) else _admit(emulator, in_flight, call, admitted)
        )
    try:
        await add_latency(emulator)
        for index, call in enumerate(calls):
            if answers[index] is None:
                answers[index] = execute(emulator, call)
    finally:
        for email in admitted:
            in_flight.release(email)
    out_boundary = "batch_" + secrets.token_hex(12)
    chunks = []
    for index, ((headers, _), result) in enumerate(zip(parts, answers, strict=True), start=1):
        content_id = headers.get("content-id") or f"<item + {index}>"
        chunks.append(f"--{out_boundary}\r\n".encode() + _encode_part(content_id, result))
    payload = b"\r\n".join(chunks) + f"\r\n--{out_boundary}--\r\n".encode()
    return Response(payload, media_type=f"multipart/mixed; boundary={out_boundary}")


def _parse_or_problem(content: bytes, outer: dict, base_url: str) -> ApiCall | ApiResult:
    try:
        return _parse_call(content, outer, base_url)
    except (ValueError, UnicodeDecodeError):
        return ApiResult(400, errors.invalid_argument("Malformed batch part").body())


def _admit(emulator, in_flight: InFlight, call: ApiCall, admitted: list[str]) -> ApiResult | None:
    """None when the call may run (its slot recorded in `admitted`), else its refusal."""
    email = caller_of(emulator, call)
    if email is None:
        return None  # refused as unauthenticated when it runs
    if in_flight.admit(email, limit=emulator.config.concurrent_requests_per_user):
        admitted.append(email)
        return None
    return refused_for_concurrency(emulator, email, call)


routes = [
    Route("/batch", batch_endpoint, methods=["POST"]),
    Route("/batch/gmail/v1", batch_endpoint, methods=["POST"]),
]
