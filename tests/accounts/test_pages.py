"""Settings, reconnect, disconnect and account deletion, as a signed-in person sees them."""

import pytest
from allauth.socialaccount.models import SocialAccount
from django.urls import reverse

from accounts.credentials import decrypt_tokens
from accounts.models import GmailAccount
from mail.models import Message, Thread
from support.mailbox import account_connect, sync_to_end
from sync.models import GmailWatch, SyncStatus
from sync.services import watch_register
from tests.accounts.factories import GmailAccountFactory
from tests.sync.helpers import deliver, raw_message

pytestmark = pytest.mark.django_db

ALICE = "alice@example.com"
ALICE_WORK = "alice@work.example"


@pytest.fixture
def two_mailboxes(emulator, alice, client):
    accounts = []
    for email in (ALICE, ALICE_WORK):
        account = account_connect(emulator, user=alice, email=email, name="Alice")
        SocialAccount.objects.create(user=alice, provider="google", uid=account.google_sub)
        deliver(emulator.gmail(email), raw_message(to=email, subject=f"hello {email}"))
        sync_to_end(account)
        watch_register(account=account)
        accounts.append(account)
    client.force_login(alice)
    return accounts


def test_settings_lists_each_account_with_its_status(client, alice):
    GmailAccountFactory(user=alice, email=ALICE)
    GmailAccountFactory(user=alice, email=ALICE_WORK, status=GmailAccount.Status.NEEDS_REAUTH)
    client.force_login(alice)

    page = client.get(reverse("accounts:settings")).content.decode()

    assert ALICE in page and ALICE_WORK in page
    assert "Needs reconnect" in page
    assert f"Reconnect {ALICE_WORK}" in page
    assert "Add another Gmail account" in page


def test_the_inbox_shows_the_reconnect_banner_and_sync_progress(client, alice):
    work = GmailAccountFactory(
        user=alice, email=ALICE_WORK, status=GmailAccount.Status.NEEDS_REAUTH
    )
    SyncStatus.objects.create(
        account=work, full_sync_messages_done=1234, last_error="gmail answered 503"
    )
    client.force_login(alice)

    page = client.get(reverse("mail:inbox")).content.decode()

    assert f"Reconnect {ALICE_WORK}" in page
    assert "process=connect" in page and "login_hint%3Dalice%40work.example" in page
    assert "1234 messages mirrored" in page
    assert "Last error: gmail answered 503" in page


def test_other_peoples_accounts_do_not_exist_for_you(client, alice, bob_mailbox):
    client.force_login(alice)

    response = client.get(reverse("accounts:disconnect", args=[bob_mailbox.pk]))

    assert response.status_code == 404
    assert client.post(reverse("accounts:disconnect", args=[bob_mailbox.pk])).status_code == 404
    assert GmailAccount.objects.filter(pk=bob_mailbox.pk).exists()


def test_disconnect_asks_first(client, two_mailboxes):
    work = two_mailboxes[1]

    page = client.get(reverse("accounts:disconnect", args=[work.pk])).content.decode()

    assert f"Disconnect {ALICE_WORK}?" in page
    assert GmailAccount.objects.filter(pk=work.pk).exists()


def test_disconnect_stops_the_watch_revokes_the_token_and_removes_only_that_mail(
    client, emulator, two_mailboxes
):
    home, work = two_mailboxes
    ours = decrypt_tokens(work.encrypted_credentials)
    stats_before = emulator.stats()["users"][ALICE_WORK]["methods"].get("users.stop", {})

    response = client.post(reverse("accounts:disconnect", args=[work.pk]))

    assert response.status_code == 302
    assert not GmailAccount.objects.filter(pk=work.pk).exists()
    assert not Message.objects.filter(account_id=work.pk).exists()
    assert not Thread.objects.filter(account_id=work.pk).exists()
    assert not GmailWatch.objects.filter(account_id=work.pk).exists()
    assert not SocialAccount.objects.filter(uid=work.google_sub).exists()
    stops = emulator.stats()["users"][ALICE_WORK]["methods"]["users.stop"]["calls"]
    assert stops == stats_before.get("calls", 0) + 1
    assert ours["refresh_token"] not in str(emulator.tokens(ALICE_WORK))  # revoked at Google
    assert ours["access_token"] not in str(emulator.tokens(ALICE_WORK))
    # The other account is untouched.
    assert Message.objects.filter(account=home).count() == 1
    home_tokens = decrypt_tokens(home.encrypted_credentials)
    assert home_tokens["refresh_token"] in str(emulator.tokens(ALICE))


def test_the_last_account_cannot_be_disconnected_only_the_tern_account_deleted(
    client, emulator, two_mailboxes
):
    home, work = two_mailboxes
    client.post(reverse("accounts:disconnect", args=[work.pk]))

    page = client.post(reverse("accounts:disconnect", args=[home.pk])).content.decode()

    assert "delete your Tern account" in page
    assert GmailAccount.objects.filter(pk=home.pk).exists()


def test_deleting_the_tern_account_disconnects_every_mailbox(
    client, emulator, two_mailboxes, alice
):
    ours = [decrypt_tokens(account.encrypted_credentials) for account in two_mailboxes]

    response = client.post(reverse("accounts:delete"))

    assert response.status_code == 302
    assert not GmailAccount.objects.exists()
    assert not Message.objects.exists()
    assert not type(alice).objects.filter(pk=alice.pk).exists()
    for email, tokens in zip((ALICE, ALICE_WORK), ours, strict=True):
        assert tokens["refresh_token"] not in str(emulator.tokens(email))
    assert "_auth_user_id" not in client.session


def test_sign_out_clears_the_session(client, alice):
    client.force_login(alice)

    client.post("/accounts/logout/")

    assert "_auth_user_id" not in client.session
    assert client.get(reverse("mail:inbox")).status_code == 302


def test_disconnect_warns_about_changes_that_have_not_reached_gmail(client, alice):
    from mail.models import OutboxAction

    GmailAccountFactory(user=alice, email=ALICE)
    work = GmailAccountFactory(user=alice, email=ALICE_WORK)
    OutboxAction.objects.create(account=work, kind=OutboxAction.Kind.LABELS, message_ids=["m"])
    client.force_login(alice)

    page = client.get(reverse("accounts:disconnect", args=[work.pk])).content.decode()

    assert "1 change you made" in page and "not reached Gmail yet" in page
