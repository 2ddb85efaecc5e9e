"""The emulator's whole state, behind one lock.

Request handlers are coroutines on one event loop and never await while they hold the
lock, so it is never contended in practice; it is there so that no future thread (a
live-mail generator, a debugger) can see a mailbox half-changed.
"""

import threading

from .clock import Clock
from .config import Config
from .faults import Faults
from .identities import Identities, Identity
from .keys import SigningKey
from .mailbox import HistoryRecord, IdSource, Mailbox
from .push import Pusher
from .quota import InFlight, Lockouts, Quota
from .stats import Stats


class Emulator:
    def __init__(self, config: Config) -> None:
        self.lock = threading.RLock()
        self.startup_config = config.copy()
        self.clock = Clock()
        self.key = SigningKey()
        self.stats = Stats()
        self.pusher = Pusher(self)
        self._fresh_state()

    def _fresh_state(self) -> None:
        self.config = self.startup_config.copy()
        self.clock.offset = 0.0
        self.identities = Identities(self.clock)
        self.mailboxes: dict[str, Mailbox] = {}
        self.ids = IdSource(self.clock)
        self.faults = Faults()
        self.quota = Quota()
        self.lockouts = Lockouts()
        self.in_flight = InFlight()
        # email -> ms: page tokens issued before are refused (expire-page-tokens)
        self.page_tokens_valid_from: dict[str, int] = {}
        self.uploads: dict[str, dict] = {}  # resumable upload sessions
        self.stats.reset()

    def reset(self) -> None:
        with self.lock:
            self.pusher.clear()
            self._fresh_state()

    def add_user(self, email: str, name: str, **identity_options) -> Identity:
        email = email.strip().lower()
        with self.lock:
            if email in self.mailboxes:
                raise ValueError(f"user {email} exists")
            identity = self.identities.add_user(email, name, **identity_options)
            self.mailboxes[email] = Mailbox(
                email=email, name=name, ids=self.ids, clock=self.clock, on_change=self._changed
            )
            return identity

    def mailbox(self, email: str) -> Mailbox | None:
        return self.mailboxes.get(email.strip().lower())

    def _changed(self, mailbox: Mailbox, record: HistoryRecord) -> None:
        watch = mailbox.active_watch()
        if watch is not None and watch.matches(record):
            self.pusher.notify(mailbox.email, record.id)
