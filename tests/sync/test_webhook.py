"""The Pub/Sub webhook, fed with real pushes the emulator signed and delivered.

The emulator pushes to a small receiver of the test (tests.fixtures.emulator); each
captured push is then replayed against Tern's webhook through Django's test client, so
what is verified is exactly what Google's push looks like.
"""

import base64
import json

import pytest

from support.mailbox import account_connect
from sync import webhook
from sync.coordination import Flag, flag_pop
from sync.models import SyncStatus
from sync.services import watch_register
from tests.sync.helpers import deliver, raw_message

pytestmark = pytest.mark.django_db

ALICE = "alice@example.com"


@pytest.fixture
def enqueued(broker):
    """The syncs the webhook enqueued, read from the real broker: [{"account_id": id}]."""
    return lambda: [kwargs for name, kwargs, _ in broker.tasks() if name.endswith(".mailbox_sync")]


@pytest.fixture
def mailbox(emulator, alice, settings, push_receiver):
    account = account_connect(emulator, user=alice, email=ALICE, name="Alice Example")
    emulator.set_config(
        push_endpoint=f"{push_receiver.url}?token={settings.PUBSUB_VERIFICATION_TOKEN}",
        push_audience=settings.PUBSUB_AUDIENCE,
        push_service_account=settings.PUBSUB_SERVICE_ACCOUNT,
    )
    watch_register(account=account)
    flag_pop(Flag.QUEUED, account.pk)
    return account


@pytest.fixture
def a_push(emulator, mailbox, push_receiver):
    """A real push: Gmail changed, the emulator notified the receiver."""
    deliver(emulator.gmail(ALICE), raw_message(to=ALICE, subject="Hello"))
    return push_receiver.wait_for(1)[0]


def replay(client, push, *, body=None, token=None, bearer=None):
    query = {"token": push.query.get("token")} if token is None else {"token": token}
    headers = {"authorization": f"Bearer {push.bearer if bearer is None else bearer}"}
    return client.post(
        "/webhooks/gmail/?" + "&".join(f"{k}={v}" for k, v in query.items() if v is not None),
        data=body if body is not None else json.dumps(push.body),
        content_type="application/json",
        headers=headers,
    )


# Work is queued after commit: the test's transaction must commit for it to be queued.
@pytest.mark.django_db(transaction=True)
def test_a_real_push_is_recorded_and_a_sync_enqueued(client, a_push, mailbox, enqueued):
    response = replay(client, a_push)

    assert response.status_code == 204
    status = SyncStatus.objects.get(account=mailbox)
    assert status.last_push_history_id == int(a_push.data["historyId"])
    assert status.last_push_at is not None
    assert enqueued() == [{"account_id": mailbox.pk}]


# Work is queued after commit: the test's transaction must commit for it to be queued.
@pytest.mark.django_db(transaction=True)
def test_a_redelivered_push_is_acknowledged_once(client, a_push, mailbox, enqueued):
    replay(client, a_push)
    flag_pop(Flag.QUEUED, mailbox.pk)  # the sync ran meanwhile

    response = replay(client, a_push)

    assert response.status_code == 204
    assert len(enqueued()) == 1


# Work is queued after commit: the test's transaction must commit for it to be queued.
@pytest.mark.django_db(transaction=True)
def test_a_burst_of_pushes_enqueues_one_sync(client, a_push, mailbox, enqueued):
    for n in range(5):
        body = dict(a_push.body, message={**a_push.body["message"], "messageId": f"burst-{n}"})
        assert replay(client, a_push, body=json.dumps(body)).status_code == 204

    assert len(enqueued()) == 1


def test_history_id_may_be_a_number(client, a_push, mailbox, enqueued):
    data = {"emailAddress": ALICE, "historyId": int(a_push.data["historyId"]) + 5}
    message = dict(a_push.body["message"], messageId="numeric-1")
    message["data"] = base64.b64encode(json.dumps(data).encode()).decode()

    response = replay(client, a_push, body=json.dumps(dict(a_push.body, message=message)))

    assert response.status_code == 204
    assert SyncStatus.objects.get(account=mailbox).last_push_history_id == data["historyId"]


def test_a_push_for_an_unknown_address_is_acknowledged_without_a_sync(client, a_push, enqueued):
    data = {"emailAddress": "stranger@example.com", "historyId": "77"}
    message = dict(a_push.body["message"], messageId="stranger-1")
    message["data"] = base64.urlsafe_b64encode(json.dumps(data).encode()).decode()

    response = replay(client, a_push, body=json.dumps(dict(a_push.body, message=message)))

    assert response.status_code == 204
    assert enqueued() == []


@pytest.mark.parametrize(
    "body",
    ["{not json", "{}", json.dumps({"message": {"data": "!!!", "messageId": "1"}}), "[]"],
)
def test_a_malformed_body_is_a_bad_request(client, a_push, enqueued, body):
    response = replay(client, a_push, body=body)

    assert response.status_code == 400
    assert enqueued() == []


def test_a_wrong_token_is_forbidden_and_a_missing_one_unauthorized(client, a_push, enqueued):
    assert replay(client, a_push, token="guess").status_code == 403
    assert replay(client, a_push, token="").status_code == 401
    assert enqueued() == []


def test_a_forged_oidc_token_is_forbidden(client, a_push, enqueued):
    header, payload, signature = a_push.bearer.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["email"] = "attacker@evil.example"
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")

    response = replay(client, a_push, bearer=f"{header}.{forged_payload}.{signature}")

    assert response.status_code == 403
    assert replay(client, a_push, bearer="").status_code == 401
    assert enqueued() == []


def test_a_token_for_another_audience_is_forbidden(client, a_push, settings, enqueued):
    settings.PUBSUB_AUDIENCE = "https://someone-else.example/push"

    assert replay(client, a_push).status_code == 403
    assert enqueued() == []


def test_an_expired_oidc_token_is_forbidden(client, emulator, mailbox, push_receiver, enqueued):
    emulator.advance_clock(-3 * 3600)  # the emulator signs as if three hours ago
    deliver(emulator.gmail(ALICE), raw_message(to=ALICE, subject="Old news"))
    push = push_receiver.wait_for(1)[0]

    assert replay(client, push).status_code == 403
    assert enqueued() == []


def test_with_no_check_configured_production_refuses_every_push(client, a_push, settings):
    settings.PUBSUB_VERIFICATION_TOKEN = ""
    settings.PUBSUB_AUDIENCE = ""
    settings.DEBUG = False

    assert replay(client, a_push).status_code == 403


def with_data(push, data, message_id):
    message = dict(push.body["message"], messageId=message_id)
    message["data"] = base64.urlsafe_b64encode(json.dumps(data).encode()).decode()
    return json.dumps(dict(push.body, message=message))


@pytest.mark.parametrize("history_id", [2**63, str(2**64), -1, 0])
def test_a_history_id_out_of_range_is_a_bad_request_not_an_error(
    client, a_push, enqueued, history_id
):
    body = with_data(a_push, {"emailAddress": ALICE, "historyId": history_id}, "big-1")

    response = replay(client, a_push, body=body)

    assert response.status_code == 400  # a 500 would have Pub/Sub retry it for a week
    assert enqueued() == []


def test_json_nested_thousands_deep_is_a_bad_request(client, a_push, enqueued):
    deep = "[" * 20_000 + "]" * 20_000
    for body in (deep, json.dumps({"message": {"messageId": "d", "data": "x"}, "x": 1})[:-1]):
        assert replay(client, a_push, body=body).status_code == 400
    data = base64.b64encode(deep.encode()).decode()
    nested = json.dumps(dict(a_push.body, message=dict(a_push.body["message"], data=data)))
    assert replay(client, a_push, body=nested).status_code == 400


def test_unknown_key_ids_fetch_googles_certificates_at_most_once_a_minute(
    client, a_push, enqueued, monkeypatch
):
    fetches = []
    real_get = webhook.requests.get

    def counting_get(url, **kwargs):  # a spy: the request still goes to the emulator
        fetches.append(url)
        return real_get(url, **kwargs)

    monkeypatch.setattr(webhook.requests, "get", counting_get)
    header, payload, signature = a_push.bearer.split(".")
    assert replay(client, a_push).status_code == 204
    for n in range(30):
        fake = json.loads(base64.urlsafe_b64decode(header + "=="))
        fake["kid"] = f"made-up-{n % 3}"
        forged = base64.urlsafe_b64encode(json.dumps(fake).encode()).decode().rstrip("=")
        assert replay(client, a_push, bearer=f"{forged}.{payload}.{signature}").status_code == 403

    assert len(fetches) == 2  # the first push's keys, then one refetch for all 30 forgeries
