"""The web process as the Procfile starts it: bounded bodies, no query string in its log.

The server runs as a real process on a free port of 127.0.0.1, with the command of the
Procfile's `web` line (after collectstatic) and the test settings.
"""

import os
import re
import select
import shlex
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from emulator.client import free_port

ROOT = Path(__file__).resolve().parents[2]
MB = 1024 * 1024
BIG = 50 * MB
# A streamed body is refused at 3 MB, but the kernel buffers what the client sent meanwhile:
# on loopback the receive buffer alone may grow to net.ipv4.tcp_rmem's maximum (32 MB here).
# The streamed posts are therefore far longer than any buffer, and bounded well below.
STREAMED = 200 * MB
STREAMED_BOUND = 64 * MB


def procfile_web_command(port):
    line = next(
        line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:")
    )
    server = line.split("&&")[-1].strip().replace("$PORT", str(port))
    return shlex.split(server)


@pytest.fixture
def web(tmp_path):
    port = free_port()
    log_path = tmp_path / "web.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    command = procfile_web_command(port)
    command[command.index("0.0.0.0")] = "127.0.0.1"
    with log_path.open("w") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, log_path.read_text()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    yield port, process, log_path
    process.terminate()
    process.wait(timeout=10)


def rss_kb(pid):
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))


def request(port, raw):
    """Send a whole request; returns the first bytes of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(raw)
        return sock.recv(4096)


def post(port, path, size, *, chunked=False):
    """POST `size` bytes; returns the status line Tern answered (or "" if none)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    length = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}"
    sock.sendall(
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"{length}\r\n\r\n".encode()
    )
    answer = b""
    chunk = b"x" * (256 * 1024)
    sent = 0
    try:
        if not chunked:  # refused on its Content-Length: the answer comes before the body
            answer = sock.recv(4096)
        while sent < size and not answer:
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
            sent += len(chunk)
            if select.select([sock], [], [], 0)[0]:  # answered while we were sending
                answer = sock.recv(4096)
        if not answer:
            answer = sock.recv(4096)
    except (BrokenPipeError, ConnectionResetError):
        pass
    finally:
        sock.close()
    return answer.split(b"\r\n", 1)[0].decode(), sent


def test_a_50_mb_post_is_refused_before_it_is_read_and_memory_stays_flat(web):
    port, process, _ = web
    paths = ["/webhooks/gmail/", "/mail/", "/accounts/google/login/", "/admin/login/"]
    # Warm up: the first request loads Django's views.
    request(port, b"POST /webhooks/gmail/ HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
    before = rss_kb(process.pid)

    jobs = [(path, False) for path in paths * 2] + [("/mail/", True)] * 2
    results = {}

    def run(index, path, chunked):
        results[index] = post(port, path, STREAMED if chunked else BIG, chunked=chunked)

    threads = [threading.Thread(target=run, args=(i, *job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    grown_mb = (rss_kb(process.pid) - before) / 1024
    print(f"web process RSS grew {grown_mb:.1f} MB over 10 parallel 50 MB POSTs")
    assert len(results) == len(jobs)
    refused = "HTTP/1.1 413 Request Entity Too Large"
    # Refused on Content-Length: the answer came before a single body byte was sent.
    assert [results[i] for i in range(8)] == [(refused, 0)] * 8
    # Streamed: refused near 3 MB. The server closes the connection while the client is
    # still sending, so the client may see the reset before it reads the 413; what it
    # managed to send before that is the server's 3 MB plus the kernel's buffers.
    for status, sent in (results[8], results[9]):
        assert status in (refused, "") and sent < STREAMED_BOUND, results
    assert grown_mb < 8


def test_its_log_has_each_request_by_path_and_never_a_query_string(web):
    port, process, log_path = web
    secret = "s3cr3t-push-token-in-a-query"
    answer = request(
        port,
        f"POST /webhooks/gmail/?token={secret}&code=4/0AbCdEfGh HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Length: 2\r\nConnection: close\r\n\r\n{}".encode(),
    )
    assert answer.startswith(b"HTTP/1.1 403")
    process.terminate()
    process.wait(timeout=10)

    logged = log_path.read_text()
    assert '"path": "/webhooks/gmail/"' in logged and '"status": 403' in logged
    assert secret not in logged and "4/0AbCdEfGh" not in logged and "?token" not in logged


def test_it_serves_the_stylesheet_itself(web):
    """No proxy in front and no DEBUG: WhiteNoise serves static files from the web process."""
    port, _, _ = web

    answer = request(port, b"GET /static/css/tern.css HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")

    head = answer.split(b"\r\n\r\n", 1)[0].lower()
    assert head.startswith(b"http/1.1 200"), head
    assert b"content-type: text/css" in head
