"""Emulator throughput: is the emulator ever the bottleneck of a benchmark?

`messages.get` (format=full) through the app's Gmail client (google-api-python-client,
as the sync engine calls it), one request at a time and in batches of 50 (what the sync
engine sends), against a mailbox of a few hundred messages with the quota lifted. The
floor here is what a sync needs: at Gmail's 15,000 units per user per minute,
messages.get at 5 units is 50 calls a second. The ratio is the headroom.
"""

import time

from bench.corpus import USER_LABELS, conversations
from bench.harness import Report, mailbox_fill, user_labels_create

EMAIL = "fast@bench.example"
MESSAGES = 300
SECONDS = 4.0
BATCH = 50
QUOTA = 15_000
GET_UNITS = 5
HEADROOM_BAR = 2.0


def _single(gmail, ids):
    done, started = 0, time.monotonic()
    while time.monotonic() - started < SECONDS:
        gmail.users().messages().get(userId="me", id=ids[done % len(ids)], format="full").execute()
        done += 1
    return done / (time.monotonic() - started)


def _batched(gmail, ids):
    failures = []

    def collect(request_id, response, exception):
        if exception is not None:
            failures.append(exception)

    done, started = 0, time.monotonic()
    while time.monotonic() - started < SECONDS:
        batch = gmail.new_batch_http_request(callback=collect)
        for n in range(BATCH):
            message_id = ids[(done + n) % len(ids)]
            batch.add(gmail.users().messages().get(userId="me", id=message_id, format="full"))
        batch.execute()
        done += BATCH
    if failures:
        raise RuntimeError(f"batched get failed: {failures[0]}")
    return done / (time.monotonic() - started)


def run(ctx):
    report = Report("emulator")
    emulator = ctx.emulator()
    emulator.set_config(
        quota_units_per_minute=10**9, project_quota_units_per_minute=10**9
    )  # lifted: this measures the emulator, not the quota
    emulator.create_user(EMAIL, "Fast Mailbox")
    gmail = emulator.gmail_issued(EMAIL)
    labels = user_labels_create(gmail, USER_LABELS)
    plan = conversations(owner=("Fast Mailbox", EMAIL), count=MESSAGES, seed=11)
    mailbox_fill(gmail, plan, user_label_ids=labels)
    listed = gmail.users().messages().list(userId="me", maxResults=500).execute()
    ids = [m["id"] for m in listed["messages"]]
    need = QUOTA / 60 / GET_UNITS
    single = _single(gmail, ids)
    batched = _batched(gmail, ids)
    report.add("messages.get/s needed at 15k units/min", round(need, 1), "/s")
    report.add("messages.get/s, one request each", round(single, 1), "/s", floor=need)
    report.add(
        f"messages.get/s, batches of {BATCH}",
        round(batched, 1),
        "/s",
        floor=need,
        bar=f"≥{HEADROOM_BAR:g}x need",
        passed=batched >= HEADROOM_BAR * need,
    )
    report.details = {
        "mailbox_messages": len(ids),
        "seconds_each": SECONDS,
        "single_per_s": round(single, 1),
        "batched_per_s": round(batched, 1),
        "needed_per_s": need,
        "server_stats": emulator.stats()["server"],
    }
    return report
