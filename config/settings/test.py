"""Test settings: real PostgreSQL and Redis on localhost (see `make test`)."""

import os

# Tests run against the real services, never the embedded defaults: default to the
# local ones (their own database, test_tern, and Redis database 15).
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tern")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("REDIS_KEY_PREFIX", "tern-test")

from .base import *  # noqa: F403
from .base import env

SECRET_KEY = env("SECRET_KEY", default="tern-test-key-only-for-the-test-suite-0123456789abcdef")
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1", "[::1]"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
