"""Whether a Google account that signed in has Gmail at all."""

import json
import logging

import httplib2
from google.auth.exceptions import GoogleAuthError
from googleapiclient.errors import HttpError

from gmail.client import build_credentials, build_service
from gmail.errors import reason_of

logger = logging.getLogger(__name__)

# Gmail's answer, to every call, for a Google account without Gmail (one made for
# YouTube or Docs, or a Workspace user whose administrator turned Gmail off). The
# transient 400 failedPrecondition says "Precondition check failed." instead.
NO_MAIL_SERVICE = "Mail service not enabled"


def has_gmail(*, access_token: str) -> bool:
    """Whether the account behind `access_token` has a mailbox (users.getProfile, 1 unit).

    Only Gmail's own "Mail service not enabled" says no: any other failure (Google
    unreachable, a 5xx) says nothing about the account, and the first sync will retry.
    """
    credentials = build_credentials(
        token=access_token, refresh_token=None, expiry=None, scopes=None
    )
    try:
        build_service(credentials).users().getProfile(userId="me").execute()
    except HttpError as error:
        return not _is_no_mail_service(error)
    # A token Google stopped taking meanwhile (revoked between the code exchange and
    # now: google-auth's refresh on the 401 has no refresh token to use) says nothing
    # about the account either.
    except (httplib2.HttpLib2Error, OSError, GoogleAuthError) as error:
        logger.warning("could not ask gmail for the profile", extra={"error": type(error).__name__})
    return True


def _is_no_mail_service(error: HttpError) -> bool:
    if error.resp.status != 400 or reason_of(error) != "failedPrecondition":
        return False
    try:
        message = json.loads(error.content)["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return False
    return bool(message == NO_MAIL_SERVICE)
