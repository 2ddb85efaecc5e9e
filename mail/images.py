"""Remote images of a mail reach the reader only through Tern's image proxy.

A page never names a remote image's URL: it names the proxy with a token, the URL
encrypted under a key of Tern's own (Fernet, the key derived from SECRET_KEY by HKDF
under a label of its own). So the proxy fetches only URLs that Tern itself wrote into a
page (nobody can use it to fetch anything else), and the URL, which often carries the
reader's address for the sender's tracking, appears in no path, log or browser history.
"""

import base64
from functools import cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.urls import reverse

KEY_LABEL = b"tern: image proxy urls, v1"
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


@cache
def _fernet(secret: str) -> Fernet:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=KEY_LABEL)
    return Fernet(base64.urlsafe_b64encode(hkdf.derive(secret.encode())))
