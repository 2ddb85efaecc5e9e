"""Settings are read from the environment; each case runs Django in a fresh process."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PRINT_SETTINGS = """
import json, django
from django.conf import settings
django.setup()
print(json.dumps({
    "db": settings.DATABASES["default"]["ENGINE"],
    "db_name": settings.DATABASES["default"]["NAME"],
    "channels": settings.CHANNEL_LAYERS["default"]["BACKEND"],
    "cache": settings.CACHES["default"]["BACKEND"],
    "broker": settings.CELERY_BROKER_URL,
    "eager": settings.CELERY_TASK_ALWAYS_EAGER,
    "gmail_scopes": settings.GMAIL_SCOPES,
}))
"""

PRODUCTION_ENV = {
    "SECRET_KEY": "a-long-production-secret-0123456789-abcdefghijklmnopqrstuvwxyz",
    "ALLOWED_HOSTS": "tern.example.com",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/tern",
    "REDIS_URL": "redis://127.0.0.1:6379/15",
    "TOKEN_ENCRYPTION_KEYS": "a-token-key-0123456789-abcdefghijklmnopqrstuvwxyz",
    "PUBSUB_AUDIENCE": "https://tern.example.com/webhooks/gmail/",
    "PUBSUB_SERVICE_ACCOUNT": "push@tern-prod.iam.gserviceaccount.com",
}


def run(args, settings_module, **env):
    # Only what a process needs to start: no variable of the developer's leaks in.
    base = {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": settings_module}
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def settings_of(settings_module, **env):
    result = run(["-c", PRINT_SETTINGS], settings_module, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_it_runs_on_embedded_defaults_with_an_empty_environment():
    got = settings_of("config.settings.local")

    assert got["db"] == "django.db.backends.sqlite3"
    assert got["db_name"].endswith("db.sqlite3")
    assert got["channels"] == "channels.layers.InMemoryChannelLayer"
    assert got["cache"] == "django.core.cache.backends.locmem.LocMemCache"
    assert got["eager"] is True


def test_it_uses_postgres_and_redis_when_their_variables_are_set():
    got = settings_of(
        "config.settings.local",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/tern",
        REDIS_URL="redis://127.0.0.1:6379/3",
    )

    assert got["db"] == "django.db.backends.postgresql"
    assert got["db_name"] == "tern"
    assert got["channels"] == "channels_redis.core.RedisChannelLayer"
    assert got["cache"] == "django.core.cache.backends.redis.RedisCache"
    assert got["broker"] == "redis://127.0.0.1:6379/3"
    assert got["eager"] is False


def test_production_refuses_to_start_without_its_secrets():
    result = run(["-c", PRINT_SETTINGS], "config.settings.production", SECRET_KEY="x" * 60)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "ALLOWED_HOSTS, DATABASE_URL, REDIS_URL, TOKEN_ENCRYPTION_KEYS" in result.stderr
    assert "PUBSUB_AUDIENCE, PUBSUB_SERVICE_ACCOUNT" in result.stderr  # OIDC is required
    assert "SECRET_KEY," not in result.stderr


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"TOKEN_ENCRYPTION_KEYS": ""}, "TOKEN_ENCRYPTION_KEYS"),
        ({"TOKEN_ENCRYPTION_KEYS": " , "}, "TOKEN_ENCRYPTION_KEYS"),
        ({"PUBSUB_SERVICE_ACCOUNT": ""}, "PUBSUB_SERVICE_ACCOUNT"),
        ({"GOOGLE_EMULATOR_URL": "http://127.0.0.1:8085"}, "GOOGLE_EMULATOR_URL is set"),
        ({"PUBSUB_TOKEN_ONLY": "true", "PUBSUB_AUDIENCE": ""}, "PUBSUB_VERIFICATION_TOKEN"),
    ],
)
def test_production_refuses_what_would_leave_it_unprotected(change, message):
    result = run(
        ["-c", PRINT_SETTINGS], "config.settings.production", **{**PRODUCTION_ENV, **change}
    )

    assert result.returncode != 0
    assert message in result.stderr


def test_token_only_pushes_are_allowed_only_when_asked_for_by_name():
    env = {**PRODUCTION_ENV, "PUBSUB_AUDIENCE": "", "PUBSUB_SERVICE_ACCOUNT": ""}
    result = run(
        ["-c", PRINT_SETTINGS],
        "config.settings.production",
        **env,
        PUBSUB_TOKEN_ONLY="true",
        PUBSUB_VERIFICATION_TOKEN="a-long-push-secret",
    )

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "load",
    [
        # Run as a file, so that config/__init__.py (which loads celery_app) cannot set
        # the default in its place.
        "import runpy; runpy.run_path('config/asgi.py')",
        "import config.celery_app, django; django.setup()",
    ],
    ids=["asgi", "celery"],
)
def test_the_entry_points_default_to_production_settings(load):
    # No DJANGO_SETTINGS_MODULE at all: production refuses, instead of DEBUG on.
    result = subprocess.run(
        [sys.executable, "-c", load],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode != 0
    assert "Production settings need these environment variables" in result.stderr


def test_production_passes_the_deploy_check_when_configured():
    result = run(["manage.py", "check", "--deploy"], "config.settings.production", **PRODUCTION_ENV)

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout
    assert result.stderr == ""


def test_local_settings_pass_the_system_check():
    result = run(["manage.py", "check"], "config.settings.local")

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.parametrize(
    ("value", "scopes"),
    [
        ("", ["https://www.googleapis.com/auth/gmail.modify"]),
        (
            "https://www.googleapis.com/auth/gmail.modify https://mail.google.com/",
            ["https://www.googleapis.com/auth/gmail.modify", "https://mail.google.com/"],
        ),
        (
            " https://mail.google.com/ ,https://www.googleapis.com/auth/gmail.modify",
            ["https://mail.google.com/", "https://www.googleapis.com/auth/gmail.modify"],
        ),
    ],
)
def test_gmail_scopes_are_read_space_or_comma_separated_and_empty_means_the_default(value, scopes):
    assert settings_of("config.settings.local", GMAIL_SCOPES=value)["gmail_scopes"] == scopes
