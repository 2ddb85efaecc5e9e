"""Remote images of a mail reach the reader only through Tern's image proxy.

A page never names a remote image's URL: it names the proxy with a token, the URL
encrypted under a key of Tern's own (Fernet, the key derived from SECRET_KEY by HKDF
under a label of its own). So the proxy fetches only URLs that Tern itself wrote into a
page (nobody can use it to fetch anything else), and the URL, which often carries the
reader's address for the sender's tracking, appears in no path, log or browser history.

Inline images (`cid:` in the HTML, an attachment of the same message) are served by
Tern's origin at `/mail/inline/<token>/`, the token signing the user and the attachment:
the email's sandboxed iframe has an opaque origin and sends no session cookie, so the
token is what shows the reader is allowed that one image.
"""

import base64
from functools import cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core import signing
from django.urls import reverse

KEY_LABEL = b"tern: image proxy urls, v1"
INLINE_SALT = "mail.inline-image"
# Longer than any page stays open; a token older than this gives 404.
TOKEN_TTL_S = 30 * 24 * 60 * 60


def proxied(url: str) -> str:
    """The path at which the proxy serves the image at `url`."""
    token = _fernet(settings.SECRET_KEY).encrypt(url.encode()).decode("ascii")
    return reverse("mail:image_proxy", args=[token])


def remote_url(token: str) -> str | None:
    """The URL a token of `proxied` stands for, or None for a token Tern did not make
    (or made too long ago)."""
    try:
        return _fernet(settings.SECRET_KEY).decrypt(token.encode("ascii"), ttl=TOKEN_TTL_S).decode()
    except (InvalidToken, UnicodeError, ValueError):
        return None


def inline_path(*, user_id: int, attachment_id: int) -> str:
    """The path at which Tern serves this inline image to this user."""
    token = signing.dumps([user_id, attachment_id], salt=INLINE_SALT, compress=False)
    return reverse("inline_image", args=[token])


def inline_attachment(token: str) -> tuple[int, int] | None:
    """(user id, attachment id) of a token of `inline_path`, or None for one Tern did
    not make (or made too long ago)."""
    try:
        user_id, attachment_id = signing.loads(token, salt=INLINE_SALT, max_age=TOKEN_TTL_S)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if not (isinstance(user_id, int) and isinstance(attachment_id, int)):
        return None
    return user_id, attachment_id


@cache
def _fernet(secret: str) -> Fernet:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=KEY_LABEL)
    return Fernet(base64.urlsafe_b64encode(hkdf.derive(secret.encode())))
