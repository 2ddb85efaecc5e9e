"""The Celery app. Tasks are discovered in each app's tasks.py; the beat schedule is here."""

import os

from celery import Celery, signals
from celery.schedules import crontab

# The Procfile's processes run production settings unless told otherwise: forgetting
# the variable must never start a server with DEBUG on and development secrets.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

app = Celery("tern")


@signals.setup_logging.connect
def use_django_logging(**kwargs):
    """Workers and beat log through Django's LOGGING (JSON, every record redacted by
    monitoring.logging): without this receiver Celery replaces the root handler with
    its own, which prints task failures, mail content in their messages included, as
    they come."""
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Incremental syncs, polls and watches on `sync`; full-sync slices on `sync_full` so a
# huge first sync never delays other mailboxes' new mail; user actions on `outbox`.
app.conf.task_routes = {
    "sync.tasks.mailbox_full_sync": {"queue": "sync_full"},
    "sync.tasks.outbox_flush": {"queue": "outbox"},
    "sync.tasks.*": {"queue": "sync"},
}
app.conf.beat_schedule = {
    # Gmail watches last 7 days; renew any missing or expiring within 48 h, hourly.
    "renew-watches": {"task": "sync.tasks.watches_renew", "schedule": crontab(minute=7)},
    # The fallback for lost pushes: sync mailboxes that have been quiet too long.
    "poll-quiet-mailboxes": {"task": "sync.tasks.quiet_mailboxes_poll", "schedule": 60.0},
    # Snoozed threads whose time has come return to the inbox (late ones too).
    "wake-snoozed-threads": {"task": "sync.tasks.snoozes_wake", "schedule": 60.0},
    # Sends past their undo window or scheduled time whose timed flush was lost (down).
    "send-due-mail": {"task": "sync.tasks.sends_due", "schedule": 30.0},
    # User actions still waiting for Gmail get another try, whatever was lost.
    "flush-pending-outboxes": {"task": "sync.tasks.pending_outboxes_flush", "schedule": 300.0},
}
