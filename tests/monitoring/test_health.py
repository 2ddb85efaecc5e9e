import datetime as dt

import pytest
from django.utils import timezone

from sync.models import GmailWatch

pytestmark = pytest.mark.django_db


def test_health_is_ok_with_the_database_and_redis_up(client):
    response = client.get("/health/")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db(transaction=True)
def test_health_is_down_without_the_database(client, monkeypatch):
    from django.db import connection

    # A real outage: the connection goes to a port where no database listens.
    connection.close()
    monkeypatch.setitem(connection.settings_dict, "PORT", 9)

    response = client.get("/health/")

    assert response.status_code == 503
    assert response.json() == {"status": "down"}
    monkeypatch.undo()
    connection.close()  # reconnect to the real database for what follows


def test_details_are_closed_without_the_key(client, settings):
    settings.HEALTH_API_KEY = None
    assert client.get("/health/details/").status_code == 404
    settings.HEALTH_API_KEY = "s3cret"
    assert client.get("/health/details/", headers={"X-Health-Key": "guess"}).status_code == 404


def test_details_show_a_failing_watch_renewal(client, settings, alice_mailbox):
    settings.HEALTH_API_KEY = "s3cret"
    GmailWatch.objects.create(
        account=alice_mailbox,
        topic="projects/p/topics/t",
        expiration=timezone.now() + dt.timedelta(hours=3),
        last_error="gmail answered 503",
    )

    report = client.get("/health/details/", headers={"X-Health-Key": "s3cret"}).json()

    assert report["status"] == "ok"  # a watch problem is a warning, not an outage
    assert report["checks"]["watches"]["state"] == "warn"
    assert "1 failing to renew" in report["checks"]["watches"]["detail"]
    assert set(report["checks"]) == {"database", "redis", "watches", "sync", "skipped_messages"}
    assert all(check["ms"] >= 0 for check in report["checks"].values())
