"""Tokens against the emulator: quiet refresh, one refresh at a time, revocation."""

import datetime as dt
import threading

import pytest
from django.db import connection

from accounts.credentials import NeedsReconnect, account_credentials, decrypt_tokens
from accounts.models import GmailAccount
from gmail.client import build_service
from sync.services import Outcome, mailbox_sync
from tests.sync.helpers import deliver, raw_message

ALICE = "alice@example.com"


def expire_locally(account):
    GmailAccount.objects.filter(pk=account.pk).update(
        token_expiry=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    )
    account.refresh_from_db()


@pytest.mark.django_db
def test_an_expired_access_token_is_refreshed_quietly_and_saved(emulator, mailbox):
    old = decrypt_tokens(mailbox.encrypted_credentials)
    expire_locally(mailbox)

    profile = build_service(account_credentials(mailbox)).users().getProfile(userId="me").execute()

    assert profile["emailAddress"] == ALICE
    mailbox.refresh_from_db()
    new = decrypt_tokens(mailbox.encrypted_credentials)
    assert new["access_token"] != old["access_token"]
    assert new["refresh_token"] == old["refresh_token"]
    assert mailbox.token_expiry > dt.datetime.now(dt.UTC)
    live = emulator.tokens(ALICE)
    assert new["access_token"] in str(live)


@pytest.mark.django_db
def test_a_token_gmail_no_longer_accepts_is_refreshed_and_the_call_retried(emulator, mailbox):
    emulator.set_config(token_ttl_s=2)
    expire_locally(mailbox)
    build_service(account_credentials(mailbox)).users().getProfile(
        userId="me"
    ).execute()  # a 2 s token
    mailbox.refresh_from_db()
    emulator.advance_clock(10)  # Gmail now answers 401 to it

    labels = (
        build_service(account_credentials(mailbox)).users().labels().list(userId="me").execute()
    )

    assert any(label["id"] == "INBOX" for label in labels["labels"])


@pytest.mark.django_db(transaction=True)
def test_two_workers_never_refresh_the_same_account_at_once(emulator, mailbox):
    expire_locally(mailbox)
    before = emulator.stats().get("oauth", {}).get("refresh_grants", None)
    errors = []

    def worker():
        try:
            build_service(
                account_credentials(GmailAccount.objects.get(pk=mailbox.pk))
            ).users().getProfile(userId="me").execute()
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    live = emulator.tokens(ALICE)["access_tokens"]
    # One refresh, not four: the sign-in's token plus exactly one refreshed token.
    assert len(live) == 2, (before, live)


@pytest.mark.django_db
def test_a_revoked_grant_marks_the_account_and_pauses_its_sync(emulator, mailbox):
    deliver(emulator.gmail(ALICE), raw_message(to=ALICE))
    emulator.revoke(ALICE)
    expire_locally(mailbox)

    with pytest.raises(NeedsReconnect):
        account_credentials(mailbox).refresh(None)

    mailbox.refresh_from_db()
    assert mailbox.status == GmailAccount.Status.NEEDS_REAUTH
    assert mailbox_sync(account_id=mailbox.pk).outcome == Outcome.INACTIVE


@pytest.mark.django_db
def test_a_token_endpoint_outage_keeps_the_account_connected(emulator, mailbox):
    from sync.services import Outcome, mailbox_sync

    expire_locally(mailbox)
    emulator.set_faults(error_rate=1.0, statuses=[503], methods=["oauth.token"])

    result = mailbox_sync(account_id=mailbox.pk)

    mailbox.refresh_from_db()
    assert mailbox.status == GmailAccount.Status.ACTIVE
    assert result.outcome == Outcome.PAUSED  # tried again later, not disconnected
    emulator.set_faults(error_rate=0.0)
    build_service(account_credentials(mailbox)).users().getProfile(userId="me").execute()
