"""No secret, address or mail in any log line or error report, over a whole run.

A real sign-in through allauth and the emulator, a real push (valid, then forged), a
sync that fails with an exception quoting the mail it choked on (run as Celery runs a
task, so Celery's own failure log is in), and a real IntegrityError from PostgreSQL;
then every line the configured log handler wrote and every event the Sentry SDK would
have sent is searched for the emulator's live tokens, the push secret, the OAuth code
and state, the addresses, the display name and the subject.

Sentry's server cannot run here: its SDK is real and its transport is a list.
"""

import io
import json
import logging
import logging.config
import urllib.parse

import pytest
import sentry_sdk
from django.conf import settings
from django.db import IntegrityError, transaction

from accounts.models import GmailAccount
from mail import mirror
from monitoring import sentry
from sync.services import watch_register
from sync.tasks import mailbox_full_sync
from tests.accounts.test_sign_in import consent, finish, start
from tests.monitoring.test_sentry import Recorder
from tests.sync.helpers import deliver, raw_message

pytestmark = pytest.mark.django_db

ALICE = "alice@example.com"
MALLORY = "mallory@evil.example"
DISPLAY_NAME = "Mallory Quimby-Display"
SUBJECT = "Quarterly acquisition plans for Zyx"


@pytest.fixture
def captured(monkeypatch):
    """Every log line through the settings' handler, and every Sentry envelope."""
    stream = io.StringIO()
    config = {**settings.LOGGING, "disable_existing_loggers": False}
    config["handlers"] = {"console": {**config["handlers"]["console"], "stream": stream}}
    logging.config.dictConfig(config)
    recorder = Recorder()
    real_init = sentry_sdk.init
    monkeypatch.setattr(
        sentry_sdk, "init", lambda **kwargs: real_init(transport=recorder, **kwargs)
    )
    sentry.init(dsn="https://key@sentry.invalid/1", environment="test", traces_sample_rate=0)

    def collected():
        sentry_sdk.flush()
        events = b"".join(envelope.serialize() for envelope in recorder.envelopes)
        return stream.getvalue(), events.decode(errors="replace")

    yield collected
    sentry_sdk.init(dsn=None)
    logging.config.dictConfig(settings.LOGGING)


def test_a_whole_run_leaves_no_secret_address_or_mail_in_logs_or_reports(
    client, emulator, push_receiver, captured, monkeypatch
):
    emulator.create_user(ALICE, "Alice Example")
    # Sign-in: the OAuth code and state travel in the callback's query string.
    callback = consent(emulator, start(client), ALICE)
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(callback).query))
    assert finish(client, callback).status_code == 302
    account = GmailAccount.objects.get(email=ALICE)

    # A push: the emulator signs it and sends it with the ?token= secret.
    emulator.set_config(
        push_endpoint=f"{push_receiver.url}?token={settings.PUBSUB_VERIFICATION_TOKEN}",
        push_audience=settings.PUBSUB_AUDIENCE,
        push_service_account=settings.PUBSUB_SERVICE_ACCOUNT,
    )
    watch_register(account=account)
    sender = f"{DISPLAY_NAME} <{MALLORY}>"
    deliver(emulator.gmail(ALICE), raw_message(to=ALICE, subject=SUBJECT, sender=sender))
    push = push_receiver.wait_for(1)[0]
    for token, bearer in ((push.query["token"], push.bearer), ("forged", "x.y.z")):
        client.post(
            f"/webhooks/gmail/?token={token}",
            data=json.dumps(push.body),
            content_type="application/json",
            headers={"authorization": f"Bearer {bearer}"},
        )

    # A sync that fails on a bug whose message quotes the mail, run as Celery runs it.
    def broken(*, thread_ids):
        raise ValueError(f"cannot thread {SUBJECT!r} from {sender}")

    monkeypatch.setattr(mirror, "threads_recompute", broken)
    outcome = mailbox_full_sync.apply(kwargs={"account_id": account.pk})
    assert isinstance(outcome.result, ValueError)  # it did fail
    with sentry_sdk.new_scope():
        sentry_sdk.capture_exception(outcome.result)

    # A real database error, whose text quotes the row it refused.
    try:
        with transaction.atomic():
            GmailAccount.objects.create(user=account.user, email=ALICE, google_sub="other")
    except IntegrityError:
        logging.getLogger("tern.test").exception(
            "could not save the account", extra={"by_address": {ALICE: account.pk}}
        )

    logs, events = captured()
    live = emulator.tokens(ALICE)
    secrets = {
        "access token": [t["token"] for t in live["access_tokens"]],
        "refresh token": [t["token"] for t in live["refresh_tokens"]],
        "push secret": [settings.PUBSUB_VERIFICATION_TOKEN],
        "push OIDC token": [push.bearer],
        "oauth code": [query["code"]],
        "oauth state": [query["state"]],
        "address": [ALICE, MALLORY],
        "display name": [DISPLAY_NAME],
        "subject": [SUBJECT],
    }
    assert all(secrets.values()), secrets
    assert "Traceback" in logs and "ValueError" in logs  # the failures were logged
    assert "IntegrityError" in logs and "constraint" in logs
    assert "ValueError" in events and "IntegrityError" in events  # and reported
    assert '"path": "/webhooks/gmail/"' in logs
    for kind, values in secrets.items():
        for value in values:
            assert value not in logs, (
                f"{kind} in the logs: "
                + logs[max(0, logs.find(value) - 300) : logs.find(value) + 50]
            )
            assert value not in events, f"{kind} in a Sentry event"
