"""Chaos for the sync engine: random Gmail-side changes, random user actions, faults.

`Chaos` drives one mailbox for one seed. Every random choice comes from
`random.Random(seed)` and every emulator fault generator is seeded from it, so a failing
seed replays the same changes, actions and faults in the same order.

It keeps a ledger of what reached Gmail, in the order Gmail saw it: the test's own
changes (as another Gmail client would make them) and the user actions the outbox
delivered (at the flush that delivered them). From the ledger it knows which label
effect of each user action must still be visible at Gmail at the end: the last writer of
a (message, label) pair wins, and deleting a message or a label drops its expectations.
"""

import datetime as dt
import email.message
import http.client
import io
import json
import os
import random
import time
from collections import Counter
from dataclasses import dataclass, field

from django.core.management import call_command
from googleapiclient.errors import HttpError

from accounts.models import GmailAccount
from mail import services as actions
from mail.actions import Effect
from mail.models import Label, Message, OutboxAction, Thread
from sync import outbox as outbox_module
from sync import services as sync_services
from sync.coordination import MailboxLimits, MailboxLock, lockout_clear, redis_client
from sync.models import SyncStatus
from sync.outbox import outbox_flush
from sync.selectors import mailbox_state
from sync.services import Outcome, mailbox_sync
from tests.sync.helpers import deliver, raw_message

Kind = OutboxAction.Kind
BOB = "bob@example.com"
# Access tokens the emulator issues during chaos live this long; moving its clock past
# it makes Gmail answer 401 to a token Tern still believes valid.
TOKEN_TTL_S = 600
LOCK_LEASE_MS = 120_000
# Methods only Tern calls: an outage of one of them never blocks the test's own client.
# "oauth.token" is Google's token endpoint (refreshing an access token).
OUTAGE_METHODS = [
    "oauth.token",
    "users.history.list",
    "users.messages.get",
    "users.messages.list",
    "users.labels.list",
    "users.getProfile",
    "users.threads.get",
    "users.messages.batchModify",
    "users.messages.send",
]
SYSTEM_POOL = ["INBOX", "UNREAD", "STARRED", "IMPORTANT"]
# Gmail's lockouts last about 15 minutes; the run moves the emulator's clock past one
# (see Chaos.lockout_lifted) instead of waiting.
LOCKOUT_S = 900
# The calls Gmail lets one user have in flight, a batch's calls each counted.
LOCKOUT = "lockout of 15 min (clock moved)"
IN_FLIGHT_LIMITS = [50, 50, 8, 4, 2]


class WorkerKilled(BaseException):
    """A worker process dying mid-task (SIGKILL, OOM, a redeploy): no except clause of
    the app catches it, and no `finally` of the app may clean up after it (see Killer)."""


def gmail_execute(call, attempts=30):
    """Run one call of the test's own Gmail client, retrying the faults the emulator
    injects (a failed call changes nothing at Gmail, so a retry is safe), and a kept-alive
    connection the emulator closed while the test's client sat idle (nothing was sent)."""
    for _ in range(attempts):
        try:
            return call()
        except (BrokenPipeError, http.client.RemoteDisconnected):
            continue
        except HttpError as error:
            status = error.resp.status
            rate_limited = status == 403 and b"RateLimitExceeded" in (error.content or b"")
            transient = status == 400 and b"Precondition check failed." in (error.content or b"")
            if status in (429, 500, 503) or rate_limited or transient:
                continue
            raise
    raise AssertionError(f"{attempts} injected faults in a row for the test's own client")


def own_client(emulator, email, scopes):
    """A Gmail client for the test itself (another client of the mailbox), built by
    gmail/client.py on tokens that outlive every clock jump and token-endpoint outage of
    the run: the chaos is aimed at Tern, not at the test's own hands."""
    return emulator.gmail_issued(email, scopes, ttl_s=10**7)


class FastClock:
    """`time` as gmail/api.py sees it: its backoff jitter and quota waits pass 20 times
    faster, so a seed takes seconds. What is called, and in which order, is unchanged."""

    @staticmethod
    def sleep(seconds):
        time.sleep(seconds / 20)

    @staticmethod
    def monotonic():
        return time.monotonic() * 20  # budgets measured in the same time as the sleeps


class Killer:
    """Arms a crash at the n-th crash point of the next task, and makes the lock of the
    killed task stay behind, as a dead process leaves it (its lease must lapse)."""

    def __init__(self):
        self.countdown = None
        self.dying = False
        self.kill_after_send = False  # the outbox's crash: just after Gmail took the call

    def arm(self, n):
        self.countdown = n

    def disarm(self):
        self.countdown = None
        self.dying = False

    def point(self):
        if self.countdown is None:
            return
        self.countdown -= 1
        if self.countdown <= 0:
            self.countdown = None
            self.dying = True
            raise WorkerKilled

    def install(self, monkeypatch):
        real_apply = sync_services._apply
        real_store = sync_services.mirror.messages_store
        real_extend = MailboxLock.extend
        real_release = MailboxLock.release
        real_send = outbox_module._write_back
        killer = self

        def apply(*args, **kwargs):  # incremental sync, inside the page's transaction
            killer.point()
            return real_apply(*args, **kwargs)

        def store(**kwargs):  # full sync, inside the page's transaction
            result = real_store(**kwargs)
            killer.point()
            return result

        def extend(self):  # after a page committed, before the next one
            killer.point()
            return real_extend(self)

        def release(self):
            if killer.dying:
                return  # a dead process releases nothing
            return real_release(self)

        def send(mailbox, group):  # the outbox: before Gmail has it, or just after
            if killer.countdown == 1 and killer.kill_after_send:
                real_send(mailbox, group)
            killer.point()
            return real_send(mailbox, group)

        monkeypatch.setattr(sync_services, "_apply", apply)
        monkeypatch.setattr(sync_services.mirror, "messages_store", store)
        monkeypatch.setattr(MailboxLock, "extend", extend)
        monkeypatch.setattr(MailboxLock, "release", release)
        monkeypatch.setattr(outbox_module, "_write_back", send)


@dataclass
class Tally:
    gmail_changes: Counter = field(default_factory=Counter)
    user_actions: Counter = field(default_factory=Counter)
    syncs: Counter = field(default_factory=Counter)
    flushes: int = 0
    flush_kills: int = 0
    disruptions: Counter = field(default_factory=Counter)
    weather: Counter = field(default_factory=Counter)
    crashes: list = field(default_factory=list)  # exceptions that escaped a task
    divergences: list = field(default_factory=list)  # mirror != Gmail after a clean sync


class Chaos:
    def __init__(self, *, seed, emulator, account, killer, steps):
        self.seed = seed
        self.rng = random.Random(seed)  # replayable
        self.emulator = emulator
        self.account_id = account.pk
        self.email = account.email
        self.killer = killer
        self.steps = steps
        self.step = 0
        self.tally = Tally()
        self.gmail = None  # the test's own client of the mailbox, with delete rights
        self.bob_gmail = None  # Bob's, to count what Alice sent him
        self.rfc822 = {}  # gmail id -> (Message-ID, subject) of mail the test delivered
        self.labels = {}  # user label id -> name, as Gmail has them now
        self.deleted_labels = set()
        self.deleted_threads = set()
        self.sent_copies_deleted = []  # (ledger position, Message-ID or None)
        self.ledger = []  # what reached Gmail, in Gmail's order
        self.actions = {}  # outbox action pk -> what it asked for
        self.names = 0
        self.trace = bool(os.environ.get("CHAOS_TRACE"))

    # --- helpers ---------------------------------------------------------------------

    def log(self, text):
        """The run, step by step: printed with CHAOS_TRACE=1 to read a failing seed."""
        if self.trace:
            print(f"  [{self.step}] {text}")

    def say(self, text):
        return f"[chaos seed={self.seed} step={self.step}] {text}"

    def account(self):
        return GmailAccount.objects.get(pk=self.account_id)

    def gmail_state(self):
        return self.emulator.state(self.email)

    def seed_faults(self):
        return self.rng.randrange(2**31)

    def pending(self):
        return set(
            OutboxAction.objects.filter(
                account_id=self.account_id, state=OutboxAction.State.PENDING
            ).values_list("pk", flat=True)
        )

    def unpause(self):
        """As if the backoff had elapsed (the task would be rescheduled for then)."""
        SyncStatus.objects.filter(account_id=self.account_id).update(paused_until=None)

    def fresh_name(self, stem="Chaos"):
        self.names += 1
        return f"{stem} {self.seed}-{self.names}"

    # --- set-up ----------------------------------------------------------------------

    def arrange(self, gmail, bob_gmail):
        """A mailbox with some mail, threads and user labels, before the first sync."""
        self.gmail = gmail
        self.bob_gmail = bob_gmail
        for _ in range(self.rng.randint(1, 3)):
            self.label_create()
        for _ in range(self.rng.randint(4, 10)):
            self.new_mail()
        for _ in range(self.rng.randint(1, 4)):
            self.reply()
        self.tally.gmail_changes.clear()

    # --- the run ---------------------------------------------------------------------

    def run(self):
        self.weather()
        for step in range(1, self.steps + 1):
            self.step = step
            if self.rng.random() < 0.12:
                self.weather()
            roll = self.rng.random()
            if roll < 0.33:
                self.gmail_change()
            elif roll < 0.56:
                self.user_action()
            elif roll < 0.77:
                self.sync()
            elif roll < 0.92:
                self.flush()
            else:
                self.disruption()

    def settle(self):
        """Faults off, quiescence, one poll; answers every problem found on the way."""
        crashes = [f"a task crashed: {c}" for c in self.tally.crashes]
        try:
            self.quiesce()
        except AssertionError as error:
            return [str(error), *[f"mid-run: {d}" for d in self.tally.divergences], *crashes]
        before_poll = self.gmail_state(), mailbox_state(account=self.account())
        self.poll()
        problems = self.problems()
        if before_poll[0] != before_poll[1]:
            problems.append(
                "quiescence reached (a sync answered DONE, the outbox is empty) but the mirror "
                f"differs from Gmail until the poll: {describe_diff(*before_poll)}"
            )
        problems += [f"mid-run: {d}" for d in self.tally.divergences]
        return problems + [f"a task crashed: {c}" for c in self.tally.crashes]

    def quiesce(self, max_rounds=25):
        """Faults off, then flush and sync until nothing is left to do."""
        self.set_faults({"error_rate": 0.0, "seed": self.seed})
        self.step = "quiescence"
        for _ in range(max_rounds):
            self.lockout_lifted()
            self.unpause()
            retry_at = self.flush(kill=False)
            self.unpause()
            result = self.sync(kill=False, allow_full=True)
            done = result is not None and result.outcome == Outcome.DONE
            if done and retry_at is None and not self.pending():
                return
        status = self.account().status
        raise AssertionError(
            self.say(f"no quiescence after {max_rounds} rounds (account status: {status})")
        )

    def poll(self):
        self.step = "poll"
        self.unpause()
        result = self.sync(kill=False, allow_full=True)
        if result is None or result.outcome != Outcome.DONE:
            self.tally.crashes.append(self.say(f"the poll answered {result}"))

    # --- Gmail-side changes (another client of the same mailbox) ----------------------

    def gmail_change(self):
        self.lockout_lifted()  # the test's own client is the same Gmail user
        kinds = [
            (self.new_mail, 5),
            (self.reply, 3),
            (self.modify, 5),
            (self.trash, 2),
            (self.untrash, 1),
            (self.delete, 2),
            (self.label_create, 1.5),
            (self.label_rename, 1),
            (self.label_delete, 2),
        ]
        change = self.rng.choices([k for k, _ in kinds], [w for _, w in kinds])[0]
        change()

    def _record_change(self, name):
        self.tally.gmail_changes[name] += 1
        self.log(f"gmail: {name}")

    def _some_message(self):
        # Not a draft: the only drafts are Tern's own sends in flight, which another
        # client leaves alone (Gmail refuses labels on a draft's message anyway).
        messages = {
            gid: meta
            for gid, meta in self.gmail_state()["messages"].items()
            if "DRAFT" not in meta["labelIds"]
        }
        if not messages:
            return None, None
        message_id = self.rng.choice(sorted(messages))
        return message_id, messages[message_id]

    def new_mail(self):
        options = [["INBOX", "UNREAD"], ["INBOX", "UNREAD"], ["INBOX"], ["SENT"], ["SPAM"]]
        labels = list(self.rng.choice(options))
        if self.labels and self.rng.random() < 0.3:
            labels.append(self.rng.choice(sorted(self.labels)))
        subject = self.fresh_name("Subject")
        message = raw_message(to=self.email, subject=subject)
        sent = gmail_execute(lambda: deliver(self.gmail, message, labels=labels))
        self.rfc822[sent["id"]] = (message["Message-ID"], subject)
        self._record_change("new mail")

    def reply(self):
        alive = self.gmail_state()["messages"]
        known = sorted(gid for gid in self.rfc822 if gid in alive)
        if not known:
            return self.new_mail()
        parent = self.rng.choice(known)
        parent_id, subject = self.rfc822[parent]
        message = raw_message(to=self.email, subject=f"Re: {subject}", reply_to_id=parent_id)
        sent = gmail_execute(lambda: deliver(self.gmail, message))
        self.rfc822[sent["id"]] = (message["Message-ID"], subject)
        self._record_change("reply")

    def modify(self):
        message_id, _ = self._some_message()
        if message_id is None:
            return self.new_mail()
        pool = SYSTEM_POOL + sorted(self.labels)
        if self.labels and self.rng.random() < 0.4:
            add, remove = [self.rng.choice(sorted(self.labels))], []
        else:
            add = self.rng.sample(pool, k=self.rng.randint(0, 2))
            remove = self.rng.sample(pool, k=self.rng.randint(0, 2))
        if not add and not remove:
            add = [self.rng.choice(pool)]
        body = {"addLabelIds": add, "removeLabelIds": remove}
        messages = self.gmail.users().messages()
        gmail_execute(lambda: messages.modify(userId="me", id=message_id, body=body).execute())
        self.ledger.append(("touch", [(message_id, label) for label in {*add, *remove}]))
        self._record_change("label change")

    def trash(self):
        message_id, resource = self._some_message()
        if message_id is None:
            return
        if self.rng.random() < 0.3:
            thread_id = resource["threadId"]
            ids = [
                m for m, r in self.gmail_state()["messages"].items() if r["threadId"] == thread_id
            ]
            threads = self.gmail.users().threads()
            gmail_execute(lambda: threads.trash(userId="me", id=thread_id).execute())
        else:
            ids = [message_id]
            messages = self.gmail.users().messages()
            gmail_execute(lambda: messages.trash(userId="me", id=message_id).execute())
        touched = [(m, label) for m in ids for label in ("TRASH", "INBOX", "SPAM")]
        self.ledger.append(("touch", touched))
        self._record_change("trash")

    def untrash(self):
        trashed = sorted(
            m for m, r in self.gmail_state()["messages"].items() if "TRASH" in r["labelIds"]
        )
        if not trashed:
            return self.trash()
        message_id = self.rng.choice(trashed)
        messages = self.gmail.users().messages()
        gmail_execute(lambda: messages.untrash(userId="me", id=message_id).execute())
        self.ledger.append(("touch", [(message_id, "TRASH")]))
        self._record_change("untrash")

    def delete(self):
        message_id, resource = self._some_message()
        if message_id is None:
            return
        messages = self.gmail.users().messages()
        gmail_execute(lambda: messages.delete(userId="me", id=message_id).execute())
        self.ledger.append(("deleted", message_id))
        if "SENT" in resource["labelIds"]:
            # Which send it was, if the mirror knows (None: not mirrored yet).
            rfc822_id = (
                Message.objects.filter(account_id=self.account_id, gmail_id=message_id)
                .values_list("rfc822_message_id", flat=True)
                .first()
            )
            self.sent_copies_deleted.append((len(self.ledger), rfc822_id))
        thread_id = resource["threadId"]
        if not any(r["threadId"] == thread_id for r in self.gmail_state()["messages"].values()):
            self.deleted_threads.add(thread_id)
        self._record_change("delete")

    def label_create(self):
        name = self.fresh_name()
        labels = self.gmail.users().labels()
        created = gmail_execute(lambda: labels.create(userId="me", body={"name": name}).execute())
        self.labels[created["id"]] = name
        self._record_change("label create")

    def label_rename(self):
        if not self.labels:
            return self.label_create()
        label_id = self.rng.choice(sorted(self.labels))
        name = self.fresh_name("Renamed")
        labels = self.gmail.users().labels()
        gmail_execute(lambda: labels.patch(userId="me", id=label_id, body={"name": name}).execute())
        self.labels[label_id] = name
        self._record_change("label rename")

    def label_delete(self):
        if not self.labels:
            return self.label_create()
        label_id = self.rng.choice(sorted(self.labels))
        labels = self.gmail.users().labels()
        gmail_execute(lambda: labels.delete(userId="me", id=label_id).execute())
        del self.labels[label_id]
        self.deleted_labels.add(label_id)
        self.ledger.append(("label deleted", label_id))
        self._record_change("label delete")

    # --- user actions (mail.services, on threads of the mirror) -----------------------

    def user_action(self):
        threads = list(Thread.objects.filter(account_id=self.account_id).order_by("gmail_id"))
        if not threads or self.rng.random() < 0.1:
            return self.send(None)
        thread = self.rng.choice(threads)
        user_labels = sorted(
            Label.objects.filter(account_id=self.account_id, type=Label.Type.USER).values_list(
                "gmail_id", flat=True
            )
        )
        choices = [
            ("mark read", 4, lambda: actions.thread_mark_read(thread=thread)),
            ("mark unread", 2, lambda: actions.thread_mark_unread(thread=thread)),
            ("star", 2, lambda: actions.thread_star(thread=thread)),
            ("unstar", 1, lambda: actions.thread_unstar(thread=thread)),
            ("archive", 4, lambda: actions.thread_archive(thread=thread)),
            ("move to inbox", 1, lambda: actions.thread_move_to_inbox(thread=thread)),
            ("spam", 1, lambda: actions.thread_spam(thread=thread)),
            ("not spam", 1, lambda: actions.thread_not_spam(thread=thread)),
            ("trash", 2, lambda: actions.thread_trash(thread=thread)),
            ("untrash", 1, lambda: actions.thread_untrash(thread=thread)),
            ("delete forever", 1.5, lambda: actions.thread_delete_forever(thread=thread)),
            ("reply", 1.5, lambda: self.send(thread)),
        ]
        if user_labels:
            add = self.rng.sample(user_labels, k=min(len(user_labels), self.rng.randint(0, 1)))
            remove = [
                label
                for label in self.rng.sample(user_labels, k=self.rng.randint(0, 1))
                if label not in add
            ]
            choices.append(
                (
                    "labels change",
                    2,
                    lambda: actions.thread_labels_change(thread=thread, add=add, remove=remove),
                )
            )
        name, _, act = self.rng.choices(choices, [w for _, w, _ in choices])[0]
        action = act()
        if name != "reply":
            self._remember(name, action)

    def send(self, thread):
        message = email.message.EmailMessage()
        message["To"] = BOB
        if thread is None:
            message["Subject"] = self.fresh_name("Sent")
        else:
            message["Subject"] = f"Re: {thread.subject}"
            last = thread.messages.order_by("-internal_date", "-id").first()
            if last is not None and last.rfc822_message_id:
                message["In-Reply-To"] = last.rfc822_message_id
                message["References"] = last.rfc822_message_id
        message.set_content(f"Chaos reply {self.rng.random()}")
        account = self.account()
        action = actions.message_send(account=account, message=message, thread=thread)
        self._remember("send" if thread is None else "reply", action)
        self.actions[action.pk]["message_id"] = message["Message-ID"].strip("<>")

    def _remember(self, name, action):
        add, remove = action.label_delta()
        self.actions[action.pk] = {
            "name": name,
            "kind": action.kind,
            "ids": list(action.message_ids),
            "add": add,
            "remove": remove,
            "thread": action.thread_gmail_id,
            "step": self.step,
        }
        self.tally.user_actions[name] += 1
        self.log(f"user: {name} #{action.pk} on {list(action.message_ids)}")

    # --- the engine, as the workers run it ---------------------------------------------

    def sync(self, *, kill=None, allow_full=None):
        if self.rng.random() < 0.8:
            self.unpause()
        if allow_full is None:
            allow_full = self.rng.random() < 0.85
        if kill is None:
            kill = self.rng.random() < 0.15
        if kill:
            self.killer.arm(self.rng.randint(1, 3))
        try:
            result = mailbox_sync(account_id=self.account_id, allow_full=allow_full)
        except WorkerKilled:
            self.tally.syncs["killed"] += 1
            self.log("sync: killed")
            self.killer.disarm()
            self.dead_lock_lapses(MailboxLock(self.account_id).key, sync=True)
            return None
        except Exception as error:  # a real worker logs it and moves on
            self.tally.syncs["crashed"] += 1
            self.log(f"sync: crashed {error!r}")
            self.tally.crashes.append(self.say(f"mailbox_sync raised {error!r}"))
            return None
        finally:
            self.killer.disarm()
        self.tally.syncs[result.outcome] += 1
        self.log(f"sync: {result.outcome} {result.changes or ''}")
        if result.outcome == Outcome.DONE:
            self.check_after_sync()
        return result

    def flush(self, *, kill=None):
        if kill is None:
            kill = self.rng.random() < 0.2
        if kill:
            self.killer.arm(self.rng.randint(1, 3))
            self.killer.kill_after_send = self.rng.random() < 0.6
        before = self.pending()
        retry_at = None
        self.tally.flushes += 1
        try:
            retry_at = outbox_flush(account_id=self.account_id).retry_at
        except WorkerKilled:
            self.tally.flush_kills += 1
            self.log("flush: killed")
            self.killer.disarm()
            self.dead_lock_lapses(MailboxLock(self.account_id, name="outbox").key, sync=False)
        except Exception as error:  # a real worker logs it and moves on
            self.tally.crashes.append(self.say(f"outbox_flush raised {error!r}"))
            self.log(f"flush: crashed {error!r}")
        finally:
            self.killer.disarm()
            self.killer.kill_after_send = False
        still = self.pending()
        failed = set(
            OutboxAction.objects.filter(
                account_id=self.account_id, state=OutboxAction.State.FAILED
            ).values_list("pk", flat=True)
        )
        for pk in sorted(before - still - failed):
            self.ledger.append(("action", pk))
        self.log(f"flush: {len(before - still)} done or failed, {len(still)} waiting")
        return retry_at

    def dead_lock_lapses(self, key, *, sync):
        """The killed worker's lock is still held; it must lapse on its own."""
        ttl = redis_client().pttl(key)
        assert 0 < ttl <= LOCK_LEASE_MS, self.say(f"a dead worker's lock {key} has ttl {ttl} ms")
        if sync:
            self.unpause()
            busy = mailbox_sync(account_id=self.account_id)
            assert busy.outcome == Outcome.BUSY, self.say(f"sync beside a live lease: {busy}")
        elif MailboxLimits(self.account_id).lockout_until() is None:
            assert outbox_flush(account_id=self.account_id).retry_at is None
        # Time passes: the lease runs out.
        redis_client().pexpire(key, 1)
        time.sleep(0.005)

    # --- disruptions -------------------------------------------------------------------

    def disruption(self, *, clock=True):
        """History expiry or token expiry. `clock=False` leaves the emulator's clock alone
        (it also dates the pushes' OIDC tokens, which the webhook then rightly refuses)."""
        kind = self.rng.choices(
            ["expire history", "token expiry", "token expiry (local)"], [3, 2 if clock else 0, 1]
        )[0]
        self.tally.disruptions[kind] += 1
        self.log(kind)
        if kind == "expire history":
            self.emulator.expire_history(self.email)
        elif kind == "token expiry":
            # Gmail no longer takes the access token Tern believes valid: a 401.
            self.emulator.advance_clock(TOKEN_TTL_S + 1)
        else:
            # Tern sees its token expired and refreshes before the next call.
            GmailAccount.objects.filter(pk=self.account_id).update(
                token_expiry=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
            )

    def lockout_lifted(self):
        """Gmail's lockout of the mailbox, if one runs, ends: the emulator's clock moves
        past it (15 minutes in no time), and Tern, whose clock cannot move, forgets the
        pause it read from Gmail's message, as it would once that time came."""
        if self.email not in self.emulator.stats()["lockouts"]:
            return
        self.emulator.advance_clock(LOCKOUT_S + 1)
        lockout_clear(self.account_id)
        self.unpause()
        self.tally.disruptions[LOCKOUT] += 1
        self.log("lockout lifted")

    def weather(self):
        """The emulator's faults for the next while: calm, noisy (5xx, 429 and 403 rate
        limits on any call), transient 400s, lockouts (429 or 403 "Retry after", for 15
        minutes), or one method down, Google's token endpoint included; and Gmail's limit
        of calls in flight for the user."""
        kind = self.rng.choices(
            ["calm", "noisy", "transient 400s", "lockouts", "outage"], [1, 4, 1.5, 1, 3]
        )[0]
        limit = self.rng.choice(IN_FLIGHT_LIMITS)
        self.emulator.set_config(concurrent_requests_per_user=limit)
        if limit < max(IN_FLIGHT_LIMITS):
            self.tally.weather[f"{limit} calls in flight at most"] += 1
        if kind == "calm":
            profile = {"error_rate": 0.0}
        elif kind == "noisy":
            profile = {
                "error_rate": self.rng.choice([0.05, 0.1, 0.15, 0.2, 0.3]),
                "statuses": sorted(self.rng.sample([500, 503, 429, 403], k=self.rng.randint(1, 4))),
                "latency_ms": self.rng.choice([0, 0, 1, 3]),
            }
        elif kind == "transient 400s":
            profile = {
                "error_rate": self.rng.choice([0.05, 0.1]),
                "statuses": [400, 500, 503],
            }
        elif kind == "lockouts":
            # Only calls Tern makes start a lockout (the test's own calls would otherwise
            # lock Alice out in the middle of a change); every call of hers is refused then.
            profile = {
                "lockout_rate": self.rng.choice([0.05, 0.1, 0.2]),
                "lockout_s": LOCKOUT_S,
                "methods": [m for m in OUTAGE_METHODS if m != "oauth.token"],
            }
        else:
            method = self.rng.choice(OUTAGE_METHODS)
            kind = f"{method} down"
            profile = {
                "error_rate": 1.0,
                "statuses": [self.rng.choice([500, 503, 429])],
                "methods": [method],
            }
        self.tally.weather[kind] += 1
        self.log(f"faults: {kind}")
        self.set_faults({**profile, "seed": self.seed_faults()})

    def set_faults(self, profile):
        # Gmail's own push rate: over one a second per mailbox, pushes are dropped.
        self.emulator.set_faults(**{"push_drop_over_rate": True, **profile})

    # --- checks ------------------------------------------------------------------------

    def check_after_sync(self):
        """A sync that answered DONE left the mirror equal to Gmail (nothing changed at
        Gmail since), with the user actions still waiting applied on top: history never
        undoes them. Labels another client deleted are left out while actions wait (an
        action adding one is bound to fail)."""
        gmail = self.gmail_state()
        mirror = mailbox_state(account=self.account())
        waiting = list(
            OutboxAction.objects.filter(
                account_id=self.account_id, state=OutboxAction.State.PENDING
            ).order_by("id")
        )
        if waiting:
            gmail = with_actions(gmail, waiting, ignore=self.deleted_labels)
            mirror = without_labels(mirror, self.deleted_labels)
        if mirror != gmail:
            when = f"after a sync answered DONE ({len(waiting)} user actions waiting)"
            self.tally.divergences.append(self.say(f"{when}: {describe_diff(gmail, mirror)}"))

    def mailbox_dump(self):
        out = io.StringIO()
        call_command("mailbox_dump", self.email, stdout=out)
        return json.loads(out.getvalue())

    def problems(self):
        """Everything wrong at the end, after quiescence and one poll."""
        problems = []
        gmail = self.gmail_state()
        dump = self.mailbox_dump()
        if dump != gmail:
            problems.append(f"mailbox_dump != Gmail: {describe_diff(gmail, dump)}")
        problems += self.outbox_problems()
        problems += self.label_effect_problems(gmail)
        problems += self.send_problems()
        return problems

    def outbox_problems(self):
        problems = []
        rows = OutboxAction.objects.filter(account_id=self.account_id)
        for action in rows:
            meta = self.actions.get(action.pk, {})
            what = f"{meta.get('name', action.kind)} #{action.pk} (step {meta.get('step')})"
            if action.state == OutboxAction.State.PENDING:
                problems.append(f"{what} still pending: {action.last_error}")
            elif not self.may_fail(action, meta):
                problems.append(f"{what} failed: {action.last_error}")
        for pk, meta in self.actions.items():
            if meta["kind"] == Kind.DELETE and not rows.filter(pk=pk).exists():
                problems.append(f"delete forever #{pk} vanished: gmail.modify cannot delete")
        return problems

    def may_fail(self, action, meta):
        if action.kind == Kind.DELETE:
            return True  # gmail.modify may not delete for good: refused, and shown
        if action.spec.effect == Effect.LABELS:
            # Labels a user picked in the mirror and another client deleted meanwhile.
            return bool({*meta.get("add", []), *meta.get("remove", [])} & self.deleted_labels)
        if action.kind == Kind.SEND:
            return meta.get("thread") in self.deleted_threads
        return False

    def label_effect_problems(self, gmail):
        expect = {}  # (message, label) -> (present?, action pk)
        deleted = set()
        for event, payload in self.ledger:
            if event == "touch":
                for pair in payload:
                    expect.pop(pair, None)
            elif event == "deleted":
                deleted.add(payload)
                for pair in [p for p in expect if p[0] == payload]:
                    del expect[pair]
            elif event == "label deleted":
                for pair in [p for p in expect if p[1] == payload]:
                    del expect[pair]
            elif event == "action":
                meta = self.actions[payload]
                for message_id in set(meta["ids"]) - deleted:
                    for label in meta["remove"]:
                        if label not in meta["add"]:
                            expect[(message_id, label)] = (False, payload)
                    for label in meta["add"]:
                        expect[(message_id, label)] = (True, payload)
        problems = []
        for (message_id, label), (present, pk) in sorted(expect.items()):
            meta = self.actions[pk]
            what = f"{meta['name']} #{pk} (step {meta['step']})"
            if message_id not in gmail["messages"]:
                problems.append(f"{what}: message {message_id} is gone from Gmail")
            elif (label in gmail["messages"][message_id]["labelIds"]) != present:
                verb = "lacks" if present else "still has"
                problems.append(f"{what}: Gmail's {message_id} {verb} {label}")
        return problems

    def send_problems(self):
        """Each send Gmail accepted reached Bob exactly once (and Alice's Sent at most
        once: the test's own client may have deleted her copy since)."""
        problems = []
        failed = set(
            OutboxAction.objects.filter(
                account_id=self.account_id, state=OutboxAction.State.FAILED
            ).values_list("pk", flat=True)
        )
        for pk, meta in sorted(self.actions.items()):
            if meta["kind"] != Kind.SEND or pk in failed:
                continue
            query = f"rfc822msgid:{meta['message_id']}"
            bob = len(self._find(self.bob_gmail, query))
            alice = len(self._find(self.gmail, query))
            if bob == 2 and alice < 2 and self._copy_deleted_before_sent(pk, meta):
                continue  # Alice's copy was deleted for good before a retry looked for it
            if bob != 1 or alice > 1:
                what = f"{meta['name']} #{pk} (step {meta['step']})"
                problems.append(f"{what}: {bob} copies at Bob, {alice} in Alice's Sent")
        return problems

    def _copy_deleted_before_sent(self, pk, meta):
        """Another client deleted (for good) a sent copy of this message before the flush
        that finished sending it: a retry after a crash could not find it at Gmail, so a
        second copy is the documented limit of looking for the Message-ID first."""
        finished = self.ledger.index(("action", pk)) if ("action", pk) in self.ledger else None
        return finished is not None and any(
            at <= finished and (rfc822_id is None or rfc822_id.strip("<> ") == meta["message_id"])
            for at, rfc822_id in self.sent_copies_deleted
        )

    @staticmethod
    def _find(client, query):
        messages = client.users().messages()
        listed = gmail_execute(
            lambda: messages.list(userId="me", q=query, includeSpamTrash=True).execute()
        )
        return listed.get("messages", [])

    def api_counts(self):
        """(failed API calls, API calls) from the emulator's stats: the failures are the
        injected faults plus Gmail's own refusals (a 403 on delete, a 400 on a label)."""
        stats = self.emulator.stats()
        users = stats["users"].values()
        failed = sum(m["errors"] for user in users for m in user["methods"].values())
        return failed, sum(user["calls"] for user in users)

    def summary(self, verdict):
        t = self.tally
        failed, calls = self.api_counts()
        methods = self.emulator.stats()["users"].get(self.email, {}).get("methods", {})
        history_calls = methods.get("users.history.list", {}).get("calls", 0)
        engine = (
            f"{sum(t.syncs.values())} syncs ({_counts(t.syncs)}; "
            f"{history_calls} history.list calls), "
            f"{t.flushes} outbox flushes ({t.flush_kills} killed)"
            if t.syncs or t.flushes
            else f"syncs and flushes by the Celery worker ({history_calls} history.list calls)"
        )
        return (
            f"chaos seed={self.seed}: {sum(t.gmail_changes.values())} Gmail-side changes, "
            f"{sum(t.user_actions.values())} user actions, "
            f"{failed} failed API calls of {calls} (faults: {_counts(t.weather)}), "
            f"{_counts(t.disruptions)}, {engine} -> {verdict}"
        )

    def totals(self, *, converged):
        t = self.tally
        failed, calls = self.api_counts()
        return Counter(
            seeds=1,
            converged=int(converged),
            gmail_changes=sum(t.gmail_changes.values()),
            user_actions=sum(t.user_actions.values()),
            failed_api_calls=failed,
            api_calls=calls,
            fault_periods=sum(t.weather.values()),
            disruptions=sum(t.disruptions.values()) - t.disruptions[LOCKOUT],
            lockouts=t.disruptions[LOCKOUT],
            syncs=sum(t.syncs.values()),
            workers_killed=t.syncs["killed"] + t.flush_kills,
            flushes=t.flushes,
            refused_in_flight=sum(self.emulator.stats()["concurrency"]["refused"].values()),
        )


SUMMARY = []  # one line per chaos test module run, for pytest's terminal summary


def totals_line(runs):
    total = sum(runs, Counter())
    return (
        f"chaos: {total['seeds']} seeds ({total['converged']} converged), "
        f"{total['gmail_changes']} Gmail-side changes, {total['user_actions']} user actions, "
        f"{total['failed_api_calls']} failed API calls of {total['api_calls']}, "
        f"{total['fault_periods']} fault periods, {total['disruptions']} history/token "
        f"expiries, {total['syncs']} syncs, {total['flushes']} outbox flushes, "
        f"{total['workers_killed']} workers killed, {total['lockouts']} lockouts, "
        f"{total['refused_in_flight']} calls refused as too many in flight"
    )


def _counts(counter):
    return ", ".join(f"{k} {v}" for k, v in sorted(counter.items())) or "none"


def with_actions(state, waiting, *, ignore=()):
    """Gmail's state with the waiting user actions applied, as the mirror shows it."""
    messages = {gid: {**m, "labelIds": set(m["labelIds"])} for gid, m in state["messages"].items()}
    for action in waiting:
        if action.kind == Kind.SEND:
            continue
        for gmail_id in action.message_ids:
            if gmail_id not in messages:
                continue
            if action.kind == Kind.DELETE:
                del messages[gmail_id]
                continue
            add, remove = action.label_delta()
            labels = messages[gmail_id]["labelIds"]
            labels -= set(remove) - set(add)
            labels |= set(add)
    return without_labels({**state, "messages": messages}, ignore)


def without_labels(state, ignore):
    messages = {
        gid: {**m, "labelIds": sorted(set(m["labelIds"]) - set(ignore))}
        for gid, m in state["messages"].items()
    }
    return {**state, "messages": messages}


def describe_diff(gmail, mirror, limit=6):
    lines = []
    if gmail.get("historyId") != mirror.get("historyId"):
        lines.append(f"historyId Gmail {gmail.get('historyId')} mirror {mirror.get('historyId')}")
    theirs, ours = gmail["messages"], mirror["messages"]
    for message_id in sorted(theirs.keys() - ours.keys()):
        lines.append(f"missing {message_id} {theirs[message_id]}")
    for message_id in sorted(ours.keys() - theirs.keys()):
        lines.append(f"extra {message_id} {ours[message_id]}")
    for message_id in sorted(theirs.keys() & ours.keys()):
        if theirs[message_id] != ours[message_id]:
            lines.append(f"{message_id}: Gmail {theirs[message_id]} mirror {ours[message_id]}")
    more = f" (+{len(lines) - limit} more)" if len(lines) > limit else ""
    return "; ".join(lines[:limit]) + more
