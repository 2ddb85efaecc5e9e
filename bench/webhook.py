"""Webhook: server time of `POST /webhooks/gmail/` with a valid Pub/Sub push.

In-process through Django's test client, like the inbox: verification (the `?token=`
secret, and in the second measurement also the OIDC JWT, checked against the emulator's
certificates, which the webhook caches), the dedupe key in Redis, the hint written to
PostgreSQL and the `mailbox_sync` task published to the Redis broker. The "queued" flag
is cleared before each push (outside the timing) so that every push really enqueues, as
it does when the worker is keeping up. The JWT is a real one: the emulator's Pub/Sub
push to a small receiver on 127.0.0.1 is captured once and replayed with fresh message
ids. The floor is a trivial public POST endpoint given the same body and headers. The
queue is purged afterwards (no worker runs here).
"""

import base64
import datetime as dt
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.conf import settings
from django.test import Client, override_settings

from accounts.models import GmailAccount, User
from bench.corpus import PlannedMessage, raw_message
from bench.harness import Report, queues_purge, summary_ms
from sync.coordination import Flag, flag_pop
from sync.models import SyncStatus

EMAIL = "hook@bench.example"
AUDIENCE = "https://tern-bench.example/webhooks/gmail/"
FLOOR_URL = "/bench/floor/public/"
WARMUP = 20
ROUNDS = 10
PER_ROUND = 25


def _capture_push_token(emulator):
    """One real push from the emulator: answers its Authorization bearer token."""
    captured = []
    arrived = threading.Event()

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("content-length") or 0))
            captured.append(self.headers.get("Authorization", ""))
            arrived.set()
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        emulator.set_config(
            push_endpoint=f"http://127.0.0.1:{server.server_address[1]}/webhooks/gmail/",
            push_token=settings.PUBSUB_VERIFICATION_TOKEN,
            push_audience=AUDIENCE,
            push_service_account=settings.PUBSUB_SERVICE_ACCOUNT,
        )
        emulator.create_user("pusher@bench.example", "Push Source")
        gmail = emulator.gmail_issued("pusher@bench.example")
        gmail.users().watch(userId="me", body={"topicName": settings.GMAIL_PUBSUB_TOPIC}).execute()
        message = PlannedMessage(
            index=0,
            sender=("Carol Jones", "carol@elsewhere.example"),
            to=("Push Source", "pusher@bench.example"),
            subject="A push, please",
            date=dt.datetime.now(dt.UTC),
            body="Hello",
            labels=["INBOX"],
            rfc822_id="<push-capture@bench.example>",
        )
        raw = base64.urlsafe_b64encode(raw_message(message)).decode()
        gmail.users().messages().insert(
            userId="me", body={"raw": raw, "labelIds": ["INBOX"]}
        ).execute()
        if not arrived.wait(10):
            raise RuntimeError("the emulator sent no push within 10 s")
    finally:
        emulator.set_config(push_endpoint=None)
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    return captured[0].removeprefix("Bearer ")


def _body(n):
    data = json.dumps({"emailAddress": EMAIL, "historyId": str(5000 + n)}).encode()
    return json.dumps(
        {
            "message": {
                "data": base64.b64encode(data).decode(),
                "messageId": f"bench-{time.time_ns()}-{n}",
                "publishTime": "2026-01-01T10:00:00.123Z",
            },
            "subscription": "projects/tern-bench/subscriptions/gmail-push",
        }
    )


def _measure(client, account, headers, count):
    """Alternate floor and webhook requests; answers (floor seconds, webhook seconds)."""
    url = f"/webhooks/gmail/?token={settings.PUBSUB_VERIFICATION_TOKEN}"
    floor, hook = [], []
    counter = iter(range(10**9))
    for round_no in range(count):
        order = [("floor", FLOOR_URL), ("hook", url)]
        for kind, target in order if round_no % 2 == 0 else order[::-1]:
            for _ in range(PER_ROUND):
                body = _body(next(counter))
                flag_pop(Flag.QUEUED, account.pk)
                started = time.perf_counter()
                response = client.post(
                    target, data=body, content_type="application/json", headers=headers
                )
                elapsed = time.perf_counter() - started
                if response.status_code != 204:
                    raise RuntimeError(f"{target} answered {response.status_code}")
                (floor if kind == "floor" else hook).append(elapsed)
    return floor, hook


def run(ctx):
    report = Report("webhook")
    emulator = ctx.emulator()
    token = _capture_push_token(emulator)
    queues_purge()
    user = User.objects.create(username="hook", email=EMAIL)
    account = GmailAccount.objects.create(user=user, email=EMAIL, google_sub="bench-hook")
    SyncStatus.objects.create(account=account, full_sync_state=SyncStatus.FullSync.DONE)
    client = Client()
    figures = {}
    requests = 0
    for variant, audience, headers in [
        ("token", "", {}),
        ("token+OIDC", AUDIENCE, {"Authorization": f"Bearer {token}"}),
    ]:
        with override_settings(PUBSUB_AUDIENCE=audience):
            # Warm-up, which also fetches and caches the emulator's certificates.
            _measure(client, account, headers, 1)
            floor, hook = _measure(client, account, headers, ROUNDS)
        requests += (ROUNDS + 1) * PER_ROUND
        figures[variant] = {"floor_ms": summary_ms(floor), "webhook_ms": summary_ms(hook)}
    enqueued = queues_purge()
    health = []
    for n in range(WARMUP + ROUNDS * PER_ROUND):
        started = time.perf_counter()
        if client.get("/health/").status_code != 200:
            raise RuntimeError("/health/ is not ok")
        if n >= WARMUP:
            health.append(time.perf_counter() - started)
    health_ms = summary_ms(health)
    for variant, stats in figures.items():
        floor, hook = stats["floor_ms"], stats["webhook_ms"]
        report.add(f"floor p50 (public POST), {variant} run", floor["p50"], "ms")
        report.add(f"webhook p50, {variant}", hook["p50"], "ms", floor=floor["p50"])
        report.add(f"webhook p95, {variant}", hook["p95"], "ms", floor=floor["p95"])
        report.add(f"webhook max, {variant}", hook["max"], "ms", floor=floor["max"])
    report.add("/health/ p50 (reference: one query, one Redis ping)", health_ms["p50"], "ms")
    report.add(
        "sync tasks enqueued / pushes",
        f"{enqueued}/{requests}",
        bar="one per push",
        passed=enqueued == requests,
    )
    status = SyncStatus.objects.get(account=account)
    report.details = {
        **figures,
        "health_ms": health_ms,
        "pushes": requests,
        "tasks_enqueued": enqueued,
        "last_push_history_id": status.last_push_history_id,
        "note": "the queued flag is cleared before each push, so each one enqueues",
    }
    return report
