"""The Celery app. Tasks are discovered in each app's tasks.py; the beat schedule is here."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("tern")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Periodic work (watch renewal, fallback polling) is added here by the sync engine.
app.conf.beat_schedule = {}
