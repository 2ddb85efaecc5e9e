"""Gmail calls for one account: quota spent first, errors classified, batches retried.

Every call Tern makes to Gmail goes through a `GmailClient`, so the quota costs, the
error policy of gmail/errors.py and the batch rules (at most 50 calls, each failed
sub-request retried on its own, since the client library retries none) are in
one place. The client knows nothing of Tern's models: whoever builds it hands it the
Gmail service and the function that spends the account's quota
(sync.clients.gmail_client does, for a connected account).
"""

import itertools
import logging
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping

import httplib2
from googleapiclient.errors import HttpError
from googleapiclient.http import HttpRequest

from gmail.client import Json, Resource
from gmail.errors import GoogleUnavailable, PermanentError, RetryLater, classify, is_retryable

logger = logging.getLogger(__name__)

# A Gmail API call built on `GmailClient.users`, not executed yet.
type Request = HttpRequest

# Google's quota cost of each method we call (the Gmail API's usage limits; docs/sync.md).
COST = {
    "getProfile": 1,
    "labels.list": 1,
    "history.list": 2,
    "messages.list": 5,
    "messages.get": 5,
    "messages.modify": 5,
    "messages.trash": 5,
    "messages.untrash": 5,
    "messages.delete": 10,
    "messages.batchModify": 50,
    "messages.batchDelete": 50,
    "messages.send": 100,
    "drafts.create": 10,
    "drafts.get": 5,
    "drafts.list": 5,
    "drafts.send": 100,
    "drafts.delete": 10,
    "threads.list": 10,
    "threads.get": 10,
    "watch": 100,
    "stop": 50,
}
BATCH_SIZE = 50
BATCH_ATTEMPTS = 4
# Waiting for the quota bucket inline is fine for a second or two; beyond that the
# task gives the worker back and comes again later.
MAX_INLINE_WAIT_S = 10
# Google unreachable, slow or cut off mid-answer (the API or the token endpoint while
# refreshing): try again later, like a 503.
NETWORK_ERRORS = (OSError, httplib2.HttpLib2Error, GoogleUnavailable)


class GmailClient:
    """One account's Gmail: `users` builds requests, `call` and `batch` execute them.

    `reserve(units)` spends units of the account's quota and returns how many seconds
    to wait before the call may go.
    """

    def __init__(self, service: Resource, *, reserve: Callable[[int], float]) -> None:
        self.service = service
        self.users = service.users()
        self.reserve = reserve

    def spend(self, units: int) -> None:
        wait = self.reserve(units)
        if wait > MAX_INLINE_WAIT_S:
            raise RetryLater("quota bucket empty", retry_after=wait)
        if wait:
            time.sleep(wait)

    def call(
        self, method: str, request: Request, *, history: bool = False, idempotent: bool = True
    ) -> Json:
        """Execute one request costing COST[method]; retries a 5xx once, at once, unless
        the request is not `idempotent` (Gmail may answer 500 after sending a message:
        sending twice sends twice, so the caller looks first, then retries itself)."""
        for attempt in range(2):
            self.spend(COST[method])
            try:
                return request.execute()
            except HttpError as error:
                if idempotent and attempt == 0 and error.resp.status >= 500:
                    time.sleep(random.uniform(0.05, 0.3))  # noqa: S311 - jitter
                    continue
                raise classify(error, history=history) from error
            except NETWORK_ERRORS as error:
                raise RetryLater(f"network: {type(error).__name__}") from error
        raise AssertionError("unreachable")

    def batch(self, method: str, requests: Mapping[str, Request]) -> dict[str, Json | None]:
        """Execute {key: request} in batches; returns {key: response}, None for a 404.

        A sub-request that fails with 429/403-rate/5xx is retried on its own in the next
        batch; after BATCH_ATTEMPTS rounds the whole call backs off (RetryLater).
        """
        results: dict[str, Json | None] = {}
        pending = dict(requests)
        for attempt in range(BATCH_ATTEMPTS):
            failed: dict[str, HttpError] = {}
            for chunk in _chunks(pending.items(), BATCH_SIZE):
                failed |= self._execute_chunk(method, dict(chunk), results)
            if not failed:
                return results
            pending = {key: requests[key] for key in failed}
            time.sleep(random.uniform(0.1, 0.5) * 2**attempt)  # noqa: S311 - jitter
        raise RetryLater(f"{len(pending)} {method} calls kept failing")

    def _execute_chunk(
        self, method: str, chunk: dict[str, Request], results: dict[str, Json | None]
    ) -> dict[str, HttpError]:
        """Execute one batch, writing what succeeded (or is gone) into `results`;
        returns the sub-requests to retry."""
        self.spend(COST[method] * len(chunk))
        errors: dict[str, Exception] = {}

        def collect(request_id: str, response: Json | None, exception: Exception | None) -> None:
            if exception is None:
                results[request_id] = response
            else:
                errors[request_id] = exception

        batch = self.service.new_batch_http_request(callback=collect)
        for key, request in chunk.items():
            batch.add(request, request_id=key)
        try:
            batch.execute()
        except HttpError as error:
            raise classify(error) from error
        except NETWORK_ERRORS as error:
            raise RetryLater(f"network: {type(error).__name__}") from error
        failed: dict[str, HttpError] = {}
        for key, failure in errors.items():
            if not isinstance(failure, HttpError):
                raise failure
            if failure.resp.status == 404:
                results[key] = None  # gone since it was listed
            elif is_retryable(failure) or failure.resp.status == 401:
                failed[key] = failure
            else:
                raise PermanentError(
                    f"{method} answered {failure.resp.status}", status=failure.resp.status
                ) from failure
        return failed


def _chunks[T](items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk
