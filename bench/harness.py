"""What every benchmark stands on: the bench's database and Redis keys, processes on
free ports (the emulator, the web server, the worker), mailboxes filled through the
Gmail API, and the statistics every figure is reported with. Starting processes, the
emulator's client and connected accounts come from ``emulator.client`` and ``support``,
which the tests use too."""

import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
from django.conf import settings
from django.core.management import call_command
from django.db import connections
from psycopg import sql

from support.emulator import Emulator

REPO_ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


# --- the database and Redis --------------------------------------------------------------


def _maintenance_connection():
    params = settings.DATABASES["default"]
    return psycopg.connect(
        host=params.get("HOST") or None,
        port=params.get("PORT") or None,
        user=params.get("USER") or None,
        password=params.get("PASSWORD") or None,
        dbname="postgres",
        autocommit=True,
    )


def _bench_database_name():
    from bench.settings import BENCH_DATABASE_NAME

    name = settings.DATABASES["default"]["NAME"]
    if name != BENCH_DATABASE_NAME:  # never drop anything but the bench's own database
        raise RuntimeError(f"refusing to touch database {name!r}")
    return name


def database_drop():
    name = _bench_database_name()
    connections.close_all()
    with _maintenance_connection() as conn:
        drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        conn.execute(drop.format(sql.Identifier(name)))


def database_reset():
    """Drop and create the bench database, then migrate it."""
    name = _bench_database_name()
    database_drop()
    with _maintenance_connection() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    call_command("migrate", verbosity=0, interactive=False)


def redis_clean():
    """Delete every key under the bench prefix (cache, locks, quota buckets, broker)."""
    import redis

    from bench.settings import BENCH_KEY_PREFIX

    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        keys = list(client.scan_iter(f"{BENCH_KEY_PREFIX}:*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])
    finally:
        client.close()


def queues_purge():
    """Empty the Celery queues (under the bench prefix); answers how many tasks went."""
    from config.celery_app import app

    purged = 0
    with app.connection_for_write() as conn:
        channel = conn.default_channel
        for queue in ("sync", "sync_full", "outbox"):
            purged += channel.queue_purge(queue) or 0
    return purged


# --- processes ---------------------------------------------------------------------------


def wait_until(check, process, *, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process.alive():
            raise RuntimeError(f"{process.name} exited early:\n{process.log_text()[-3000:]}")
        if check():
            return
        time.sleep(0.05)
    raise RuntimeError(f"{process.name}: {what} within {timeout}s\n{process.log_text()[-3000:]}")


def http_ok(url):
    def check():
        try:
            return httpx.get(url, timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    return check


def django_env(**extra):
    """Environment of a subprocess running the app on the bench settings."""
    return {
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "PYTHONPATH": str(REPO_ROOT),
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


# --- the emulator ------------------------------------------------------------------------


def emulator_start(log_dir, *args, name="emulator", port=None):
    """A `python -m emulator` process (log in `log_dir`) and its client, on the OAuth
    client of the bench settings; the client's close() stops the process too."""
    return Emulator.start(
        Path(log_dir) / f"{name}.log",
        *args,
        port=port,
        start_timeout=30,
        name=name,
        client_id=settings.GOOGLE_CLIENT_ID,
        client_secret=settings.GOOGLE_CLIENT_SECRET,
        timeout=30,
    )


def user_units(stats, email):
    """(units, calls, errors, per-method) that the emulator charged `email` so far."""
    user = stats["users"].get(email, {"units": 0, "calls": 0, "methods": {}})
    errors = sum(m["errors"] for m in user["methods"].values())
    return user["units"], user["calls"], errors, user["methods"]


def mailbox_fill(gmail, threads, *, user_label_ids, batch_size=50):
    """messages.import every planned message (oldest first, so replies find what they
    answer), `batch_size` to a batch request; answers the number imported."""
    import base64

    from bench.corpus import raw_message

    messages = sorted((m for t in threads for m in t.messages), key=lambda m: m.date)
    failures = []

    def collect(request_id, response, exception):
        if exception is not None:
            failures.append(exception)

    for start in range(0, len(messages), batch_size):
        batch = gmail.new_batch_http_request(callback=collect)
        for message in messages[start : start + batch_size]:
            body = {
                "raw": base64.urlsafe_b64encode(raw_message(message)).decode(),
                "labelIds": [user_label_ids.get(name, name) for name in message.labels],
            }
            batch.add(
                gmail.users()
                .messages()
                .import_(userId="me", body=body, internalDateSource="dateHeader")
            )
        batch.execute()
        if failures:
            raise RuntimeError(f"import failed: {failures[0]}")
    return len(messages)


def user_labels_create(gmail, names):
    ids = {}
    for name in names:
        label = gmail.users().labels().create(userId="me", body={"name": name}).execute()
        ids[name] = label["id"]
    return ids


# --- figures -----------------------------------------------------------------------------


def percentile(values, q):
    """Nearest-rank percentile of `values` (q in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def summary_ms(seconds):
    """p50/p95/max/mean in milliseconds of durations given in seconds."""
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "p50": round(percentile(ms, 50), 2),
        "p95": round(percentile(ms, 95), 2),
        "max": round(max(ms), 2) if ms else math.nan,
        "mean": round(sum(ms) / len(ms), 2) if ms else math.nan,
    }


@dataclass
class Report:
    """What one benchmark answers: rows for the table, details for the JSON."""

    name: str
    rows: list = field(default_factory=list)
    details: dict = field(default_factory=dict)

    def add(self, metric, value, unit="", *, floor=None, bar="", passed=None, ratio=None):
        if ratio is None and floor:
            ratio = value / floor
        self.rows.append(
            {
                "metric": metric,
                "value": value,
                "unit": unit,
                "floor": floor,
                "ratio": round(ratio, 2) if ratio is not None else None,
                "bar": bar,
                "pass": passed,
            }
        )

    def as_dict(self):
        return {"name": self.name, "rows": self.rows, "details": self.details}
