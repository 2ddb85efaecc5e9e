"""Production settings: every secret from the environment, HTTPS only.

Missing SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL, REDIS_URL or TOKEN_ENCRYPTION_KEYS, or a
push endpoint without OIDC verification, stops start-up with an ImproperlyConfigured
naming what is wrong; there is no silent fallback here.
"""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env

# TOKEN_ENCRYPTION_KEYS is required so that SECRET_KEY alone never decrypts the refresh
# tokens (and rotating SECRET_KEY never loses them).
REQUIRED = ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL", "TOKEN_ENCRYPTION_KEYS")
# Pushes are verified by their OIDC token; the `?token=` secret alone is a weaker, older
# mode, allowed only when asked for by name (docs/configuration.md).
PUBSUB_TOKEN_ONLY = env.bool("PUBSUB_TOKEN_ONLY", default=False)
if PUBSUB_TOKEN_ONLY:
    REQUIRED += ("PUBSUB_VERIFICATION_TOKEN",)
else:
    REQUIRED += ("PUBSUB_AUDIENCE", "PUBSUB_SERVICE_ACCOUNT")
missing = [name for name in REQUIRED if not "".join(env.list(name, default=[])).strip()]
if missing:
    raise ImproperlyConfigured(
        "Production settings need these environment variables: " + ", ".join(missing)
    )
if env.str("GOOGLE_EMULATOR_URL", default=""):
    raise ImproperlyConfigured(
        "GOOGLE_EMULATOR_URL is set: production talks to Google, never to the emulator."
    )

DEBUG = False
SECRET_KEY = env("SECRET_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")

# HTTPS behind a proxy that terminates TLS and sets X-Forwarded-Proto itself, replacing
# any value a client sent (docs/deployment.md): Django then trusts that header.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^health/$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
