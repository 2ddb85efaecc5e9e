"""accounts.gmail_check: does a Google account that signed in have Gmail at all?"""

import pytest

from accounts.gmail_check import has_gmail

pytestmark = pytest.mark.django_db


def test_an_account_without_gmail_is_told_apart(emulator):
    emulator.create_user("nomail@example.com", "No Mail", gmail=False)
    emulator.create_user("alice@example.com", "Alice Example")

    assert not has_gmail(access_token=emulator.issue_tokens("nomail@example.com")["access_token"])
    assert has_gmail(access_token=emulator.issue_tokens("alice@example.com")["access_token"])


def test_a_token_google_no_longer_takes_says_nothing_about_the_account(emulator):
    """Revoked between the code exchange and the check: google-auth's refresh on the 401
    has no refresh token and raises; sign-in must go on (the first sync will tell)."""
    emulator.create_user("alice@example.com", "Alice Example")
    token = emulator.issue_tokens("alice@example.com")["access_token"]
    emulator.revoke("alice@example.com")

    assert has_gmail(access_token=token)
