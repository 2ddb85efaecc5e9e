"""What every benchmark stands on: the bench's database and Redis keys, processes on
free ports (the emulator, the web server, the worker), connected accounts, and the
statistics every figure is reported with."""

import datetime as dt
import math
import os
import socket
import subprocess
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

REPO_ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SCOPES = (
    "openid",
    "email",
    "profile",
    "https://www.googleapis.com/auth/gmail.modify",
)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log_path: Path

    def log_text(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def alive(self):
        return self.popen.poll() is None

    def stop(self):
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=5)


def spawn(name, args, log_dir, env=None):
    log_path = Path(log_dir) / f"{name}.log"
    with log_path.open("w") as log:
        popen = subprocess.Popen(
            args,
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
    return Process(name, popen, log_path)


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


class Emulator:
    """A `python -m emulator` process and its control API."""

    def __init__(self, process, url):
        self.process = process
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=30)

    @classmethod
    def start(cls, log_dir, *args, name="emulator", port=None):
        port = port or free_port()
        process = spawn(
            name,
            [
                sys.executable,
                "-m",
                "emulator",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
                *args,
            ],
            log_dir,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until(
                http_ok(f"{url}/_emulator/health"), process, timeout=30, what="did not answer"
            )
        except BaseException:
            process.stop()
            raise
        return cls(process, url)

    def stop(self):
        self.http.close()
        self.process.stop()

    def _ok(self, response):
        if response.status_code >= 300:
            raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text}")
        return response.json() if response.content else None

    def reset(self):
        return self._ok(self.http.post("/_emulator/reset"))

    def create_user(self, email, name):
        return self._ok(self.http.post("/_emulator/users", json={"email": email, "name": name}))

    def issue_tokens(self, email, ttl_s=None):
        body = {"scopes": list(SCOPES), "client_id": settings.GOOGLE_CLIENT_ID, "ttl_s": ttl_s}
        return self._ok(self.http.post(f"/_emulator/users/{email}/tokens", json=body))

    def set_config(self, **changes):
        return self._ok(self.http.put("/_emulator/config", json=changes))

    def stats(self):
        return self._ok(self.http.get("/_emulator/stats"))

    def state(self, email):
        return self._ok(self.http.get(f"/_emulator/users/{email}/state"))

    def advance_clock(self, seconds):
        return self._ok(self.http.post("/_emulator/clock", json={"seconds": seconds}))

    def gmail(self, email):
        """A Gmail service for `email` built by the app's one client builder."""
        from gmail.client import build_credentials, build_service

        tokens = self.issue_tokens(email)
        expiry = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=tokens["expires_in"])
        credentials = build_credentials(
            token=tokens["access_token"],
            refresh_token=tokens.get("refresh_token"),
            expiry=expiry,
            scopes=tokens["scope"].split(),
        )
        return build_service(credentials)


def user_units(stats, email):
    """(units, calls, errors, per-method) that the emulator charged `email` so far."""
    user = stats["users"].get(email, {"units": 0, "calls": 0, "methods": {}})
    errors = sum(m["errors"] for m in user["methods"].values())
    return user["units"], user["calls"], errors, user["methods"]


def account_connect(emulator, *, email, name, username, identity=None):
    """An emulated mailbox connected to a new Tern user with real tokens from the
    emulator, stored encrypted (as tests/sync/helpers.connect does). The emulated user
    is created unless its `identity` (the answer of create_user) is given."""
    from accounts.credentials import tokens_store
    from accounts.models import GmailAccount, User

    identity = identity or emulator.create_user(email, name)
    tokens = emulator.issue_tokens(email)
    user = User.objects.create(username=username, email=email)
    account = GmailAccount.objects.create(
        user=user, email=email, google_sub=identity.get("sub", email), display_name=name
    )
    tokens_store(
        account=account,
        access_token=tokens["access_token"],
        refresh_token=tokens.get("refresh_token"),
        expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=tokens["expires_in"]),
        scopes=tokens["scope"].split(),
    )
    return account


def mailbox_fill(gmail, threads, *, user_label_ids, batch_size=100):
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
