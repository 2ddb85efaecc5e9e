"""Refresh tokens that Google lets expire (an app in "Testing" publishing status: 7 days
after consent), through sign-in, sync and the emulator's refresh_token_ttl_s.

Expiry is Google's invalid_grant: the mailbox waits for a reconnect with its mirror and
sync cursor kept, and a sign-in brings it back where it stopped.
"""

import httpx
import pytest

from accounts.models import GmailAccount
from emulator.client import DEFAULT_SCOPES
from gmail.client import build_credentials, build_service
from mail.models import Message
from support.mailbox import sync_until_done
from sync.models import SyncStatus
from sync.services import Outcome, mailbox_sync
from tests.accounts.test_sign_in import ALICE, sign_in
from tests.sync.helpers import assert_mirror_equals_gmail, deliver, raw_message

pytestmark = pytest.mark.django_db

SEVEN_DAYS = 7 * 24 * 3600


def other_client(emulator, email):
    """Gmail as another app of the person's sees it (another OAuth client, so its grant is
    not Tern's), on an access token that outlives the test."""
    answer = httpx.post(
        f"{emulator.url}/_emulator/users/{email}/tokens",
        json={"client_id": "another-app", "ttl_s": 30 * 24 * 3600, "scopes": list(DEFAULT_SCOPES)},
    )
    answer.raise_for_status()
    tokens = answer.json()
    credentials = build_credentials(
        token=tokens["access_token"], refresh_token=None, expiry=None, scopes=None
    )
    return build_service(credentials)


def test_an_expired_refresh_token_needs_reconnect_and_loses_nothing(
    client, emulator, django_capture_on_commit_callbacks
):
    emulator.set_config(refresh_token_ttl_s=SEVEN_DAYS)
    emulator.create_user(ALICE, "Alice Example")
    gmail = other_client(emulator, ALICE)
    deliver(gmail, raw_message(to=ALICE, subject="Before the week"))
    sign_in(client, emulator, ALICE)
    account = GmailAccount.objects.get()
    sync_until_done(account)
    cursor = SyncStatus.objects.get(account=account).history_id

    emulator.advance_clock(SEVEN_DAYS)  # Tern's access token and refresh token are dead
    deliver(gmail, raw_message(to=ALICE, subject="After the week"))

    assert mailbox_sync(account_id=account.pk).outcome == Outcome.INACTIVE
    account.refresh_from_db()
    assert account.status == GmailAccount.Status.NEEDS_REAUTH
    assert list(Message.objects.filter(account=account).values_list("subject", flat=True)) == [
        "Before the week"
    ]
    assert f"Reconnect {ALICE}" in client.get("/mail/").content.decode()

    client.post("/accounts/logout/")
    sign_in(client, emulator, ALICE)  # the grant expired: Google asks for consent again

    account.refresh_from_db()
    assert account.status == GmailAccount.Status.ACTIVE
    assert mailbox_sync(account_id=account.pk).outcome == Outcome.DONE
    status = SyncStatus.objects.get(account=account)
    assert status.history_id > cursor  # went on from its cursor
    assert status.full_sync_state == SyncStatus.FullSync.DONE
    assert_mirror_equals_gmail(emulator, account)
