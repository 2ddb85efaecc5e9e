"""Gmail calls for one account: quota spent first, errors classified, batches retried.

Every call Tern makes to Gmail goes through a `GmailClient`, so the quota costs, the
error policy of gmail/errors.py and the batch rules (at most 50 calls, each failed
sub-request retried on its own, since the client library retries none) are in
one place. The client knows nothing of Tern's models: whoever builds it hands it the
Gmail service, the function that spends the account's quota and the mailbox's `Limits`
(sync.clients.gmail_client does, for a connected account).
"""

import contextlib
import datetime as dt
import itertools
import logging
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Protocol

import httplib2
from googleapiclient.errors import HttpError
from googleapiclient.http import HttpRequest

from gmail.client import Json, Resource
from gmail.errors import (
    FAILED_PRECONDITION,
    GoogleUnavailable,
    PermanentError,
    RetryLater,
    classify,
    is_concurrency_limit,
    is_retryable,
    is_transient_precondition,
    lockout,
)

logger = logging.getLogger(__name__)

# A Gmail API call built on `GmailClient.users`, not executed yet.
type Request = HttpRequest

# Google's quota cost of each method we call (the Gmail API's usage limits; docs/sync.md).
COST = {
    "getProfile": 1,
    "labels.list": 1,
    "labels.create": 5,
    "labels.patch": 5,
    "labels.delete": 5,
    "history.list": 2,
    "messages.list": 5,
    "messages.get": 5,
    "messages.attachments.get": 5,
    "messages.modify": 5,
    "messages.trash": 5,
    "messages.untrash": 5,
    "messages.delete": 10,
    "messages.batchModify": 50,
    "messages.batchDelete": 50,
    "messages.send": 100,
    "drafts.create": 10,
    "drafts.get": 5,
    "drafts.update": 15,
    "drafts.list": 5,
    "drafts.send": 100,
    "drafts.delete": 10,
    "settings.sendAs.list": 1,
    "threads.list": 10,
    "threads.get": 10,
    "watch": 100,
    "stop": 50,
}
BATCH_SIZE = 50
# Rounds of a batch in a row in which no failed sub-request succeeded, before it gives
# up; a round in which some did (a concurrency limit lets a few through) does not count.
BATCH_ATTEMPTS = 4
BATCH_MAX_ROUNDS = 16
# One batch() call's time, well under the 120 s lease of the mailbox lock that its
# caller renews only between steps (sync.coordination); a chunk begun in time may end
# after it.
BATCH_TIME_BUDGET_S = 45
# Sends of a request that Gmail refused with its transient 400 before it counts as a
# refusal (a 400 is a refusal before acting, so even a send may go again).
PRECONDITION_ATTEMPTS = 4
# Waiting for the quota bucket inline is fine for a second or two; beyond that the
# task gives the worker back and comes again later.
MAX_INLINE_WAIT_S = 10
# Google unreachable, slow or cut off mid-answer (the API or the token endpoint while
# refreshing): try again later, like a 503.
NETWORK_ERRORS = (OSError, httplib2.HttpLib2Error, GoogleUnavailable)


class Limits(Protocol):
    """What every client of one mailbox shares: Gmail's limits are per user, so two
    workers (a sync and the outbox) must heed them together."""

    def slots(self, count: int) -> contextlib.AbstractContextManager[None]:
        """Hold `count` of the mailbox's in-flight calls (a batch: one per call)."""
        ...

    def batch_size(self) -> int:
        """How many calls a batch may carry now."""
        ...

    def batch_shrink(self, size: int) -> None:
        """Gmail refused calls of a batch of `size` for concurrency: send smaller ones."""
        ...

    def lockout_until(self) -> dt.datetime | None:
        """Until when Gmail locked the mailbox out (no call may go before), if it did."""
        ...

    def lockout(self, until: dt.datetime) -> None:
        """Gmail locked the mailbox out until `until`."""
        ...


class NoLimits:
    """Limits of a client nothing else shares a mailbox with (scripts, tests)."""

    def __init__(self) -> None:
        self.until: dt.datetime | None = None
        self.size = BATCH_SIZE

    def slots(self, count: int) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    def batch_size(self) -> int:
        return self.size

    def batch_shrink(self, size: int) -> None:
        self.size = max(1, size // 2)

    def lockout_until(self) -> dt.datetime | None:
        return self.until

    def lockout(self, until: dt.datetime) -> None:
        self.until = until


class GmailClient:
    """One account's Gmail: `users` builds requests, `call` and `batch` execute them.

    `reserve(units)` spends units of the account's quota and returns how many seconds
    to wait before the call may go; `limits` are the mailbox's, shared with its other
    clients (in-flight calls, batch size, lockout).
    """

    def __init__(
        self,
        service: Resource,
        *,
        reserve: Callable[[int], float],
        limits: Limits | None = None,
    ) -> None:
        self.service = service
        self.users = service.users()
        self.reserve = reserve
        self.limits = limits or NoLimits()

    def check_lockout(self) -> None:
        """No call goes to a mailbox Gmail locked out, whoever asks: it would only
        prolong the lockout."""
        until = self.limits.lockout_until()
        if until is not None and until > dt.datetime.now(dt.UTC):
            raise lockout(until)

    def _classified(self, error: HttpError, *, history: bool = False) -> Exception:
        classified = classify(error, history=history)
        if isinstance(classified, RetryLater) and classified.lockout_until is not None:
            self.limits.lockout(classified.lockout_until)
        return classified

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
        sending twice sends twice, so the caller looks first, then retries itself), and
        Gmail's transient 400 up to PRECONDITION_ATTEMPTS times."""
        self.check_lockout()
        for attempt in range(PRECONDITION_ATTEMPTS):
            self.spend(COST[method])
            try:
                with self.limits.slots(1):
                    return request.execute()
            except HttpError as error:
                if _retry_at_once(error, attempt, idempotent=idempotent):
                    time.sleep(random.uniform(0.05, 0.3) * (attempt + 1))  # noqa: S311 - jitter
                    continue
                raise self._classified(error, history=history) from error
            except NETWORK_ERRORS as error:
                raise RetryLater(f"network: {type(error).__name__}") from error
        raise AssertionError("unreachable")

    def batch(self, method: str, requests: Mapping[str, Request]) -> dict[str, Json | None]:
        """Execute {key: request} in batches; returns {key: response}, None for a 404.

        A sub-request that fails with 429/403-rate/5xx or the transient 400 is retried on
        its own in the next round, in smaller batches after a concurrency 429; after
        BATCH_ATTEMPTS rounds in a row without progress the whole call backs off
        (RetryLater, with what was fetched in its `fetched`, for the caller to keep).
        """
        results: dict[str, Json | None] = {}
        try:
            self._batch_rounds(method, requests, results)
        except RetryLater as error:
            error.fetched = dict(results)
            raise
        return results

    def _batch_rounds(
        self, method: str, requests: Mapping[str, Request], results: dict[str, Json | None]
    ) -> None:
        pending = dict(requests)
        idle = 0
        deadline = time.monotonic() + BATCH_TIME_BUDGET_S
        for _ in range(BATCH_MAX_ROUNDS):
            self.check_lockout()
            failed: dict[str, HttpError] = {}
            size = self.limits.batch_size()
            for chunk in _chunks(pending.items(), size):
                if time.monotonic() > deadline:
                    # The caller's mailbox lock renews only between its steps: give the
                    # worker back (what was fetched kept) before the lock can lapse.
                    raise RetryLater(f"{method} calls took longer than their budget")
                failed |= self._execute_chunk(method, dict(chunk), results)
            if not failed:
                return
            if any(is_concurrency_limit(error) for error in failed.values()):
                self.limits.batch_shrink(size)
            idle = 0 if len(failed) < len(pending) else idle + 1
            if idle >= BATCH_ATTEMPTS:
                break
            pending = {key: requests[key] for key in failed}
            time.sleep(random.uniform(0.1, 0.5) * 2 ** max(0, idle - 1))  # noqa: S311 - jitter
        if all(is_transient_precondition(error) for error in failed.values()):
            raise PermanentError(
                f"{method} answered 400 failedPrecondition",
                status=400,
                reason=FAILED_PRECONDITION,
            )
        raise RetryLater(f"{len(failed)} {method} calls kept failing")

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
            with self.limits.slots(len(chunk)):
                batch.execute()
        except HttpError as error:
            raise self._classified(error) from error
        except NETWORK_ERRORS as error:
            raise RetryLater(f"network: {type(error).__name__}") from error
        failed: dict[str, HttpError] = {}
        for key, failure in errors.items():
            if not isinstance(failure, HttpError):
                raise failure
            if failure.resp.status == 404:
                results[key] = None  # gone since it was listed
            elif is_retryable(failure):
                classified = self._classified(failure)
                if isinstance(classified, RetryLater) and classified.lockout_until is not None:
                    raise classified from failure  # locked out: not one call more
                failed[key] = failure
            elif is_transient_precondition(failure) or failure.resp.status == 401:
                failed[key] = failure
            else:
                raise PermanentError(
                    f"{method} answered {failure.resp.status}", status=failure.resp.status
                ) from failure
        return failed


def _retry_at_once(error: HttpError, attempt: int, *, idempotent: bool) -> bool:
    """Whether a failed call goes again at once: Gmail's transient 400 (a refusal, so
    nothing was done) a few times, and a 5xx of an idempotent call once."""
    if is_transient_precondition(error):
        return attempt < PRECONDITION_ATTEMPTS - 1
    return idempotent and attempt == 0 and error.resp.status >= 500


def _chunks[T](items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk
