"""``--seed demo`` and live mode: lived-in mailboxes that the real client can use."""

import base64
import collections
import os
import time
from pathlib import Path

import pytest

from emulator.client import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, start_emulator
from emulator.config import Config
from emulator.seed import demo
from emulator.state import Emulator as EmulatorState
from support.emulator import Emulator


def _cpu_seconds(pid: int) -> float | None:
    """The CPU time a process has used (Linux's /proc), or None where there is no /proc.

    Start-up is measured in the emulator's own CPU time, not wall-clock time, which on a
    busy two-core machine (other tests, other builds) says more about the machine."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    user, system = int(fields[11]), int(fields[12])  # utime, stime (fields 14 and 15)
    return (user + system) / os.sysconf("SC_CLK_TCK")


@pytest.fixture
def demo_server(request, tmp_path, settings, gmail_schema_guard):
    started = time.monotonic()
    server = start_emulator(tmp_path / "demo.log", "--seed", "demo")
    request.addfinalizer(server.stop)
    server.startup_s = _cpu_seconds(server.popen.pid) or time.monotonic() - started
    settings.GOOGLE_EMULATOR_URL = server.url
    settings.GOOGLE_CLIENT_ID = DEFAULT_CLIENT_ID
    settings.GOOGLE_CLIENT_SECRET = DEFAULT_CLIENT_SECRET
    return server


def test_the_demo_starts_in_under_three_seconds_with_lived_in_mailboxes(demo_server):
    helper = Emulator(demo_server.url)
    alice = helper.gmail("alice@example.com")
    bob = helper.gmail("bob@example.com")
    messages = alice.users().messages()

    inbox = messages.list(userId="me", labelIds=["INBOX"], maxResults=50).execute()
    newsletter = messages.list(userId="me", q="from:weeklybyte", maxResults=1).execute()
    html = messages.get(userId="me", id=newsletter["messages"][0]["id"]).execute()
    with_files = messages.list(userId="me", q="has:attachment").execute()
    labels = {
        label["name"] for label in alice.users().labels().list(userId="me").execute()["labels"]
    }
    threads = collections.Counter(
        m["threadId"] for m in helper.state("alice@example.com")["messages"].values()
    )

    assert demo_server.startup_s < 3
    assert alice.users().getProfile(userId="me").execute()["messagesTotal"] >= 200
    assert bob.users().getProfile(userId="me").execute()["messagesTotal"] >= 80
    assert len(inbox["messages"]) == 50
    parts = [p for p in html["payload"]["parts"] if p["mimeType"] == "text/html"]
    assert b"https://img." in base64.urlsafe_b64decode(parts[0]["body"]["data"])
    assert with_files["resultSizeEstimate"] >= 5
    assert {"Work", "Travel", "Receipts", "Projects/Tern"} <= labels
    assert max(threads.values()) >= 3
    assert alice.users().drafts().list(userId="me").execute()["resultSizeEstimate"] == 2
    assert messages.list(userId="me", q="subject:Kraków").execute()["resultSizeEstimate"] >= 1


def test_the_demo_mailbox_can_be_changed(demo_server):
    helper = Emulator(demo_server.url)
    alice = helper.gmail("alice@example.com")
    first = alice.users().messages().list(userId="me", labelIds=["INBOX"]).execute()["messages"][0]

    alice.users().messages().modify(
        userId="me", id=first["id"], body={"removeLabelIds": ["INBOX"]}
    ).execute()

    assert "INBOX" not in helper.state("alice@example.com")["messages"][first["id"]]["labelIds"]


def test_the_demo_is_the_same_on_every_start():
    def subjects():
        state = EmulatorState(Config())
        demo(state)
        return sorted(
            m.parsed.subject for m in state.mailbox("alice@example.com").messages.values()
        )

    assert subjects() == subjects()


def test_live_mode_delivers_new_mail(emulator, alice, alice_gmail):
    emulator.set_config(live_interval_s=0.1)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len(emulator.state(alice)["messages"]) < 2:
        time.sleep(0.05)
    emulator.set_config(live_interval_s=0)

    inbox = alice_gmail.users().messages().list(userId="me", labelIds=["INBOX", "UNREAD"]).execute()

    assert inbox["resultSizeEstimate"] >= 2


def test_the_demo_has_legacy_charsets_and_an_attached_message(demo_server):
    alice = Emulator(demo_server.url).gmail("alice@example.com")
    messages = alice.users().messages()

    def one(query: str) -> dict:
        found = messages.list(userId="me", q=query, maxResults=1).execute()["messages"]
        return messages.get(userId="me", id=found[0]["id"]).execute()

    for sender, charset, text_start in [
        ("yamada@example.jp", "iso-2022-jp", "花子さん"),
        ("info@sato-shop.example.jp", "shift_jis", "ご注文の商品は"),
        ("contact@brasserie-leon.example", "windows-1252", "Bonjour,"),
        ("dmitry@example.ru", "koi8-r", "Привет!"),
    ]:
        payload = one(f"from:{sender}")["payload"]
        headers = {h["name"]: h["value"] for h in payload["headers"]}
        assert headers["Content-Type"] == f"text/plain; charset={charset}"
        text = base64.urlsafe_b64decode(payload["body"]["data"]).decode("utf-8")
        assert text.startswith(text_start)
    forwarded = one('subject:"Fwd: Your e-ticket"')["payload"]
    attached = forwarded["parts"][1]
    assert attached["mimeType"] == "message/rfc822"
    assert attached["parts"][0]["parts"][1]["filename"] == "e-ticket.pdf"
