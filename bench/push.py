"""Push to mirror: from a message arriving in Gmail to its row in PostgreSQL.

Every part is a real process on 127.0.0.1: the emulator (Gmail and Pub/Sub), Tern's
web server (uvicorn, as the Procfile runs it, `config.asgi`, on the bench settings, OIDC
and token both checked), and a Celery worker (`--pool solo`, queues sync, sync_full and
outbox) on the Redis broker. The mailbox is connected and fully synced first, then watched
(`sync.services.watch_register`), so the emulator pushes each change to the webhook.

Each timed message is delivered with `messages.insert` through the app's Gmail client;
the clock starts when insert returns and stops when this process sees the message's row
(polling every 5 ms). Messages are spaced 1.5 s apart because Gmail (and the emulator)
coalesce notifications to about one a second per mailbox: each push then stands alone.
`SyncStatus.last_push_at`, written by the webhook, splits the time into "Gmail to
webhook" (the emulator's push path) and "webhook to mirror" (queue, worker, sync).
"""

import base64
import datetime as dt
import sys
import time

from django.conf import settings

from accounts.models import User
from bench.corpus import PlannedMessage, raw_message
from bench.harness import (
    BIN,
    Report,
    django_env,
    http_ok,
    queues_purge,
    summary_ms,
    user_units,
    wait_until,
)
from emulator.client import free_port, spawn
from mail.models import Message
from support.mailbox import account_connect, sync_to_end
from sync.models import SyncStatus
from sync.services import watch_register

EMAIL = "live@bench.example"
SPACING_S = 1.5
WARMUP = 2
TIMEOUT_S = 10.0
BAR_P95_MS = 1000.0


def _message(n):
    return PlannedMessage(
        index=n,
        sender=("Carol Jones", "carol@elsewhere.example"),
        to=("Live Mailbox", EMAIL),
        subject=f"Live message {n}",
        date=dt.datetime.now(dt.UTC),
        body=f"Message number {n}, delivered while the benchmark watches the mirror.",
        labels=["INBOX", "UNREAD", "CATEGORY_PERSONAL"],
        rfc822_id=f"<live-{n}-{time.time_ns()}@bench.example>",
    )


def _insert(gmail, n):
    raw = base64.urlsafe_b64encode(raw_message(_message(n))).decode()
    body = {"raw": raw, "labelIds": ["INBOX", "UNREAD", "CATEGORY_PERSONAL"]}
    return gmail.users().messages().insert(userId="me", body=body).execute()


def _wait_for_row(account, gmail_id):
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        if Message.objects.filter(account=account, gmail_id=gmail_id).exists():
            return True
        time.sleep(0.005)
    return False


def _start_tern(ctx, port, audience, processes):
    """Start the web server and the worker, appending each to `processes` (to stop)."""
    env = django_env(BENCH_PUBSUB_AUDIENCE=audience)
    web = spawn(
        "web",
        [
            str(BIN / "uvicorn"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--lifespan",
            "off",
            "config.asgi:application",
        ],
        ctx.log_dir / "web.log",
        env=env,
    )
    processes.append(web)
    worker = spawn(
        "worker",
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config.celery_app",
            "worker",
            "-Q",
            "sync,sync_full,outbox",
            "--pool",
            "solo",
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        ctx.log_dir / "worker.log",
        env=env,
    )
    processes.append(worker)


def run(ctx):
    report = Report("push")
    emulator = ctx.emulator()
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}/webhooks/gmail/"
    user = User.objects.create(username="live", email=EMAIL)
    account = account_connect(emulator, user=user, email=EMAIL, name="Live Mailbox")
    gmail = emulator.gmail_issued(EMAIL)
    for n in range(5):  # something to sync first
        _insert(gmail, -1 - n)
    sync_to_end(account)
    emulator.set_config(
        push_endpoint=endpoint,
        push_token=settings.PUBSUB_VERIFICATION_TOKEN,
        push_audience=endpoint,
        push_service_account=settings.PUBSUB_SERVICE_ACCOUNT,
    )
    queues_purge()
    processes = []
    try:
        _start_tern(ctx, port, endpoint, processes)
        web, worker = processes
        wait_until(http_ok(f"http://127.0.0.1:{port}/health/"), web, timeout=30, what="no health")
        wait_until(lambda: " ready." in worker.log_text(), worker, timeout=30, what="not ready")
        watch_register(account=account)
        before = emulator.stats()
        latencies, to_webhook, missing = [], [], 0
        last_insert = 0.0
        for n in range(WARMUP + ctx.push_count):
            time.sleep(max(0.0, last_insert + SPACING_S - time.monotonic()))
            inserted = _insert(gmail, n)
            started, wall = time.monotonic(), time.time()
            last_insert = started
            found = _wait_for_row(account, inserted["id"])
            elapsed = time.monotonic() - started
            if n < WARMUP:
                continue
            if not found:
                missing += 1
                continue
            latencies.append(elapsed)
            pushed = SyncStatus.objects.get(account=account).last_push_at
            if pushed is not None:
                to_webhook.append(pushed.timestamp() - wall)
        after = emulator.stats()
    finally:
        for process in processes:
            process.stop()
        emulator.set_config(push_endpoint=None)
        queues_purge()
    stats = summary_ms(latencies)
    webhook_ms = summary_ms(to_webhook)
    ok = stats["p95"] < BAR_P95_MS and not missing
    report.add("insert → mirror p50", stats["p50"], "ms")
    report.add("insert → mirror p95", stats["p95"], "ms", bar=f"<{BAR_P95_MS:g} ms", passed=ok)
    report.add("insert → mirror max", stats["max"], "ms")
    report.add("insert → webhook p50 (Gmail's side)", webhook_ms["p50"], "ms")
    report.add(
        "webhook → mirror p50 (Tern's side)",
        round(stats["p50"] - webhook_ms["p50"], 2),
        "ms",
    )
    report.add(
        "messages mirrored / delivered",
        f"{len(latencies)}/{ctx.push_count}",
        bar="all",
        passed=not missing,
    )
    pushes = {key: after["pushes"][key] - before["pushes"].get(key, 0) for key in after["pushes"]}
    units, _, _, methods = user_units(after, EMAIL)
    units0, _, _, methods0 = user_units(before, EMAIL)
    sync_calls = {
        name: m["calls"] - methods0.get(name, {}).get("calls", 0)
        for name, m in methods.items()
        if name != "users.messages.insert"
    }
    report.add("pushes delivered / retried", f"{pushes['delivered']}/{pushes['retried']}")
    history_calls = sync_calls.get("users.history.list", 0)
    report.add(
        "history.list calls per push",
        round(history_calls / max(1, pushes["delivered"]), 2),
        "",
        # The push's own sync, plus at most one look once Gmail's one-second drop window
        # has closed (sync.tasks FOLLOW_UP_AFTER: a push Gmail dropped loses nothing).
        bar="≤2",
        passed=history_calls <= 2 * pushes["delivered"],
    )
    report.details = {
        "insert_to_mirror_ms": stats,
        "insert_to_webhook_ms": webhook_ms,
        "missing": missing,
        "spacing_s": SPACING_S,
        "pushes": pushes,
        "gmail_calls_by_tern_during_run": sync_calls,
        "units_during_run": units - units0,
    }
    return report
