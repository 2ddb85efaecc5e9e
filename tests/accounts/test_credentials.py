import datetime as dt

import pytest
from cryptography.fernet import InvalidToken
from django.core.management import call_command
from django.db import connection

from accounts.credentials import account_credentials, decrypt_tokens, tokens_store

pytestmark = pytest.mark.django_db

ACCESS = "ya29.a0AfB_access-token-of-alice"
REFRESH = "1//0refresh-token-of-alice"


def raw_credentials(account):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT encrypted_credentials FROM accounts_gmailaccount WHERE id = %s", [account.pk]
        )
        return bytes(cursor.fetchone()[0])


def store(account, access=ACCESS, refresh=REFRESH):
    tokens_store(
        account=account,
        access_token=access,
        refresh_token=refresh,
        expires_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
        scopes=["openid", "https://www.googleapis.com/auth/gmail.modify"],
    )


def test_the_database_holds_no_token_in_clear(alice_mailbox):
    store(alice_mailbox)

    raw = raw_credentials(alice_mailbox)

    assert ACCESS.encode() not in raw
    assert REFRESH.encode() not in raw
    assert b"ya29." not in raw and b"1//" not in raw
    assert decrypt_tokens(raw) == {"access_token": ACCESS, "refresh_token": REFRESH}


def test_a_sign_in_without_a_new_refresh_token_keeps_the_old_one(alice_mailbox):
    store(alice_mailbox)

    store(alice_mailbox, access="ya29.newer", refresh="")

    assert decrypt_tokens(raw_credentials(alice_mailbox)) == {
        "access_token": "ya29.newer",
        "refresh_token": REFRESH,
    }


def test_credentials_carry_a_naive_utc_expiry_and_no_refresh_token(alice_mailbox):
    store(alice_mailbox)
    alice_mailbox.refresh_from_db()

    credentials = account_credentials(alice_mailbox)

    assert credentials.token == ACCESS
    assert credentials.expiry == dt.datetime(2030, 1, 1)  # naive UTC, as google-auth wants
    assert credentials.refresh_token is None  # refreshes go through the locked path
    assert not credentials.expired


def test_keys_rotate_first_encrypts_all_decrypt(settings, alice_mailbox):
    settings.TOKEN_ENCRYPTION_KEYS = ["old-key-0123456789"]
    store(alice_mailbox)
    settings.TOKEN_ENCRYPTION_KEYS = ["new-key-9876543210", "old-key-0123456789"]

    assert decrypt_tokens(raw_credentials(alice_mailbox))["access_token"] == ACCESS

    call_command("reencrypt_tokens", stdout=open("/dev/null", "w"))  # noqa: SIM115
    settings.TOKEN_ENCRYPTION_KEYS = ["new-key-9876543210"]

    assert decrypt_tokens(raw_credentials(alice_mailbox))["refresh_token"] == REFRESH


def test_a_blob_from_an_unknown_key_is_refused(settings, alice_mailbox):
    settings.TOKEN_ENCRYPTION_KEYS = ["some-key-aaaaaaaaaaaa"]
    store(alice_mailbox)
    settings.TOKEN_ENCRYPTION_KEYS = ["another-key-bbbbbbbbbb"]

    with pytest.raises(InvalidToken):
        decrypt_tokens(raw_credentials(alice_mailbox))


def test_the_secret_key_alone_does_not_open_the_tokens(alice_mailbox, settings):
    import base64
    import hashlib

    from cryptography.fernet import Fernet

    settings.TOKEN_ENCRYPTION_KEYS = []  # local settings: the key comes from SECRET_KEY
    store(alice_mailbox)
    raw = raw_credentials(alice_mailbox)

    # The old derivation (a bare SHA-256 of SECRET_KEY) no longer opens new tokens...
    bare = Fernet(base64.urlsafe_b64encode(hashlib.sha256(settings.SECRET_KEY.encode()).digest()))
    with pytest.raises(InvalidToken):
        bare.decrypt(raw)
    # ...but what it encrypted before still decrypts, until reencrypt_tokens.
    old = bare.encrypt(b'{"access_token": "ya29.old", "refresh_token": "1//old"}')
    assert decrypt_tokens(old)["refresh_token"] == "1//old"
