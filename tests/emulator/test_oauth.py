"""OAuth 2.0 / OIDC against the emulator, through google-auth and the app's builder."""

import datetime as dt

import google.auth.transport.requests
import httpx
import jwt
import pytest
from google.auth.exceptions import RefreshError
from google.oauth2 import id_token
from googleapiclient.errors import HttpError

from emulator.client import REDIRECT_URI, pkce_challenge, query_of
from gmail.client import build_credentials, build_service

GMAIL_MODIFY = "https://www.googleapis.com/auth/gmail.modify"


def test_it_publishes_openid_configuration_at_its_own_url(emulator):
    config = httpx.get(f"{emulator.url}/.well-known/openid-configuration").json()

    assert config["issuer"] == "https://accounts.google.com"
    assert config["token_endpoint"] == f"{emulator.url}/token"
    assert config["authorization_endpoint"] == f"{emulator.url}/o/oauth2/v2/auth"
    assert config["jwks_uri"] == f"{emulator.url}/oauth2/v3/certs"
    assert "S256" in config["code_challenge_methods_supported"]


def test_it_lists_the_users_on_the_consent_page(emulator, alice):
    emulator.create_user("bob@example.com", "Bob Example")
    page = httpx.get(
        f"{emulator.url}/o/oauth2/v2/auth",
        params={
            "client_id": emulator.client_id,
            "redirect_uri": REDIRECT_URI,
            "response_type": "code",
            "scope": "openid email",
        },
    )

    assert page.status_code == 200
    assert "Alice Example" in page.text and "bob@example.com" in page.text


def test_it_runs_the_code_flow_with_pkce_and_signs_the_id_token(emulator, alice):
    tokens = emulator.sign_in(alice)

    assert tokens["access_token"].startswith("ya29.")
    assert tokens["refresh_token"].startswith("1//")
    assert tokens["token_type"] == "Bearer"
    assert GMAIL_MODIFY in tokens["scope"].split()
    request = google.auth.transport.requests.Request()
    for certs in ("/oauth2/v1/certs", "/oauth2/v3/certs"):
        claims = id_token.verify_token(
            tokens["id_token"], request, audience=emulator.client_id, certs_url=emulator.url + certs
        )
        assert claims["iss"] == "https://accounts.google.com"
        assert claims["email"] == alice and claims["email_verified"] is True
        assert claims["name"] == "Alice Example"
        assert len(claims["sub"]) == 21
        assert claims["exp"] > claims["iat"]


def test_it_returns_the_state_and_scopes_on_the_redirect(emulator, alice):
    redirect = emulator.authorize(alice, state="xyz-123")

    assert redirect.status_code == 302
    location = redirect.headers["location"]
    assert location.startswith(REDIRECT_URI)
    params = query_of(location)
    assert params["state"] == "xyz-123"
    assert params["code"].startswith("4/0A")


def test_it_uses_the_configured_issuer(emulator, alice):
    emulator.set_config(issuer="accounts.google.com")

    claims = jwt.decode(emulator.sign_in(alice)["id_token"], options={"verify_signature": False})

    assert claims["iss"] == "accounts.google.com"
    assert claims["aud"] == emulator.client_id


def test_it_redirects_access_denied_when_the_user_declines(emulator, alice):
    params = {
        "client_id": emulator.client_id,
        "redirect_uri": REDIRECT_URI,
        "response_type": "code",
        "scope": "openid email",
        "state": "s1",
    }
    declined = emulator.http.post("/o/oauth2/v2/auth/consent", data={**params, "deny": "1"})

    assert declined.status_code == 302
    assert query_of(declined.headers["location"]) == {"error": "access_denied", "state": "s1"}


def test_it_gives_a_refresh_token_only_for_offline_access(emulator, alice):
    online = emulator.sign_in(alice, access_type="online")
    offline_again = emulator.sign_in(alice, prompt="select_account")
    first_offline = emulator.sign_in("alice@example.com", prompt="consent")

    assert "refresh_token" not in online
    assert "refresh_token" in first_offline
    # Google sends a refresh token once per grant unless asked to consent again.
    assert "refresh_token" in offline_again  # first offline grant for this client
    assert "refresh_token" not in emulator.sign_in(alice, prompt="select_account")


def test_it_rejects_a_wrong_or_missing_pkce_verifier(emulator, alice):
    challenge = pkce_challenge("the-right-verifier-" + "x" * 30)

    def code():
        redirect = emulator.authorize(alice, code_challenge=challenge, code_challenge_method="S256")
        return query_of(redirect.headers["location"])["code"]

    missing = emulator.exchange(code())
    wrong = emulator.exchange(code(), code_verifier="not-it")
    right = emulator.exchange(code(), code_verifier="the-right-verifier-" + "x" * 30)

    assert missing.status_code == 400 and missing.json()["error"] == "invalid_grant"
    assert wrong.json() == {"error": "invalid_grant", "error_description": "Invalid code verifier."}
    assert right.status_code == 200


def test_it_accepts_plain_pkce(emulator, alice):
    redirect = emulator.authorize(alice, code_challenge="plain-verifier-" + "y" * 40)
    code = query_of(redirect.headers["location"])["code"]

    answer = emulator.exchange(code, code_verifier="plain-verifier-" + "y" * 40)

    assert answer.status_code == 200


def test_it_refuses_to_exchange_a_code_twice(emulator, alice):
    code = query_of(emulator.authorize(alice).headers["location"])["code"]

    first = emulator.exchange(code)
    replay = emulator.exchange(code)

    assert first.status_code == 200
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"


def test_it_refuses_a_different_redirect_uri(emulator, alice):
    code = query_of(emulator.authorize(alice).headers["location"])["code"]

    answer = emulator.exchange(code, redirect_uri="http://127.0.0.1:9/elsewhere/")

    assert answer.json()["error"] == "redirect_uri_mismatch"


def test_it_checks_the_client_when_one_is_configured(emulator, alice):
    emulator.set_config(client_id="only-this-client", client_secret="s3cret")

    page = httpx.get(
        f"{emulator.url}/o/oauth2/v2/auth",
        params={
            "client_id": emulator.client_id,
            "redirect_uri": REDIRECT_URI,
            "response_type": "code",
            "scope": "openid",
        },
    )
    token = httpx.post(
        f"{emulator.url}/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": "1//x",
            "client_id": "only-this-client",
            "client_secret": "wrong",
        },
    )

    assert page.status_code == 401 and "invalid_client" in page.text
    assert token.status_code == 401 and token.json()["error"] == "invalid_client"


def test_it_serves_userinfo_for_the_token(emulator, alice):
    tokens = emulator.sign_in(alice)
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}

    v3 = httpx.get(f"{emulator.url}/oauth2/v3/userinfo", headers=headers).json()
    v2 = httpx.get(f"{emulator.url}/oauth2/v2/userinfo", headers=headers).json()
    anonymous = httpx.get(f"{emulator.url}/oauth2/v3/userinfo")

    assert v3["email"] == alice and v3["email_verified"] is True and v3["name"] == "Alice Example"
    assert v2["id"] == v3["sub"] and v2["verified_email"] is True
    assert anonymous.status_code == 401


def test_it_refreshes_an_expired_token_through_google_auth(emulator, alice):
    credentials = emulator.credentials(alice)
    expired = build_credentials(
        token="ya29.stale",
        refresh_token=credentials.refresh_token,
        expiry=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5),
        scopes=credentials.scopes,
    )

    profile = build_service(expired).users().getProfile(userId="me").execute()

    assert profile["emailAddress"] == alice
    assert expired.token.startswith("ya29.") and expired.token != "ya29.stale"
    assert expired.token in {t["token"] for t in emulator.tokens(alice)["access_tokens"]}


def test_it_answers_401_once_the_access_token_expires(emulator, alice):
    emulator.set_config(token_ttl_s=60)
    bearer = {"Authorization": f"Bearer {emulator.sign_in(alice)['access_token']}"}
    profile_url = f"{emulator.url}/gmail/v1/users/me/profile"
    assert httpx.get(profile_url, headers=bearer).status_code == 200

    emulator.advance_clock(61)
    expired = httpx.get(profile_url, headers=bearer)

    assert expired.status_code == 401
    assert expired.json()["error"]["errors"][0]["reason"] == "authError"
    assert emulator.tokens(alice)["access_tokens"] == []


def test_it_answers_401_to_an_unknown_token(emulator, alice):
    answer = httpx.get(
        f"{emulator.url}/gmail/v1/users/me/profile", headers={"Authorization": "Bearer ya29.nope"}
    )

    assert answer.status_code == 401
    assert answer.json()["error"]["status"] == "UNAUTHENTICATED"
    assert answer.headers["www-authenticate"].startswith("Bearer")


def test_it_refuses_refresh_after_revocation(emulator, alice):
    credentials = emulator.credentials(alice)
    gmail = build_service(credentials)
    gmail.users().getProfile(userId="me").execute()

    assert emulator.revoke(alice)["revoked"] == 2
    credentials.expiry = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(minutes=1)

    with pytest.raises(RefreshError, match="invalid_grant"):
        gmail.users().getProfile(userId="me").execute()
    assert emulator.tokens(alice) == {"access_tokens": [], "refresh_tokens": []}


def test_it_revokes_a_grant_through_the_revoke_endpoint(emulator, alice):
    tokens = emulator.sign_in(alice)

    revoked = httpx.post(f"{emulator.url}/revoke", data={"token": tokens["refresh_token"]})
    again = httpx.post(f"{emulator.url}/revoke", data={"token": tokens["refresh_token"]})
    refresh = httpx.post(
        f"{emulator.url}/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": emulator.client_id,
        },
    )

    assert revoked.status_code == 200
    assert again.status_code == 400
    assert refresh.json() == {
        "error": "invalid_grant",
        "error_description": "Token has been expired or revoked.",
    }
    # Revoking the refresh token also ends the access token issued with it.
    assert emulator.tokens(alice)["access_tokens"] == []


def test_it_enforces_gmail_scopes(emulator, alice):
    no_gmail = emulator.gmail(alice, scopes=("openid", "email"))
    read_only = emulator.gmail(alice, scopes=("https://www.googleapis.com/auth/gmail.readonly",))

    with pytest.raises(HttpError) as no_scope:
        no_gmail.users().getProfile(userId="me").execute()
    read_only.users().labels().list(userId="me").execute()
    with pytest.raises(HttpError) as cannot_write:
        read_only.users().labels().create(userId="me", body={"name": "X"}).execute()

    for caught in (no_scope, cannot_write):
        assert caught.value.status_code == 403
        assert caught.value.error_details[0]["reason"] == "insufficientPermissions"


def test_it_refuses_other_users_mailboxes(emulator, alice):
    emulator.create_user("bob@example.com", "Bob Example")
    gmail = emulator.gmail(alice)

    with pytest.raises(HttpError) as caught:
        gmail.users().getProfile(userId="bob@example.com").execute()

    assert caught.value.status_code == 403
    assert gmail.users().getProfile(userId=alice).execute()["emailAddress"] == alice


def test_it_approves_at_once_with_auto_consent(emulator, alice):
    emulator.create_user("bob@example.com", "Bob Example")
    emulator.set_config(auto_consent=True)

    redirect = httpx.get(
        f"{emulator.url}/o/oauth2/v2/auth",
        params={
            "client_id": emulator.client_id,
            "redirect_uri": REDIRECT_URI,
            "response_type": "code",
            "scope": "openid email",
            "login_hint": "bob@example.com",
            "state": "s",
        },
    )
    code = query_of(redirect.headers["location"])["code"]
    claims = jwt.decode(
        emulator.exchange(code).json()["id_token"], options={"verify_signature": False}
    )

    assert redirect.status_code == 302
    assert claims["email"] == "bob@example.com"


def test_it_lists_live_tokens_for_a_user(emulator, alice):
    tokens = emulator.sign_in(alice)

    live = emulator.tokens(alice)

    assert [t["token"] for t in live["access_tokens"]] == [tokens["access_token"]]
    assert [t["token"] for t in live["refresh_tokens"]] == [tokens["refresh_token"]]


def test_it_expires_refresh_tokens_after_their_ttl(emulator, alice):
    # Google's "Testing" publishing status: refresh tokens die 7 days after consent.
    emulator.set_config(refresh_token_ttl_s=604800)
    credentials = emulator.credentials(alice)
    credentials.expiry = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(minutes=1)
    build_service(credentials).users().getProfile(userId="me").execute()  # refreshes: alive

    emulator.advance_clock(604800)
    credentials.expiry = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(minutes=1)

    with pytest.raises(RefreshError, match="invalid_grant"):
        build_service(credentials).users().getProfile(userId="me").execute()
    assert emulator.tokens(alice)["refresh_tokens"] == []


def test_an_expired_grant_gives_a_new_refresh_token_without_prompt_consent(emulator, alice):
    emulator.set_config(refresh_token_ttl_s=60)
    assert "refresh_token" in emulator.sign_in(alice, prompt="select_account")
    assert "refresh_token" not in emulator.sign_in(alice, prompt="select_account")

    emulator.advance_clock(61)

    # The authorization expired with its token: Google asks again, and issues a new one.
    assert "refresh_token" in emulator.sign_in(alice, prompt="select_account")


def test_the_refresh_token_ttl_is_a_command_line_flag():
    from emulator.__main__ import config_from, parse_args

    assert config_from(parse_args(["--refresh-token-ttl", "604800"])).refresh_token_ttl_s == 604800
    assert config_from(parse_args([])).refresh_token_ttl_s is None
