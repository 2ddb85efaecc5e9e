"""A client of the emulator for tests, benchmarks and scripts: start ``python -m emulator``
on a free port, drive its control API under ``/_emulator/``, and play a browser on its
consent page. Like the rest of the emulator it imports nothing from the app.

```python
client = EmulatorClient.start(Path("emulator.log"))  # python -m emulator on a free port
client.create_user("alice@example.com", "Alice Example")
tokens = client.issue_tokens("alice@example.com")
client.close()  # and stop the emulator
```
"""

import base64
import hashlib
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SCOPES = (
    "openid",
    "email",
    "profile",
    "https://www.googleapis.com/auth/gmail.modify",
)
DEFAULT_CLIENT_ID = "tern-tests.apps.googleusercontent.com"
DEFAULT_CLIENT_SECRET = "tern-tests-secret"
REDIRECT_URI = "http://127.0.0.1:9/accounts/google/login/callback/"


class EmulatorError(RuntimeError):
    """A control or OAuth call did not answer as expected."""


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on (the kernel's choice for port 0)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- processes ---------------------------------------------------------------------------


@dataclass
class Process:
    """A subprocess, its log file and (for a server) its base URL."""

    name: str
    popen: subprocess.Popen
    log_path: Path
    url: str = ""

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=5)


def spawn(name: str, args: list[str], log_path: Path, env: dict[str, str] | None = None) -> Process:
    """Start ``args`` in the repository root, stdout and stderr to ``log_path``."""
    with log_path.open("w") as log:
        # The caller's own command, without a shell.
        popen = subprocess.Popen(  # noqa: S603
            args,
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
    return Process(name, popen, log_path)


def start_emulator(
    log_path: Path,
    *extra_args: str,
    port: int | None = None,
    timeout: float = 15.0,
    name: str = "emulator",
) -> Process:
    """Start ``python -m emulator`` (on a free port unless given) and wait until it answers."""
    port = port or free_port()
    args = [sys.executable, "-m", "emulator", "--host", "127.0.0.1", "--port", str(port)]
    process = spawn(name, [*args, "--log-level", "warning", *extra_args], log_path)
    process.url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process.alive():
            raise EmulatorError(f"{name} exited early:\n{process.log_text()}")
        try:
            if httpx.get(f"{process.url}/_emulator/health", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.05)
    process.stop()
    raise EmulatorError(f"{name} did not answer within {timeout}s:\n{process.log_text()}")


# --- the control API and the consent page -------------------------------------------------


class EmulatorClient:
    """The control API (docs/emulator.md), plus the OAuth code flow as a browser runs it."""

    def __init__(
        self,
        url: str,
        log_path: Path | None = None,
        *,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        timeout: float = 10.0,
    ) -> None:
        self.url = url
        self.log_path = log_path
        self.client_id = client_id
        self.client_secret = client_secret
        self.http = httpx.Client(base_url=url, timeout=timeout)
        self.process: Process | None = None

    @classmethod
    def start(
        cls,
        log_path: Path,
        *extra_args: str,
        port: int | None = None,
        start_timeout: float = 15.0,
        name: str = "emulator",
        **options,
    ) -> "EmulatorClient":
        """Start an emulator (see `start_emulator`) and return its client, which owns it:
        `close()` stops the process too. `options` go to the client."""
        process = start_emulator(log_path, *extra_args, port=port, timeout=start_timeout, name=name)
        client = cls(process.url, log_path, **options)
        client.process = process
        return client

    def close(self) -> None:
        self.http.close()
        if self.process is not None:
            self.process.stop()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def _ok(self, response: httpx.Response):
        if response.status_code >= 300:
            raise EmulatorError(f"{response.request.url}: {response.status_code} {response.text}")
        return response.json() if response.content else None

    def reset(self) -> None:
        self._ok(self.http.post("/_emulator/reset"))

    def create_user(self, email: str, name: str | None = None, **options) -> dict:
        """`options`: `email_verified` (False: Google has not verified the address), `sub`
        (a given subject: a Google account that changed its address), `gmail` (False: a
        Google account without Gmail)."""
        body = {"email": email, "name": name, **options}
        return self._ok(self.http.post("/_emulator/users", json=body))

    def state(self, email: str) -> dict:
        return self._ok(self.http.get(f"/_emulator/users/{email}/state"))

    def expire_history(self, email: str) -> dict:
        return self._ok(self.http.post(f"/_emulator/users/{email}/expire-history"))

    def expire_page_tokens(self, email: str) -> dict:
        return self._ok(self.http.post(f"/_emulator/users/{email}/expire-page-tokens"))

    def lockout(self, email: str, seconds: float = 900, status: int = 429) -> dict:
        body = {"seconds": seconds, "status": status}
        return self._ok(self.http.post(f"/_emulator/users/{email}/lockout", json=body))

    def add_send_as(self, email: str, send_as_email: str, **fields) -> dict:
        """`fields`: sendAsEmail's companions in Gmail's SendAs (displayName,
        replyToAddress, signature, isDefault)."""
        body = {"sendAsEmail": send_as_email, **fields}
        return self._ok(self.http.post(f"/_emulator/users/{email}/send-as", json=body))

    def revoke(self, email: str) -> dict:
        return self._ok(self.http.post(f"/_emulator/users/{email}/revoke"))

    def tokens(self, email: str) -> dict:
        return self._ok(self.http.get(f"/_emulator/users/{email}/tokens"))

    def issue_tokens(self, email: str, scopes=DEFAULT_SCOPES, ttl_s: int | None = None) -> dict:
        """Tokens without the consent screen (an emulator shortcut, not Google's)."""
        body = {"scopes": list(scopes), "client_id": self.client_id, "ttl_s": ttl_s}
        return self._ok(self.http.post(f"/_emulator/users/{email}/tokens", json=body))

    def set_config(self, **changes) -> dict:
        return self._ok(self.http.put("/_emulator/config", json=changes))

    def set_faults(self, **faults) -> dict:
        return self._ok(self.http.put("/_emulator/faults", json=faults))

    def stats(self) -> dict:
        return self._ok(self.http.get("/_emulator/stats"))

    def advance_clock(self, seconds: float) -> None:
        self._ok(self.http.post("/_emulator/clock", json={"seconds": seconds}))

    def authorize(self, email: str, scopes=DEFAULT_SCOPES, **params) -> httpx.Response:
        """Open the consent page and pick ``email``; returns the redirect response."""
        query = {
            "client_id": self.client_id,
            "redirect_uri": REDIRECT_URI,
            "response_type": "code",
            "scope": " ".join(scopes),
            "state": secrets.token_urlsafe(8),
            "access_type": "offline",
            "prompt": "consent",
            "login_hint": email,
            **params,
        }
        page = self.http.get("/o/oauth2/v2/auth", params=query)
        if page.status_code != 200 or email not in page.text:
            raise EmulatorError(f"no consent page offering {email}: {page.text}")
        form = {k: v for k, v in query.items() if v is not None}
        return self.http.post("/o/oauth2/v2/auth/consent", data={**form, "email": email})

    def exchange(self, code: str, **extra) -> httpx.Response:
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            **extra,
        }
        return self.http.post("/token", data={k: v for k, v in data.items() if v is not None})

    def sign_in(self, email: str, scopes=DEFAULT_SCOPES, **params) -> dict:
        """The whole code flow with PKCE (S256); returns the token response."""
        verifier = secrets.token_urlsafe(48)
        challenge = pkce_challenge(verifier)
        redirect = self.authorize(
            email, scopes, code_challenge=challenge, code_challenge_method="S256", **params
        )
        if redirect.status_code != 302:
            raise EmulatorError(f"consent did not redirect: {redirect.text}")
        code = query_of(redirect.headers["location"])["code"]
        return self._ok(self.exchange(code, code_verifier=verifier))


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def query_of(url: str) -> dict:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
