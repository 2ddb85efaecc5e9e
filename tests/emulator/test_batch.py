"""Batch requests in Google's multipart/mixed format, parsed by BatchHttpRequest."""

import base64

import httpx
import pytest
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest

from tests.emulator.conftest import rfc822


def insert(gmail, subject):
    message = rfc822(sender="zoe@bakery.example", to="alice@example.com", subject=subject)
    body = {"raw": base64.urlsafe_b64encode(message.as_bytes()).decode(), "labelIds": ["INBOX"]}
    return gmail.users().messages().insert(userId="me", body=body).execute()


def test_it_runs_a_batch_with_mixed_success(emulator, alice, alice_gmail):
    stored = insert(alice_gmail, "Batch me")
    answers = {}
    batch = alice_gmail.new_batch_http_request(
        callback=lambda request_id, response, error: answers.update({request_id: (response, error)})
    )
    messages = alice_gmail.users().messages()
    batch.add(messages.get(userId="me", id=stored["id"], format="metadata"), request_id="get")
    batch.add(messages.get(userId="me", id="18c0ffee00000000"), request_id="missing")
    batch.add(
        messages.modify(userId="me", id=stored["id"], body={"addLabelIds": ["STARRED"]}),
        request_id="star",
    )
    batch.add(alice_gmail.users().labels().list(userId="me"), request_id="labels")

    batch.execute()

    assert answers["get"][0]["id"] == stored["id"] and answers["get"][1] is None
    assert answers["missing"][0] is None and answers["missing"][1].status_code == 404
    assert "STARRED" in answers["star"][0]["labelIds"]
    assert answers["labels"][0]["labels"]
    assert emulator.state(alice)["messages"][stored["id"]]["labelIds"] == ["INBOX", "STARRED"]


def test_it_answers_at_the_api_specific_batch_path(emulator, alice, alice_gmail):
    stored = insert(alice_gmail, "Elsewhere")
    answers = []
    batch = BatchHttpRequest(
        callback=lambda request_id, response, error: answers.append(response),
        batch_uri=f"{emulator.url}/batch/gmail/v1",
    )
    batch.add(alice_gmail.users().messages().get(userId="me", id=stored["id"]))

    batch.execute(http=alice_gmail._http)

    assert answers[0]["id"] == stored["id"]


def test_it_refuses_more_than_100_calls(alice_gmail):
    batch = alice_gmail.new_batch_http_request()
    for _ in range(101):
        batch.add(alice_gmail.users().getProfile(userId="me"))

    with pytest.raises(HttpError) as caught:
        batch.execute()

    assert caught.value.status_code == 400


def test_it_charges_and_counts_each_call_on_its_own(emulator, alice, alice_gmail):
    stored = insert(alice_gmail, "Counted")
    batch = alice_gmail.new_batch_http_request()
    for _ in range(3):
        batch.add(alice_gmail.users().messages().get(userId="me", id=stored["id"]))
    batch.add(alice_gmail.users().history().list(userId="me", startHistoryId="1"))

    batch.execute()

    methods = emulator.stats()["users"][alice]["methods"]
    assert methods["users.messages.get"] == {"calls": 3, "units": 15, "errors": 0}
    assert methods["users.history.list"] == {"calls": 1, "units": 2, "errors": 1}


def test_it_authenticates_each_call_on_its_own(emulator, alice, alice_gmail):
    body = (
        "--b\r\nContent-Type: application/http\r\nContent-ID: <x + 1>\r\n\r\n"
        "GET /gmail/v1/users/me/profile HTTP/1.1\r\nAuthorization: Bearer ya29.unknown\r\n\r\n"
        "\r\n--b--\r\n"
    )

    answer = httpx.post(
        f"{emulator.url}/batch",
        content=body,
        headers={"Content-Type": "multipart/mixed; boundary=b"},
    )

    assert answer.status_code == 200
    assert "Content-ID: <response-x + 1>" in answer.text
    assert "HTTP/1.1 401 Unauthorized" in answer.text


def test_it_faults_each_call_on_its_own(emulator, alice, alice_gmail):
    stored = insert(alice_gmail, "Flaky")

    def run_batch() -> list[int]:
        statuses = {}
        batch = alice_gmail.new_batch_http_request(
            callback=lambda request_id, response, error: statuses.update(
                {int(request_id): error.status_code if error else 200}
            )
        )
        for _ in range(20):
            batch.add(alice_gmail.users().messages().get(userId="me", id=stored["id"]))
        batch.execute()
        return [statuses[n] for n in sorted(statuses)]

    emulator.set_faults(error_rate=0.5, statuses=[503, 429], seed=99)
    first = run_batch()
    emulator.set_faults(error_rate=0.5, statuses=[503, 429], seed=99)
    second = run_batch()

    assert first == second
    assert {200, 503, 429} == set(first)


def test_each_call_of_a_batch_takes_a_slot_of_the_in_flight_limit(emulator, alice, alice_gmail):
    stored = insert(alice_gmail, "Many at once")
    emulator.set_config(concurrent_requests_per_user=4)
    answers = {}
    batch = alice_gmail.new_batch_http_request(
        callback=lambda request_id, response, error: answers.update({request_id: error})
    )
    for n in range(6):
        batch.add(
            alice_gmail.users().messages().get(userId="me", id=stored["id"]), request_id=str(n)
        )

    batch.execute()

    refused = {key for key, error in answers.items() if error is not None}
    assert refused == {"4", "5"}
    assert answers["4"].status_code == 429
    assert answers["4"].error_details[0]["message"] == "Too many concurrent requests for user"
    assert emulator.stats()["concurrency"]["peak"] == {alice: 4}
