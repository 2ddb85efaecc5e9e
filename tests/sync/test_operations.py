"""Watches, polling, pauses, quota and the operator's commands and admin actions."""

import datetime as dt
import io
import json

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts.models import GmailAccount
from support.mailbox import sync_to_end as sync
from sync import tasks
from sync.coordination import quota_spent
from sync.models import GmailWatch, SyncStatus
from sync.selectors import mailboxes_to_poll, watches_due
from sync.services import Outcome, mailbox_sync, watch_register
from tests.sync.helpers import deliver, raw_message

pytestmark = pytest.mark.django_db

ALICE = "alice@example.com"


def test_a_watch_is_registered_with_its_expiry(emulator, mailbox, settings):
    watch = watch_register(account=mailbox)

    assert watch.topic == settings.GMAIL_PUBSUB_TOPIC
    days = (watch.expiration - timezone.now()) / dt.timedelta(days=1)
    assert 6.9 < days <= 7
    assert watch.history_id == int(emulator.state(ALICE)["historyId"])


def test_watches_missing_or_expiring_within_two_days_are_due(emulator, mailbox, bob_mailbox):
    watch_register(account=mailbox)
    assert list(watches_due()) == [bob_mailbox]  # Bob has none

    GmailWatch.objects.filter(account=mailbox).update(
        expiration=timezone.now() + dt.timedelta(hours=47)
    )
    assert set(watches_due()) == {mailbox, bob_mailbox}


def test_renew_watches_renews_what_is_due_and_reports_failures(emulator, mailbox, bob_mailbox):
    out, err = io.StringIO(), io.StringIO()

    with pytest.raises(SystemExit):
        call_command("renew_watches", stdout=out, stderr=err)

    assert "alice@example.com: watched until" in out.getvalue()
    assert "bob@example.com" in err.getvalue()  # no credentials: recorded, not fatal
    assert GmailWatch.objects.get(account=mailbox).expiration > timezone.now()
    bobs = GmailWatch.objects.get(account=bob_mailbox)
    assert bobs.last_error and bobs.last_error_at


def test_a_failed_renewal_is_recorded_on_the_watch(emulator, mailbox):
    emulator.set_faults(error_rate=1.0, statuses=[503], methods=["users.watch"])

    with pytest.raises(Exception, match="503"):
        watch_register(account=mailbox)

    watch = GmailWatch.objects.get(account=mailbox)
    assert "503" in watch.last_error
    assert watch.expiration is None


def test_quiet_mailboxes_are_polled(emulator, mailbox, bob_mailbox):
    sync(mailbox)
    quiet = dt.timedelta(minutes=5)
    assert mailboxes_to_poll(quiet_for=quiet) == []  # just synced

    SyncStatus.objects.filter(account=mailbox).update(
        last_incremental_sync_at=timezone.now() - dt.timedelta(minutes=6),
        last_push_at=timezone.now() - dt.timedelta(minutes=6),
    )
    assert mailboxes_to_poll(quiet_for=quiet) == [mailbox.pk]

    SyncStatus.objects.filter(account=mailbox).update(last_push_at=timezone.now())
    assert mailboxes_to_poll(quiet_for=quiet) == []


def test_a_rate_limit_pauses_the_mailbox_instead_of_sleeping(emulator, mailbox):
    sync(mailbox)
    deliver(emulator.gmail(ALICE), raw_message(to=ALICE))
    emulator.set_faults(error_rate=1.0, statuses=[429], methods=["users.history.list"])

    result = mailbox_sync(account_id=mailbox.pk)

    assert result.outcome == Outcome.PAUSED
    status = SyncStatus.objects.get(account=mailbox)
    assert status.paused_until == result.retry_at > timezone.now()
    assert status.failure_count == 1 and "429" in status.last_error
    assert mailbox_sync(account_id=mailbox.pk).outcome == Outcome.PAUSED  # still paused

    emulator.set_faults(error_rate=0.0)
    SyncStatus.objects.filter(account=mailbox).update(paused_until=None)
    assert sync(mailbox).outcome == Outcome.DONE
    status.refresh_from_db()
    assert status.failure_count == 0 and status.last_error == ""


# Work is queued after commit: the test's transaction must commit for it to be queued.
@pytest.mark.django_db(transaction=True)
def test_the_paused_task_is_rescheduled_for_when_the_pause_ends(emulator, mailbox, broker):
    sync(mailbox)
    emulator.set_faults(error_rate=1.0, statuses=[503])

    for _ in range(3):  # pushes keep arriving during the pause
        tasks.mailbox_sync.run(account_id=mailbox.pk)

    status = SyncStatus.objects.get(account=mailbox)
    [(name, kwargs, eta)] = broker.tasks()  # one delayed run, not three
    assert (name, kwargs) == ("sync.tasks.mailbox_sync", {"account_id": mailbox.pk})
    assert dt.datetime.fromisoformat(eta) == status.paused_until


def test_an_account_that_needs_reconnect_is_not_synced(emulator, mailbox):
    GmailAccount.objects.filter(pk=mailbox.pk).update(status=GmailAccount.Status.NEEDS_REAUTH)

    assert mailbox_sync(account_id=mailbox.pk).outcome == Outcome.INACTIVE


def test_every_unit_gmail_charges_is_spent_from_the_shared_bucket(emulator, mailbox):
    """The bucket keeps every minute under the quota (tests/sync/test_coordination.py);
    that only protects the mailbox if every call, at its true cost, goes through it."""
    gmail = emulator.gmail(ALICE)
    for n in range(12):
        deliver(gmail, raw_message(to=ALICE, subject=f"quota {n}"))
    before = emulator.stats()["users"][ALICE]["units"]  # the test's own client, not Tern

    sync(mailbox)
    deliver(gmail, raw_message(to=ALICE, subject="one more"))
    sync(mailbox)
    watch_register(account=mailbox)

    charged_to_tern = emulator.stats()["users"][ALICE]["units"] - before - 25  # minus 1 insert
    assert quota_spent(mailbox.pk) == charged_to_tern > 0


def test_sync_mailbox_and_mailbox_dump_commands(emulator, mailbox):
    deliver(emulator.gmail(ALICE), raw_message(to=ALICE, subject="from the shell"))
    out = io.StringIO()

    call_command("sync_mailbox", ALICE, "--full", stdout=out)
    dump = io.StringIO()
    call_command("mailbox_dump", ALICE, stdout=dump)

    assert "in sync at history id" in out.getvalue()
    state = emulator.state(ALICE)
    assert json.loads(dump.getvalue()) == {
        "historyId": state["historyId"],
        "messages": state["messages"],
    }


# Work is queued after commit: the test's transaction must commit for it to be queued.
@pytest.mark.django_db(transaction=True)
def test_admin_actions_queue_a_full_resync_and_a_watch_renewal(admin_client, mailbox, broker):
    status = SyncStatus.objects.create(account=mailbox)
    watch = GmailWatch.objects.create(account=mailbox, topic="projects/p/topics/t")

    admin_client.post(
        reverse("admin:sync_syncstatus_changelist"),
        {"action": "full_resync", "_selected_action": [status.pk]},
    )
    admin_client.post(
        reverse("admin:sync_gmailwatch_changelist"),
        {"action": "renew", "_selected_action": [watch.pk]},
    )

    assert [(name, kwargs) for name, kwargs, _ in broker.tasks("sync")] == [
        ("sync.tasks.mailbox_sync", {"account_id": mailbox.pk, "full": True}),
        ("sync.tasks.watch_renew", {"account_id": mailbox.pk}),
    ]


def test_google_unreachable_pauses_the_mailbox(emulator, mailbox, settings):
    sync(mailbox)
    settings.GOOGLE_EMULATOR_URL = "http://127.0.0.1:9"  # nothing listens there

    result = mailbox_sync(account_id=mailbox.pk)

    assert result.outcome == Outcome.PAUSED
    assert "network" in SyncStatus.objects.get(account=mailbox).last_error


# Work is queued after commit: the test's transaction must commit for it to be queued.
@pytest.mark.django_db(transaction=True)
def test_the_poll_picks_up_a_full_sync_whose_chain_died(emulator, mailbox, broker):
    SyncStatus.objects.create(account=mailbox, full_sync_state=SyncStatus.FullSync.RUNNING)

    tasks.quiet_mailboxes_poll.run()

    assert ("sync.tasks.mailbox_full_sync", {"account_id": mailbox.pk}) in [
        (name, kwargs) for name, kwargs, _ in broker.tasks()
    ]
