"""Pub/Sub push of Gmail notifications: rate-limited, signed, retried, and faultable.

Gmail publishes ``{"emailAddress", "historyId"}`` to the watch's topic at most about
once a second per user; Pub/Sub then POSTs each message to the push endpoint until the
endpoint acknowledges it, so delivery is at least once and in no particular order.
Within that second the emulator by default coalesces later changes into one push
after it; with the fault ``push_drop_over_rate`` it drops them, as Gmail's push guide
says Gmail does ("Any user notifications above that rate will be dropped").
"""

import asyncio
import base64
import datetime as dt
import json
import logging
import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass

import httpx

log = logging.getLogger("emulator.push")

# Pub/Sub treats these statuses as an acknowledgement; anything else is redelivered.
ACK_STATUSES = frozenset({102, 200, 201, 202, 204})
USER_AGENT = "APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)"


@dataclass
class _UserState:
    latest: int = 0
    scheduled: bool = False
    last_published: float = float("-inf")


class Pusher:
    def __init__(self, emulator) -> None:
        self.emulator = emulator
        self._users: dict[str, _UserState] = {}
        self._tasks: set[asyncio.Task] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._client: httpx.AsyncClient | None = None
        # Pub/Sub message ids are unique for good, and subscribers dedupe on them for days:
        # start each emulator process somewhere new, so a restart never repeats an id.
        self._message_seq = 4_820_000_000_000_000 + secrets.randbelow(10**15) * 1000

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._client = httpx.AsyncClient()

    async def stop(self) -> None:
        self.clear()
        if self._client is not None:
            await self._client.aclose()

    def clear(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        self._tasks.clear()
        self._users.clear()

    @property
    def pending(self) -> int:
        return len(self._tasks)

    def notify(self, email: str, history_id: int) -> None:
        """A watched mailbox changed. Called with the emulator lock held."""
        state = self._users.setdefault(email, _UserState())
        state.latest = max(state.latest, history_id)
        if self._loop is None:
            return
        interval = self.emulator.config.push_min_interval_ms / 1000
        if self.emulator.faults.push_drop_over_rate:
            self._publish_or_drop(email, state, interval)
            return
        if state.scheduled:
            return
        state.scheduled = True
        delay = max(0.0, state.last_published + interval - time.monotonic())
        self._spawn(self._publish_after(email, delay))

    def _publish_or_drop(self, email: str, state: _UserState, interval: float) -> None:
        """Gmail's own rule: one notification per interval per user, the rest lost."""
        now = time.monotonic()
        if now - state.last_published < interval:
            self.emulator.stats.push["dropped"] += 1
            log.info("push dropped for %s at %s (over the rate)", email, state.latest)
            return
        state.last_published = now
        self._publish(email, state.latest)

    def _spawn(self, coroutine) -> None:
        def create() -> None:
            task = self._loop.create_task(coroutine)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        if threading.get_ident() == self._loop_thread:
            create()
        else:
            self._loop.call_soon_threadsafe(create)

    async def _publish_after(self, email: str, delay: float) -> None:
        await asyncio.sleep(delay)
        emulator = self.emulator
        with emulator.lock:
            state = self._users.get(email)
            if state is None:
                return
            state.scheduled = False
            state.last_published = time.monotonic()
            self._publish(email, state.latest)

    def _publish(self, email: str, history_id: int) -> None:
        config, faults, counters = (
            self.emulator.config,
            self.emulator.faults,
            self.emulator.stats.push,
        )
        counters["published"] += 1
        if not config.push_endpoint:
            counters["undeliverable"] += 1
            return
        if faults.push_roll(faults.push_drop_rate):
            # Gmail does drop notifications now and then; clients must poll as well.
            counters["dropped"] += 1
            log.info("push dropped for %s at %s (fault)", email, history_id)
            return
        envelope = self._envelope(email, history_id, config)
        copies = 1
        if faults.push_roll(faults.push_duplicate_rate):
            counters["duplicated"] += 1
            copies = 2
        for _ in range(copies):
            delay = faults.push_delay_ms / 1000
            if faults.push_roll(faults.push_reorder_rate):
                # Held back long enough for a later notification to overtake it.
                delay += (config.push_min_interval_ms / 1000) * (1.5 + faults.push_random.random())
            self._spawn(self._deliver(envelope, delay))

    def _envelope(self, email: str, history_id: int, config) -> dict:
        self._message_seq += 1
        message_id = str(self._message_seq)
        published = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
        published = published.replace("+00:00", "Z")
        data = json.dumps({"emailAddress": email, "historyId": history_id}).encode()
        return {
            "message": {
                "data": base64.b64encode(data).decode(),
                "messageId": message_id,
                "message_id": message_id,
                "publishTime": published,
                "publish_time": published,
            },
            "subscription": config.push_subscription,
        }

    async def _deliver(self, envelope: dict, delay: float) -> None:
        await asyncio.sleep(delay)
        counters = self.emulator.stats.push
        attempt = 0
        while True:
            config = self.emulator.config
            attempt += 1
            counters["attempts"] += 1
            status = await self._post(envelope, config)
            if status in ACK_STATUSES:
                counters["delivered"] += 1
                return
            counters["retried"] += 1
            backoff = min(
                config.push_backoff_max_ms, config.push_backoff_min_ms * 2 ** (attempt - 1)
            )
            log.info("push answered %s; retry %s in %s ms", status, attempt, backoff)
            await asyncio.sleep(backoff / 1000)

    async def _post(self, envelope: dict, config) -> int | None:
        url = config.push_endpoint
        if not url:
            return None
        if config.push_token:
            separator = "&" if urllib.parse.urlsplit(url).query else "?"
            url = f"{url}{separator}token={urllib.parse.quote(config.push_token)}"
        headers = {
            "Authorization": f"Bearer {self._oidc_token(config)}",
            "User-Agent": USER_AGENT,
        }
        try:
            response = await self._client.post(
                url, json=envelope, headers=headers, timeout=config.push_timeout_s
            )
        except httpx.HTTPError as exc:
            log.info("push to %s failed: %s", config.push_endpoint, exc)
            return None
        return response.status_code

    def _oidc_token(self, config) -> str:
        # The token Pub/Sub attaches for a push subscription with authentication:
        # signed by Google, for the subscription's service account and audience.
        # The emulator's clock, so that tests can have it sign tokens that are expired.
        now = int(self.emulator.clock.now())
        account = config.push_service_account
        claims = {
            "aud": config.push_audience or config.push_endpoint,
            "azp": _subject_for(account),
            "email": account,
            "email_verified": True,
            "exp": now + 3600,
            "iat": now,
            "iss": "https://accounts.google.com",
            "sub": _subject_for(account),
        }
        return self.emulator.key.sign(claims)


def _subject_for(account: str) -> str:
    return str(10**20 + sum(ord(ch) * 131**i for i, ch in enumerate(account)) % 10**20)
