"""Google sign-in through django-allauth, against the emulator over real HTTP.

Django's test client plays the browser on Tern's side; httpx plays it on Google's (the
emulator's consent page). allauth talks to the emulator's token and userinfo endpoints
itself, as it would to Google.
"""

import html
import logging
import re
import urllib.parse

import httpx
import pytest
from allauth.socialaccount.models import SocialAccount, SocialToken
from django.db import connection
from django.utils import timezone

from accounts.credentials import NeedsReconnect, account_credentials, decrypt_tokens
from accounts.models import GmailAccount, User
from emulator.client import DEFAULT_SCOPES
from sync.models import SyncStatus
from tests.accounts.factories import GmailAccountFactory

pytestmark = pytest.mark.django_db

ALICE = "alice@example.com"
ALICE_WORK = "alice@work.example"
BOB = "bob@example.com"
GMAIL_SCOPE = "https://www.googleapis.com/auth/gmail.modify"
FULL_SCOPE = "https://mail.google.com/"


@pytest.fixture
def google(emulator):
    for email, name in ((ALICE, "Alice Example"), (ALICE_WORK, "Alice at Work"), (BOB, "Bob")):
        emulator.create_user(email, name)
    return emulator


@pytest.fixture
def connected(broker):
    """The accounts whose "mailbox connected" task waits in the real broker, in order."""
    return lambda: [
        kwargs["account_id"]
        for name, kwargs, _ in broker.tasks()
        if name == "sync.tasks.mailbox_connected"
    ]


def start(client, process="login", **params):
    """Press "Sign in with Google" (or "Add another account"): answers the consent URL."""
    response = client.post("/accounts/google/login/", {"process": process, **params})
    assert response.status_code == 302, response.content
    return response["Location"]


def consent(emulator, authorize_url, email, *, scopes=None, deny=False):
    """On the emulator's consent page, pick `email` (or decline); answers Tern's callback
    URL that Google redirects the browser to."""
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(authorize_url).query))
    assert authorize_url.startswith(emulator.url)
    if scopes is not None:
        query["scope"] = " ".join(scopes)
    if deny:
        query["deny"] = "1"
    response = httpx.post(
        f"{emulator.url}/o/oauth2/v2/auth/consent", data={**query, "email": email}
    )
    assert response.status_code == 302, response.text
    return response.headers["location"]


def finish(client, callback_url):
    parts = urllib.parse.urlsplit(callback_url)
    return client.get(f"{parts.path}?{parts.query}")


def sign_in(client, emulator, email, process="login", **kwargs):
    """The whole sign-in, as a person clicks through it: when Tern sends the browser back
    to Google's consent screen (Google gave no refresh token), through that one too."""
    response = finish(client, consent(emulator, start(client, process), email, **kwargs))
    if response.status_code == 302 and response["Location"].startswith(emulator.url):
        response = finish(client, consent(emulator, response["Location"], email, **kwargs))
    return response


def query_of(url):
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


def test_the_sign_in_request_asks_for_gmail_offline_with_pkce_and_no_consent_screen(client, google):
    query = query_of(start(client))

    assert set(query["scope"].split()) == set(DEFAULT_SCOPES)
    assert query["access_type"] == "offline"
    # A returning person is not shown Google's consent screen again (each one would mint
    # another refresh token, toward Google's cap of 100 per account and client).
    assert query["prompt"] == "select_account"
    assert query["code_challenge_method"] == "S256"
    assert query["state"]


def test_connecting_a_mailbox_asks_for_consent(client, google, alice):
    client.force_login(alice)

    query = query_of(start(client, process="connect"))

    assert "consent" in query["prompt"].split()
    assert query["access_type"] == "offline"


def test_the_scopes_asked_for_follow_the_gmail_scopes_setting(client, google, settings):
    settings.GMAIL_SCOPES = [GMAIL_SCOPE, FULL_SCOPE]

    response = sign_in(client, google, ALICE)

    assert FULL_SCOPE in query_of(start(client, process="connect"))["scope"].split()
    assert response["Location"] == "/mail/"
    assert GmailAccount.objects.get().can_delete_forever


def test_a_returning_user_signs_in_without_consent_and_keeps_a_working_refresh_token(
    client, google, django_capture_on_commit_callbacks
):
    sign_in(client, google, ALICE)
    first = decrypt_tokens(GmailAccount.objects.get().encrypted_credentials)
    client.post("/accounts/logout/")

    url = start(client)
    response = finish(client, consent(google, url, ALICE))

    # Google minted no new refresh token; the one Tern keeps still works.
    assert [t["token"] for t in google.tokens(ALICE)["refresh_tokens"]] == [first["refresh_token"]]
    assert query_of(url)["prompt"] == "select_account"
    assert response["Location"] == "/mail/"
    account = GmailAccount.objects.get()
    assert account.status == GmailAccount.Status.ACTIVE
    assert decrypt_tokens(account.encrypted_credentials)["refresh_token"] == first["refresh_token"]
    GmailAccount.objects.filter(pk=account.pk).update(token_expiry=timezone.now())
    credentials = account_credentials(GmailAccount.objects.get())
    credentials.refresh(None)
    assert credentials.token not in (None, first["access_token"])
    assert GmailAccount.objects.get().status == GmailAccount.Status.ACTIVE


def test_the_reconnect_button_asks_for_consent_for_that_account(client, google, alice):
    client.force_login(alice)
    account = GmailAccountFactory(user=alice, email=ALICE, status=GmailAccount.Status.NEEDS_REAUTH)
    page = client.get("/mail/").content.decode()
    action = re.search(r'action="([^"]*process=connect[^"]*)"', page)
    assert action, page

    url = client.post(html.unescape(action.group(1)))["Location"]

    assert "consent" in query_of(url)["prompt"].split()
    assert query_of(url)["login_hint"] == account.email


def test_signing_in_to_an_account_that_needs_reconnect_goes_through_consent(
    client, google, connected, django_capture_on_commit_callbacks
):
    sign_in(client, google, ALICE)
    account = GmailAccount.objects.get()
    old = decrypt_tokens(account.encrypted_credentials)["refresh_token"]
    # Google refused Tern's refresh token (its grant is still there, so a sign-in without
    # the consent screen brings no new refresh token).
    GmailAccount.objects.filter(pk=account.pk).update(status=GmailAccount.Status.NEEDS_REAUTH)
    client.post("/accounts/logout/")

    url = start(client)
    again = finish(client, consent(google, url, ALICE))

    assert query_of(url)["prompt"] == "select_account"
    assert again.status_code == 302 and again["Location"].startswith(google.url)
    retry = query_of(again["Location"])
    assert "consent" in retry["prompt"].split() and retry["login_hint"] == ALICE
    with django_capture_on_commit_callbacks(execute=True):
        response = finish(client, consent(google, again["Location"], ALICE))
    assert response["Location"] == "/mail/"
    account.refresh_from_db()
    assert account.status == GmailAccount.Status.ACTIVE
    assert decrypt_tokens(account.encrypted_credentials)["refresh_token"] not in (None, old)
    assert connected() == [account.pk]  # sync resumes once, after the consent


def test_a_first_sign_in_that_google_gives_no_refresh_token_goes_through_consent(client, google):
    # Google already holds a grant of Alice's to this client (Tern's database was
    # restored from an old backup, say): without its consent screen it sends no refresh
    # token, and a mailbox without one could never sync.
    google.issue_tokens(ALICE)

    again = finish(client, consent(google, start(client), ALICE))

    assert again["Location"].startswith(google.url)
    assert not GmailAccount.objects.exists()
    response = finish(client, consent(google, again["Location"], ALICE))
    assert response["Location"] == "/mail/"
    tokens = decrypt_tokens(GmailAccount.objects.get().encrypted_credentials)
    assert tokens["refresh_token"].startswith("1//")


def test_a_google_account_without_gmail_is_told_so_and_nothing_is_connected(
    client, emulator, broker
):
    emulator.create_user(ALICE, "Alice Example", gmail=False)

    response = sign_in(client, emulator, ALICE)

    assert response.status_code == 200
    assert "That Google account has no Gmail" in response.content.decode()
    assert not User.objects.exists()
    assert not SocialAccount.objects.exists() and not GmailAccount.objects.exists()
    assert broker.names() == []  # no sync queued for a mailbox that is not there
    assert "_auth_user_id" not in client.session
    # Tern gave back the grant it will not use.
    assert emulator.tokens(ALICE) == {"access_tokens": [], "refresh_tokens": []}


def test_connecting_a_google_account_without_gmail_keeps_the_user_as_they_were(
    client, google, broker
):
    google.create_user("nomail@example.com", "No Mail", gmail=False)
    sign_in(client, google, ALICE)

    response = sign_in(client, google, "nomail@example.com", process="connect")

    assert "That Google account has no Gmail" in response.content.decode()
    alice = User.objects.get()
    assert list(alice.gmail_accounts.values_list("email", flat=True)) == [ALICE]
    assert SocialAccount.objects.count() == 1


def test_first_sign_in_creates_the_user_and_the_connected_account(
    client, google, connected, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = sign_in(client, google, ALICE)

    assert response.status_code == 302
    assert response["Location"] == "/mail/"
    account = GmailAccount.objects.get(email=ALICE)
    assert account.status == GmailAccount.Status.ACTIVE
    assert account.user.email == ALICE
    assert GMAIL_SCOPE in account.scopes.split()
    tokens = decrypt_tokens(account.encrypted_credentials)
    assert tokens["access_token"].startswith("ya29.")
    assert tokens["refresh_token"].startswith("1//")
    assert not SocialToken.objects.exists()  # allauth keeps no copy
    assert connected() == [account.pk]
    assert client.get("/mail/").status_code == 200


def test_signing_in_again_signs_into_the_same_user(
    client, google, connected, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        sign_in(client, google, ALICE)
        client.post("/accounts/logout/")
        response = sign_in(client, google, ALICE)

    assert response["Location"] == "/mail/"
    assert User.objects.count() == 1
    assert GmailAccount.objects.count() == 1
    # Nothing to resume: the first sync was queued once, at sign-up.
    assert connected() == [GmailAccount.objects.get().pk]


def test_a_second_gmail_account_joins_the_same_user(client, google):
    sign_in(client, google, ALICE)

    response = sign_in(client, google, ALICE_WORK, process="connect")

    assert response.status_code == 302
    assert response["Location"] == "/settings/"  # back to Tern, not allauth's pages
    alice = User.objects.get()
    assert sorted(alice.gmail_accounts.values_list("email", flat=True)) == [ALICE, ALICE_WORK]


def test_an_address_connected_to_someone_else_is_refused(client, google):
    sign_in(client, google, BOB)
    client.post("/accounts/logout/")
    sign_in(client, google, ALICE)

    response = sign_in(client, google, BOB, process="connect")

    assert response.status_code == 302
    page = client.get(response["Location"], follow=True)
    assert "already connected to" in page.content.decode()
    assert GmailAccount.objects.get(email=BOB).user.email == BOB
    assert User.objects.get(email=ALICE).gmail_accounts.count() == 1


def test_a_denied_consent_returns_to_the_landing_page_with_a_message(client, google):
    response = sign_in(client, google, ALICE, deny=True)

    assert response.status_code == 302
    page = client.get(response["Location"])
    assert "did not give Tern access" in page.content.decode()
    assert not User.objects.exists()


def test_consent_without_the_gmail_scope_explains_instead_of_crashing(client, google):
    response = sign_in(client, google, ALICE, scopes=["openid", "email", "profile"])

    assert response.status_code == 200
    assert "Tern needs access to Gmail" in response.content.decode()
    assert not GmailAccount.objects.exists()


def test_a_tampered_state_changes_nothing(client, google):
    callback = consent(google, start(client), ALICE)
    tampered = callback.replace("state=", "state=x")

    response = finish(client, tampered)

    assert response.status_code == 302
    assert "did not work" in client.get(response["Location"]).content.decode()
    assert not User.objects.exists()


def test_a_replayed_authorization_code_is_refused(client, google):
    callback = consent(google, start(client), ALICE)
    finish(client, callback)
    client.post("/accounts/logout/")

    response = finish(client, callback)

    assert response.status_code == 302
    assert User.objects.count() == 1
    assert "_auth_user_id" not in client.session


def test_a_token_endpoint_that_is_down_creates_nothing(client, google, settings):
    url = start(client)
    callback = consent(google, url, ALICE)
    google.set_faults(error_rate=1.0, statuses=[503], seed=1, methods=["oauth.token"])

    response = finish(client, callback)

    assert response.status_code == 302
    assert "did not work" in client.get(response["Location"]).content.decode()
    assert not User.objects.exists() and not SocialAccount.objects.exists()


def test_a_slow_token_endpoint_times_out_with_a_message(client, google, settings):
    settings.SOCIALACCOUNT_REQUESTS_TIMEOUT = 1
    callback = consent(google, start(client), ALICE)
    google.set_faults(latency_ms=2500, methods=["oauth.token"])

    response = finish(client, callback)

    assert response.status_code == 302
    assert "did not work" in client.get(response["Location"]).content.decode()
    assert not User.objects.exists()


def test_reconnecting_after_revocation_resumes_where_sync_stopped(
    client, google, connected, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        sign_in(client, google, ALICE)
    account = GmailAccount.objects.get()
    SyncStatus.objects.create(
        account=account, history_id=4242, full_sync_state=SyncStatus.FullSync.DONE
    )
    revoked = decrypt_tokens(account.encrypted_credentials)
    google.revoke(ALICE)
    GmailAccount.objects.filter(pk=account.pk).update(token_expiry=timezone.now())
    with pytest.raises(NeedsReconnect):
        account_credentials(GmailAccount.objects.get()).refresh(None)
    assert f"Reconnect {ALICE}" in client.get("/mail/").content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = sign_in(client, google, ALICE, process="connect")

    assert response.status_code == 302
    account.refresh_from_db()
    assert account.status == GmailAccount.Status.ACTIVE
    tokens = decrypt_tokens(account.encrypted_credentials)
    assert tokens["refresh_token"] != revoked["refresh_token"]
    assert f"Reconnect {ALICE}" not in client.get("/mail/").content.decode()
    assert SyncStatus.objects.get(account=account).history_id == 4242  # resumes, not restarts
    assert connected() == [account.pk] * 2


def test_no_token_is_stored_or_logged_in_clear(client, google, caplog):
    caplog.set_level(logging.DEBUG)
    sign_in(client, google, ALICE)
    account = GmailAccount.objects.get()
    GmailAccount.objects.filter(pk=account.pk).update(token_expiry=timezone.now())
    account_credentials(GmailAccount.objects.get()).refresh(None)  # a refresh, logged or not

    live = google.tokens(ALICE)
    secrets = [t["token"] for t in live["access_tokens"] + live["refresh_tokens"]]
    assert len(secrets) >= 3  # the first access token, its refresh token, the refreshed one
    everything = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')
            everything.append(repr(cursor.fetchall()))
    database = "\n".join(everything)
    for secret in secrets:
        assert secret not in database
        assert secret not in caplog.text


def test_allauths_connections_page_is_not_reachable(client, alice):
    client.force_login(alice)

    response = client.get("/accounts/3rdparty/")

    assert response.status_code == 302
    assert response["Location"] == "/settings/"


def test_the_policy_lets_the_sign_in_form_go_on_to_google(client, settings):
    policy = client.get("/").headers["Content-Security-Policy"]

    form_action = next(d for d in policy.split(";") if d.strip().startswith("form-action"))
    assert settings.GOOGLE_EMULATOR_URL in form_action.split()


def session_rows():
    from django.contrib.sessions.models import Session

    return [str(session.get_decoded()) for session in Session.objects.all()]


def test_an_address_of_a_local_user_is_refused_and_no_token_enters_a_session(client, emulator):
    User.objects.create_user(username="staff", email=ALICE, password="a-long-password-1")
    emulator.create_user(ALICE, "Alice Example")

    response = sign_in(client, emulator, ALICE)

    page = client.get(response["Location"], follow=True)
    assert "was not made with Google sign-in" in page.content.decode()
    assert not GmailAccount.objects.exists()
    live = emulator.tokens(ALICE)
    tokens = [t["token"] for kind in live.values() for t in kind]
    assert tokens  # Google did issue tokens to Tern
    for row in session_rows():
        assert not any(token in row for token in tokens)
        assert "socialaccount_sociallogin" not in row


def test_an_address_google_has_not_verified_is_refused(client, emulator):
    emulator.create_user(ALICE, "Alice Example", email_verified=False)

    response = sign_in(client, emulator, ALICE)

    page = client.get(response["Location"], follow=True)
    assert "has not verified that address" in page.content.decode()
    assert not User.objects.exists() and not GmailAccount.objects.exists()


def test_a_google_account_that_took_an_address_connected_elsewhere_is_refused(client, emulator):
    bob = User.objects.create_user(username="bob", email=BOB)
    GmailAccount.objects.create(user=bob, email=BOB, google_sub="bobs-google-account")
    alice = User.objects.create_user(username="alice", email=ALICE)
    # Alice's Google account (this sub) now answers to Bob's connected address.
    identity = emulator.create_user(BOB, "Alice renamed", sub="alices-google-account")
    GmailAccount.objects.create(user=alice, email=ALICE, google_sub=identity["sub"])
    SocialAccount.objects.create(user=alice, provider="google", uid=identity["sub"])

    response = sign_in(client, emulator, BOB)

    assert response.status_code == 302
    page = client.get(response["Location"], follow=True)
    assert "already connected to another user" in page.content.decode()
    assert GmailAccount.objects.get(google_sub="alices-google-account").email == ALICE
    assert GmailAccount.objects.get(google_sub="bobs-google-account").user == bob


def test_widening_gmail_scopes_goes_through_consent_for_a_refresh_token_that_has_them(
    client, google, settings
):
    """The operator adds the full scope: a returning person's old refresh token cannot
    delete forever, so Tern must not offer it until a consent gives one that can."""
    sign_in(client, google, ALICE)
    first = decrypt_tokens(GmailAccount.objects.get().encrypted_credentials)["refresh_token"]
    client.post("/accounts/logout/")
    settings.GMAIL_SCOPES = [GMAIL_SCOPE, FULL_SCOPE]

    response = sign_in(client, google, ALICE)

    assert response.status_code == 302 and response["Location"] == "/mail/"
    account = GmailAccount.objects.get()
    refresh_token = decrypt_tokens(account.encrypted_credentials)["refresh_token"]
    assert account.can_delete_forever
    assert refresh_token != first  # a consent gave one with the full scope
    granted = {t["token"]: set(t["scopes"]) for t in google.tokens(ALICE)["refresh_tokens"]}
    assert FULL_SCOPE in granted[refresh_token]
