"""Test settings: real PostgreSQL and Redis on localhost (see `make test`)."""

import os
import socket

# Tests run against the real services, never the embedded defaults: default to the
# local ones (their own database, test_tern, and Redis database 15).
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tern")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
# Per process, so that two test runs on one machine (a developer's and CI's) never
# share cache keys, locks or a test database.
os.environ.setdefault("REDIS_KEY_PREFIX", f"tern-test-{os.getpid()}")


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# allauth reads its Google URLs once, at import, so the emulator's address must be known
# before settings load: pick a free port now; the emulator fixture starts it there.
os.environ.setdefault("GOOGLE_EMULATOR_URL", f"http://127.0.0.1:{_free_port()}")
os.environ.setdefault("GOOGLE_CLIENT_ID", "tern-tests.apps.googleusercontent.com")
os.environ.setdefault("GOOGLE_CLIENT_SECRET", "tern-tests-secret")
os.environ.setdefault("GMAIL_PUBSUB_TOPIC", "projects/tern-test/topics/gmail")
os.environ.setdefault("PUBSUB_VERIFICATION_TOKEN", "tern-test-push-token")
os.environ.setdefault("PUBSUB_AUDIENCE", "http://testserver/webhooks/gmail/")
os.environ.setdefault("PUBSUB_SERVICE_ACCOUNT", "gmail-push@tern-test.iam.gserviceaccount.com")

from .base import *  # noqa: E402, F403
from .base import env  # noqa: E402

SECRET_KEY = env("SECRET_KEY", default="tern-test-key-only-for-the-test-suite-0123456789abcdef")
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1", "[::1]"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Served from static/ through the finders: tests never need `collectstatic`.
WHITENOISE_USE_FINDERS = True
# Nothing collected (WhiteNoise would warn of a missing folder); collectstatic tests set one.
STATIC_ROOT = None  # type: ignore[assignment]

DATABASES["default"]["TEST"] = {"NAME": f"test_tern_{os.getpid()}"}  # noqa: F405
# Threads of end-to-end tests (live server, Celery worker) must not keep connections
# open after their request or task, or the test database cannot be dropped at the end.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
