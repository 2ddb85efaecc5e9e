"""The request log: one line per request, by path only.

The web server's own access log is off (it would write query strings: the webhook's
`?token=` secret, OAuth's `code` and `state`); this line replaces it, with the path,
never the query string, and the time the request took.
"""

import logging
import time
from collections.abc import Awaitable, Callable
from typing import cast

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest
from django.http.response import HttpResponseBase

logger = logging.getLogger("tern.request")

type SyncGetResponse = Callable[[HttpRequest], HttpResponseBase]
type AsyncGetResponse = Callable[[HttpRequest], Awaitable[HttpResponseBase]]


class RequestLogMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response: SyncGetResponse | AsyncGetResponse) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if self.is_async:
            return self._acall(request)
        started = time.perf_counter()
        response = cast(SyncGetResponse, self.get_response)(request)
        _log(request, response, started)
        return response

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        started = time.perf_counter()
        response = await cast(AsyncGetResponse, self.get_response)(request)
        _log(request, response, started)
        return response


def _log(request: HttpRequest, response: HttpResponseBase, started: float) -> None:
    logger.info(
        "request",
        extra={
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "ms": round((time.perf_counter() - started) * 1000, 1),
        },
    )
