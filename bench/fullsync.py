"""Full sync against the quota: how much of Gmail's per-user quota Tern uses, and how soon
the first inbox page is there.

A mailbox of a few thousand messages (bench/corpus.py: threads of one to four messages,
about 60% of threads in the inbox) is imported into an emulator of its own, with the
quota lifted while loading; its clock is then moved on a minute, so loading's units
leave the quota window, and the per-user quota is set to the value Tern is given
(GMAIL_QUOTA_UNITS_PER_MINUTE, the same number on both sides). The mailbox is then
connected and `sync.services.mailbox_sync` is called in this process until it is done
(Outcome.MORE means call again), exactly as the full-sync queue's task does.

Meanwhile a second thread asks `mail.selectors.thread_list(user, label_gmail_id="INBOX")`
every 20 ms, which gives the time to the first inbox page (50 threads), and samples the
emulator's stats every second, which gives the busiest sliding minute.

Figures: units charged by the emulator per minute of sync as a fraction of the quota
(Tern spends 95% steadily plus a 5% burst, so ~99% is the ceiling of a 60-90 s run);
errors the emulator answered (429s above all; there should be none); Tern's own count
of units reserved (`sync.coordination.quota_spent`) beside the emulator's; and whether
the mirror equals Gmail at the end.
"""

import threading
import time

from django.db import connection
from django.test import override_settings

from accounts.models import User
from bench.corpus import USER_LABELS, conversations
from bench.harness import Report, emulator_start, mailbox_fill, user_labels_create, user_units
from mail.selectors import PAGE_SIZE, thread_list
from support.mailbox import account_connect
from sync.coordination import quota_spent
from sync.selectors import mailbox_state
from sync.services import Outcome, mailbox_sync

EMAIL = "big@bench.example"
NAME = "Big Mailbox"
UNLIMITED = 10**9
FRACTION_BAR = 0.90
FIRST_PAGE_BAR_S = 5.0
DEADLINE_S = 300.0


class Watcher(threading.Thread):
    """Polls the inbox page and samples the emulator's units while the sync runs."""

    def __init__(self, user, emulator, started):
        super().__init__(daemon=True)
        self.user = user
        self.emulator = emulator
        self.started = started
        self.stop = threading.Event()
        self.first_thread_s = None
        self.first_page_s = None
        self.samples = []  # (seconds since start, units charged so far)
        self.shown = []  # (seconds since start, threads on the inbox page) at each change
        self.error = None

    def run(self):
        next_sample = 0.0
        try:
            while not self.stop.is_set():
                shown = len(thread_list(user=self.user, label_gmail_id="INBOX"))
                at = time.monotonic() - self.started
                if not self.shown or self.shown[-1][1] != shown:
                    self.shown.append((round(at, 3), shown))
                if shown and self.first_thread_s is None:
                    self.first_thread_s = at
                if shown >= PAGE_SIZE and self.first_page_s is None:
                    self.first_page_s = at
                if at >= next_sample:
                    units = user_units(self.emulator.stats(), EMAIL)[0]
                    self.samples.append((at, units))
                    next_sample += 1.0
                self.stop.wait(0.02)
        except Exception as error:  # reported by the benchmark
            self.error = error
        finally:
            connection.close()


def _busiest_minute(samples):
    """Units per minute over the busiest stretch of at least 60 s between two samples
    (samples are about a second apart); None if the run was shorter."""
    best = None
    for i, (start_at, start_units) in enumerate(samples):
        for end_at, end_units in samples[i:]:
            if end_at - start_at >= 60:
                rate = (end_units - start_units) * 60 / (end_at - start_at)
                best = rate if best is None else max(best, rate)
                break
    return round(best) if best is not None else None


def run(ctx):
    report = Report("fullsync")
    quota = ctx.fullsync_quota
    emulator = emulator_start(ctx.log_dir, "--quota", str(UNLIMITED), name="emulator-fullsync")
    try:
        overrides = {"GOOGLE_EMULATOR_URL": emulator.url, "GMAIL_QUOTA_UNITS_PER_MINUTE": quota}
        with override_settings(**overrides):
            return _run(ctx, report, emulator, quota)
    finally:
        emulator.close()


def _run(ctx, report, emulator, quota):
    emulator.set_config(project_quota_units_per_minute=UNLIMITED)
    identity = emulator.create_user(EMAIL, NAME)
    gmail = emulator.gmail_issued(EMAIL)
    label_ids = user_labels_create(gmail, USER_LABELS)
    plan = conversations(owner=(NAME, EMAIL), count=ctx.fullsync_messages, seed=7)
    loading = time.monotonic()
    imported = mailbox_fill(gmail, plan, user_label_ids=label_ids)
    load_s = time.monotonic() - loading
    inbox_threads = sum(any("INBOX" in m.labels for m in t.messages) for t in plan)
    ctx.say(
        f"fullsync: {imported} messages, {len(plan)} threads ({inbox_threads} in INBOX) "
        f"imported in {load_s:.1f} s; quota {quota} units/min"
    )
    emulator.advance_clock(61)  # loading's units leave the emulator's quota minute
    emulator.set_config(quota_units_per_minute=quota)
    user = User.objects.create(username="big", email=EMAIL)
    account = account_connect(emulator, user=user, email=EMAIL, name=NAME, identity=identity)
    before = emulator.stats()
    units0, calls0, errors0, _ = user_units(before, EMAIL)
    spent0 = quota_spent(account.pk)

    started = time.monotonic()
    watcher = Watcher(account.user, emulator, started)
    watcher.start()
    slices, pauses, outcome = 0, 0, None
    try:
        while time.monotonic() - started < DEADLINE_S:
            result = mailbox_sync(account_id=account.pk)
            slices += 1
            outcome = result.outcome
            if outcome == Outcome.MORE:
                continue
            if outcome == Outcome.PAUSED:
                pauses += 1
                wait = (result.retry_at.timestamp() - time.time()) if result.retry_at else 1
                time.sleep(max(0.05, min(wait, 30)))
                continue
            break
        duration = time.monotonic() - started
    finally:
        watcher.stop.set()
        watcher.join(timeout=10)
    after = emulator.stats()
    units1, calls1, errors1, methods1 = user_units(after, EMAIL)
    methods0 = user_units(before, EMAIL)[3]
    methods = {
        name: {key: value - methods0.get(name, {}).get(key, 0) for key, value in figures.items()}
        for name, figures in methods1.items()
    }
    methods = {name: figures for name, figures in methods.items() if figures["calls"]}
    units, calls, errors = units1 - units0, calls1 - calls0, errors1 - errors0
    tern_units = quota_spent(account.pk) - spent0
    gmail_state = emulator.state(EMAIL)
    mirror = mailbox_state(account=account)
    matches = mirror["messages"] == gmail_state["messages"]

    per_minute = units / (duration / 60)
    fraction = per_minute / quota
    busiest = _busiest_minute(watcher.samples)
    synced = len(mirror["messages"])
    report.add("messages synced", synced, "", bar=f"={imported}", passed=synced == imported)
    report.add("sync duration", round(duration, 1), "s")
    report.add("messages per second", round(synced / duration, 1), "msg/s")
    report.add("Gmail units per minute", round(per_minute), "u/min", floor=quota)
    report.add(
        "share of the quota used",
        round(fraction, 3),
        "",
        bar=f"≥{FRACTION_BAR:.0%}",
        passed=fraction >= FRACTION_BAR,
    )
    if busiest is not None:
        report.add("busiest minute (sampled), share of the quota", round(busiest / quota, 3), "")
    report.add("errors from Gmail (429s etc.)", errors, "", bar="0", passed=errors == 0)
    report.add("units Tern reserved / Gmail charged", f"{tern_units}/{units}")
    first_page = watcher.first_page_s
    first_shown = next((shown for _, shown in watcher.shown if shown), 0)
    report.add(
        "time to first inbox thread",
        round(watcher.first_thread_s, 2) if watcher.first_thread_s is not None else None,
        "s",
    )
    report.add("threads on the inbox page at that moment", first_shown, "")
    report.add(
        f"time to first inbox page ({PAGE_SIZE} threads)",
        round(first_page, 2) if first_page is not None else None,
        "s",
        bar=f"<{FIRST_PAGE_BAR_S:g} s",
        passed=first_page is not None and first_page < FIRST_PAGE_BAR_S,
    )
    report.add("mirror equals Gmail", "yes" if matches else "no", bar="yes", passed=matches)
    report.details = {
        "quota_units_per_minute": quota,
        "mailbox": {
            "messages": imported,
            "threads": len(plan),
            "inbox_threads": inbox_threads,
            "import_s": round(load_s, 1),
        },
        "duration_s": round(duration, 2),
        "outcome": outcome,
        "slices": slices,
        "pauses": pauses,
        "units_charged": units,
        "units_reserved_by_tern": tern_units,
        "calls": calls,
        "errors": errors,
        "methods": methods,
        "busiest_minute_units_per_minute": busiest,
        "first_inbox_thread_s": watcher.first_thread_s,
        "first_inbox_page_s": first_page,
        "watcher_error": repr(watcher.error) if watcher.error else None,
        "inbox_page_timeline": watcher.shown,
        "unit_samples": watcher.samples,
    }
    return report
