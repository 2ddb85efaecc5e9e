"""What reaches the logs, through the handler and JSON formatter of the settings."""

import io
import logging
import logging.config

import pytest
from django.conf import settings
from django.test import RequestFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def log_output():
    """The configured console handler, writing to a buffer instead of stderr."""
    stream = io.StringIO()
    config = {**settings.LOGGING, "disable_existing_loggers": False}
    config["handlers"] = {"console": {**config["handlers"]["console"], "stream": stream}}
    logging.config.dictConfig(config)
    yield stream
    logging.config.dictConfig(settings.LOGGING)


def test_a_rejected_push_logs_no_secret(client, log_output, settings):
    client.post(
        f"/webhooks/gmail/?token={settings.PUBSUB_VERIFICATION_TOKEN}",
        data="{not json",
        content_type="application/json",
    )

    logged = log_output.getvalue()
    # Refused (no OIDC token), and Django logged the request: by its path only.
    assert '"request": "POST /webhooks/gmail/"' in logged
    assert settings.PUBSUB_VERIFICATION_TOKEN not in logged


def test_tokens_and_addresses_in_messages_are_scrubbed(log_output):
    logging.getLogger("tern.test").warning(
        "refresh of %s failed with %s", "alice@example.com", "ya29.a0-secret"
    )

    logged = log_output.getvalue()
    assert "refresh of [address] failed with [token]" in logged
    assert "alice@example.com" not in logged and "ya29." not in logged


def test_celery_workers_log_through_the_redacting_handler():
    """A worker sets up its logging as `celery worker` does (app.log.setup); a task
    failure quoting mail must reach its output redacted, as JSON."""
    import os
    import subprocess
    import sys

    script = """
import logging
from config.celery_app import app
app.log.setup(loglevel="INFO")
try:
    raise ValueError("cannot thread 'Secret merger plans' from Mallory <mallory@evil.example>")
except ValueError as error:
    logging.getLogger("celery.app.trace").error("Task t[1] raised: %r", error, exc_info=True)
"""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    output = result.stdout + result.stderr
    assert '"name": "celery.app.trace"' in output, output
    assert "ValueError: [message withheld]" in output
    assert "Secret merger plans" not in output and "mallory@evil.example" not in output


def test_objects_exceptions_and_odd_keys_in_a_record_are_redacted(log_output, alice_mailbox):
    log = logging.getLogger("tern.test")
    log.error(ValueError("subject 'Secret merger plans' for alice@example.com"))
    log.warning(
        "saved",
        extra={"account": alice_mailbox, "pair": {("a", 1): "ok"}, "raw": b"alice@example.com"},
    )

    logged = log_output.getvalue()
    assert "ValueError: [message withheld]" in logged
    assert "Secret merger plans" not in logged and "alice@example.com" not in logged
    assert '"account": "[address]"' in logged


def test_fernet_tokens_in_paths_are_scrubbed(log_output):
    from cryptography.fernet import Fernet

    token = Fernet(Fernet.generate_key()).encrypt(b"https://tracker.example/?u=alice").decode()
    logging.getLogger("tern.request").info("request", extra={"path": f"/mail/image/{token}/"})

    logging.getLogger("django.request").error(
        "Internal Server Error: %s",
        f"/mail/image/{token}/",
        extra={"request": RequestFactory().get(f"/mail/image/{token}/")},
    )

    logged = log_output.getvalue()
    assert '"path": "/mail/image/[token]/"' in logged
    assert '"request": "GET /mail/image/[token]/"' in logged
    assert token not in logged
