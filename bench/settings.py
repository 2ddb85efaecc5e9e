"""Settings for `make bench`: the test settings, pointed at the bench's own resources.

Everything the benchmarks touch is theirs alone, whatever the shell exports (the
Makefile exports the developer's DATABASE_URL and the tests' REDIS_URL):

- PostgreSQL database `tern_bench` on the server of DATABASE_URL (or BENCH_DATABASE_URL),
  dropped and created again by every run;
- Redis database 14 (BENCH_REDIS_URL), every key under the prefix `tern-bench`, the
  Celery broker's keys included;
- a Google emulator on a port chosen here, before the settings load, because allauth
  reads its Google URLs at import. The port travels to the web server and worker
  subprocesses in BENCH_EMULATOR_URL, so all of them talk to the same emulator.
"""

import os
from urllib.parse import urlsplit, urlunsplit

from emulator.client import free_port

BENCH_DATABASE_NAME = "tern_bench"
BENCH_KEY_PREFIX = "tern-bench"


def _bench_database_url():
    url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        url = "postgres://postgres@127.0.0.1:5432/tern"
    # Whatever name the URL carries, the bench uses (and drops) only its own database.
    return urlunsplit(urlsplit(url)._replace(path=f"/{BENCH_DATABASE_NAME}"))


os.environ["DATABASE_URL"] = _bench_database_url()
os.environ["REDIS_URL"] = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
os.environ["REDIS_KEY_PREFIX"] = BENCH_KEY_PREFIX
os.environ.setdefault("BENCH_EMULATOR_URL", f"http://127.0.0.1:{free_port()}")
os.environ["GOOGLE_EMULATOR_URL"] = os.environ["BENCH_EMULATOR_URL"]
os.environ["GOOGLE_CLIENT_ID"] = "tern-bench.apps.googleusercontent.com"
os.environ["GOOGLE_CLIENT_SECRET"] = "tern-bench-secret"
os.environ["GMAIL_PUBSUB_TOPIC"] = "projects/tern-bench/topics/gmail"
os.environ["PUBSUB_VERIFICATION_TOKEN"] = "tern-bench-push-token"
# OIDC on the webhook: on in the web server of the push benchmark (which sets
# BENCH_PUBSUB_AUDIENCE), toggled per measurement in-process.
os.environ["PUBSUB_AUDIENCE"] = os.environ.get("BENCH_PUBSUB_AUDIENCE", "")
os.environ["PUBSUB_SERVICE_ACCOUNT"] = "gmail-push@tern-bench.iam.gserviceaccount.com"
os.environ["SENTRY_DSN"] = ""  # traffic to 127.0.0.1 only
os.environ["LOG_LEVEL"] = os.environ.get("BENCH_LOG_LEVEL", "WARNING")

from config.settings.test import *  # noqa: E402, F403
from config.settings.test import CELERY_BROKER_TRANSPORT_OPTIONS, DATABASES  # noqa: E402

DEBUG = False
ROOT_URLCONF = "bench.urls"
# Production keeps connections (base settings: 60 s); the tests close them after each
# request only so that their database can be dropped. Timings here are production's.
DATABASES["default"]["CONN_MAX_AGE"] = 60
DATABASES["default"]["TEST"] = {"NAME": f"test_{BENCH_DATABASE_NAME}"}
# Kombu's keys (queues, bindings, unacked) under the bench prefix too, so cleaning up
# touches nothing but the bench's keys.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    **CELERY_BROKER_TRANSPORT_OPTIONS,
    "global_keyprefix": f"{BENCH_KEY_PREFIX}:",
}
