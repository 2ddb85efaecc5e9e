"""Gmail's rougher answers, through the emulator over HTTP: the transient 400, lockouts,
the per-user limit of calls in flight, and page tokens that expire (issue 10)."""

import datetime as dt
import io
import threading
import time

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from gmail.errors import PermanentError
from mail import services as mail_services
from mail.models import Message, OutboxAction, Thread
from monitoring.health import check_sync
from support.mailbox import sync_until_done
from sync import coordination, services
from sync.coordination import MailboxLimits
from sync.models import SyncStatus
from sync.outbox import outbox_flush
from sync.services import Outcome
from tests.sync.helpers import FULL_SCOPES, assert_mirror_equals_gmail, deliver, raw_message

ALICE = "alice@example.com"
pytestmark = pytest.mark.django_db


def successful_calls(emulator, method):
    entry = emulator.stats()["users"].get(ALICE, {}).get("methods", {}).get(method, {})
    return entry.get("calls", 0) - entry.get("errors", 0)


def calls(emulator):
    return emulator.stats()["users"].get(ALICE, {}).get("calls", 0)


def archived(gmail, count):
    """`count` messages outside the inbox: a full sync lists them page by page."""
    return [deliver(gmail, raw_message(to=ALICE), labels=()) for _ in range(count)]


# --- the transient 400 ------------------------------------------------------------------


def test_an_archive_gmail_refuses_once_with_its_transient_400_is_not_shown_refused(
    emulator, mailbox, gmail, no_celery
):
    stored = deliver(gmail, raw_message(to=ALICE, subject="Routine"))
    sync_until_done(mailbox)
    mail_services.thread_archive(thread=Thread.objects.get(account=mailbox))
    # Seed 4: the first batchModify answers 400 "Precondition check failed.", the next 200.
    emulator.set_faults(
        error_rate=0.5, statuses=[400], methods=["users.messages.batchModify"], seed=4
    )

    outbox_flush(account_id=mailbox.pk)

    assert not OutboxAction.objects.filter(account=mailbox).exists()
    assert emulator.state(ALICE)["messages"][stored["id"]]["labelIds"] == ["UNREAD"]


def test_a_full_sync_retries_the_batch_calls_refused_with_the_transient_400(
    emulator, mailbox, gmail
):
    archived(gmail, 12)
    emulator.set_faults(error_rate=0.4, statuses=[400], methods=["users.messages.get"], seed=11)

    sync_until_done(mailbox)

    assert_mirror_equals_gmail(emulator, mailbox)


# --- the in-flight limit ------------------------------------------------------------------


def test_a_batch_refused_in_part_for_concurrency_keeps_its_answers_and_shrinks(
    emulator, mailbox, gmail
):
    archived(gmail, 40)
    emulator.set_config(concurrent_requests_per_user=8)

    sync_until_done(mailbox)

    assert_mirror_equals_gmail(emulator, mailbox)
    assert successful_calls(emulator, "users.messages.get") == 40  # none fetched twice
    assert emulator.stats()["concurrency"]["refused"][ALICE] > 0
    assert MailboxLimits(mailbox.pk).batch_size() <= 12  # halved after the 429s


@pytest.mark.django_db(transaction=True)
def test_a_sync_and_the_outbox_of_one_mailbox_stay_within_the_limit_together(
    emulator, mailbox, gmail, no_celery, monkeypatch
):
    deliver(gmail, raw_message(to=ALICE, subject="Read me"))
    sync_until_done(mailbox)
    archived(gmail, 30)
    monkeypatch.setattr(coordination, "MAILBOX_IN_FLIGHT", 6)
    emulator.set_config(concurrent_requests_per_user=6)
    emulator.set_faults(latency_ms=150)
    thread = Thread.objects.get(account=mailbox)
    syncing = threading.Thread(target=resync, args=[mailbox.pk])

    syncing.start()
    while syncing.is_alive():  # the user reads and unreads while the resync runs
        mail_services.thread_mark_read(thread=thread)
        outbox_flush(account_id=mailbox.pk)
        mail_services.thread_mark_unread(thread=thread)
        outbox_flush(account_id=mailbox.pk)
    syncing.join()

    assert emulator.stats()["concurrency"]["refused"] == {}
    assert emulator.stats()["concurrency"]["peak"][ALICE] == 6
    assert not OutboxAction.objects.filter(account=mailbox).exists()


def resync(account_id):
    try:
        services.mailbox_sync(account_id=account_id, full=True)
    finally:
        connection.close()  # this thread's own connection


# --- lockouts ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 403])
def test_a_lockout_pauses_the_mailbox_until_gmails_time_with_no_call_before(
    emulator, mailbox, gmail, no_celery, status
):
    deliver(gmail, raw_message(to=ALICE))
    sync_until_done(mailbox)
    deliver(gmail, raw_message(to=ALICE))
    until = dt.datetime.fromtimestamp(
        emulator.lockout(ALICE, seconds=900, status=status)["until"], dt.UTC
    )
    if status == 403:  # "Queries per minute per user" gives no time: a minute at a time
        until = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)

    result = services.mailbox_sync(account_id=mailbox.pk)

    assert result.outcome == Outcome.PAUSED
    assert abs((result.retry_at - until).total_seconds()) < 5
    status_row = SyncStatus.objects.get(account=mailbox)
    assert abs((status_row.paused_until - until).total_seconds()) < 5
    assert "locked out by Gmail" in check_sync()[1]
    refused_calls = calls(emulator)
    # Neither a sync asked for anyway nor the outbox calls Gmail before the lockout ends.
    SyncStatus.objects.filter(account=mailbox).update(paused_until=None)
    assert services.mailbox_sync(account_id=mailbox.pk).outcome == Outcome.PAUSED
    mail_services.thread_archive(thread=Thread.objects.order_by("id").first())
    assert outbox_flush(account_id=mailbox.pk).retry_at >= until - dt.timedelta(seconds=1)
    assert calls(emulator) == refused_calls


def test_a_batch_cut_short_by_a_lockout_keeps_what_it_fetched(emulator, mailbox, gmail):
    archived(gmail, 30)
    # Seed 10: the 14th messages.get starts a lockout of one second (429 shape).
    emulator.set_faults(lockout_rate=0.06, lockout_s=1, methods=["users.messages.get"], seed=10)
    assert services.mailbox_sync(account_id=mailbox.pk).outcome == Outcome.PAUSED
    emulator.set_faults(error_rate=0.0)
    assert Message.objects.filter(account=mailbox).count() == 13
    time.sleep(1.2)

    sync_until_done(mailbox)

    assert_mirror_equals_gmail(emulator, mailbox)
    assert successful_calls(emulator, "users.messages.get") == 30  # none fetched twice


def test_admin_shows_until_when_gmail_locked_a_mailbox_out(emulator, mailbox, admin_client):
    until = emulator.lockout(ALICE, seconds=900, status=429)["until"]
    services.mailbox_sync(account_id=mailbox.pk)
    stamp = dt.datetime.fromtimestamp(until, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")

    page = admin_client.get(reverse("admin:sync_syncstatus_changelist"))

    assert f"until {stamp}: gmail locked the mailbox out until" in page.content.decode()


def test_sync_mailbox_says_until_when_a_mailbox_is_paused(emulator, mailbox, gmail):
    until = emulator.lockout(ALICE, seconds=900, status=429)["until"]
    stamp = dt.datetime.fromtimestamp(until, dt.UTC).isoformat(timespec="seconds")

    with pytest.raises(CommandError) as caught:
        call_command("sync_mailbox", ALICE)

    assert f"paused until {stamp.replace('+00:00', 'Z')}" in str(caught.value)
    assert "gmail locked the mailbox out" in str(caught.value)


def test_sync_mailbox_waits_out_a_pause_with_wait(emulator, mailbox, gmail):
    deliver(gmail, raw_message(to=ALICE))
    emulator.lockout(ALICE, seconds=1.5, status=429)
    out = io.StringIO()

    call_command("sync_mailbox", ALICE, "--wait", "60", stdout=out)

    assert "paused until" in out.getvalue()
    assert "in sync at history id" in out.getvalue()
    assert_mirror_equals_gmail(emulator, mailbox)


# --- page tokens ------------------------------------------------------------------------


def test_a_full_sync_whose_page_token_expired_lists_again_and_loses_nothing(
    emulator, mailbox, gmail, monkeypatch
):
    monkeypatch.setattr("sync.services.LIST_PAGE_SIZE", 4)
    monkeypatch.setattr("sync.services.FULL_SYNC_PAGES_PER_SLICE", 1)
    first = archived(gmail, 10)
    assert services.mailbox_sync(account_id=mailbox.pk).outcome == Outcome.MORE  # one page
    emulator.expire_page_tokens(ALICE)  # a long pause: the stored token is refused
    deleting = emulator.gmail(ALICE, scopes=FULL_SCOPES).users().messages()
    deleting.delete(userId="me", id=first[-1]["id"]).execute()
    gets = successful_calls(emulator, "users.messages.get")

    sync_until_done(mailbox)

    assert_mirror_equals_gmail(emulator, mailbox)
    # The restart listed the first page again but fetched none of it twice; the message
    # deleted meanwhile (on that first page) went with history after the sweep kept it.
    assert successful_calls(emulator, "users.messages.get") - gets == 10 - 4


def test_a_transient_400_on_a_stored_page_token_does_not_restart_the_listing(
    emulator, mailbox, gmail, monkeypatch
):
    """Only Gmail's refusal of the token itself restarts the listing; its transient 400,
    even one that outlasts the retries, says nothing about the token."""
    monkeypatch.setattr("sync.services.LIST_PAGE_SIZE", 4)
    monkeypatch.setattr("sync.services.FULL_SYNC_PAGES_PER_SLICE", 1)
    archived(gmail, 10)
    assert services.mailbox_sync(account_id=mailbox.pk).outcome == Outcome.MORE  # one page
    token = SyncStatus.objects.get(account=mailbox).full_sync_page_token
    emulator.set_faults(error_rate=1.0, statuses=[400], methods=["users.messages.list"])

    with pytest.raises(PermanentError):  # recorded for the operator; the next sync goes on
        services.mailbox_sync(account_id=mailbox.pk)

    assert token and SyncStatus.objects.get(account=mailbox).full_sync_page_token == token
    emulator.set_faults(error_rate=0.0)
    sync_until_done(mailbox)
    assert_mirror_equals_gmail(emulator, mailbox)


def test_a_batch_that_outlasts_its_time_budget_gives_the_worker_back_keeping_its_answers(
    emulator, mailbox, gmail, monkeypatch
):
    """The mailbox lock renews only between steps: a batch call stops before it lapses."""
    monkeypatch.setattr("gmail.api.BATCH_TIME_BUDGET_S", 0.2)
    monkeypatch.setattr("gmail.api.BATCH_SIZE", 5)
    monkeypatch.setattr(MailboxLimits, "batch_size", lambda self: 5)
    archived(gmail, 12)
    emulator.set_faults(latency_ms=150)

    result = services.mailbox_sync(account_id=mailbox.pk)

    assert result.outcome == Outcome.PAUSED
    stored = Message.objects.filter(account=mailbox).count()
    assert 0 < stored < 12  # what came back in time is kept
    emulator.set_faults(latency_ms=0)
    SyncStatus.objects.filter(account=mailbox).update(paused_until=None)
    sync_until_done(mailbox)
    assert_mirror_equals_gmail(emulator, mailbox)
