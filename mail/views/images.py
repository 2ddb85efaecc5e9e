"""Tern's image proxy: remote images of a mail, fetched by the server for the reader.

The sender's server sees Tern, never the reader's address or browser. Tern fetches only
URLs it wrote into a page itself (the token, `mail.images`), and only from public
addresses: the host is resolved here, every address it resolves to must be public, and
the connection goes to the address that was checked, not to the name again (a second
lookup could answer differently: DNS rebinding). Redirects are followed by hand, each
target checked the same way. Only raster images whose bytes match their declared type
are served (no SVG: it can carry script); the bytes are type-checked, not re-encoded
(that would need Pillow, which Tern does not depend on).

Every failure gets the same small answer, so that the proxy tells nobody which internal
addresses exist or answer. Logs name the outcome only, never the URL or the token (the
URL often carries the reader's address, for the sender's tracking).
"""

import hashlib
import ipaddress
import logging
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from time import monotonic
from urllib.parse import urljoin, urlsplit

import certifi
import urllib3
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from mail.images import remote_url

logger = logging.getLogger("tern.image_proxy")

type IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

USER_AGENT = "Tern image proxy"
MAX_REDIRECTS = 3
CONNECT_TIMEOUT_S = 3.0
TOTAL_TIMEOUT_S = 10.0
CACHE_TTL_S = 24 * 60 * 60
REDIRECTS = {301, 302, 303, 307, 308}
CHUNK = 64 * 1024

# Not public, though Python's `is_global` lets them through (multicast) or, depending
# on its version, may (IPv4-mapped addresses before 3.12.4, most of 192.0.0.0/24 before
# 3.13): checked by name as well.
NOT_PUBLIC = tuple(
    ipaddress.ip_network(network)
    for network in (
        "100.64.0.0/10",  # shared address space (CGNAT); Alibaba's metadata service
        "192.0.0.0/24",  # IETF protocol assignments; Oracle's metadata service
        "192.88.99.0/24",  # 6to4 relays
        "198.18.0.0/15",  # benchmarking
    )
)
METADATA = ipaddress.ip_address("169.254.169.254")
NAT64 = ipaddress.ip_network("64:ff9b::/96")

# The served types and the first bytes each must start with. `image/jpg` and
# `image/vnd.microsoft.icon` are names some servers use for jpeg and x-icon.
ALIASES = {"image/jpg": "image/jpeg", "image/vnd.microsoft.icon": "image/x-icon"}
MAGIC = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/bmp": (b"BM",),
    "image/x-icon": (b"\x00\x00\x01\x00",),
}


class Refused(Exception):
    """The image cannot be served; `kind` (a fixed word, never the URL) says why."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


@dataclass(frozen=True)
class Target:
    """A URL whose host resolved to public addresses only: connect to `address`."""

    scheme: str
    host: str
    port: int
    address: str
    path: str

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


@require_GET
def image_proxy(request: HttpRequest, token: str) -> HttpResponse:
    """The token is the permission, as with Gmail's own image proxy: a mail's images are
    shown inside a sandboxed iframe whose document has no origin, from which the browser
    sends no session cookie (SameSite), so no login can be asked for here. Only Tern
    makes tokens, only for images of mail it showed, and they expire (mail.images)."""
    url = remote_url(token)
    if url is None:
        logger.info("image proxy", extra={"outcome": "bad_token"})
        return _failure(404, "Not found")
    key = "image-proxy:" + hashlib.sha256(url.encode()).hexdigest()
    cached = cache.get(key)
    if cached is not None:
        logger.info("image proxy", extra={"outcome": "cached"})
        return _image_response(*cached)
    try:
        content_type, body = fetch(url)
    except Refused as refused:
        logger.info("image proxy", extra={"outcome": refused.kind})
        return _failure(502, "Image unavailable")
    if len(body) <= settings.IMAGE_PROXY_CACHE_MAX_BYTES:
        cache.set(key, (content_type, body), CACHE_TTL_S)
    logger.info("image proxy", extra={"outcome": "fetched"})
    return _image_response(content_type, body)


def _failure(status: int, text: str) -> HttpResponse:
    response = HttpResponse(text, status=status, content_type="text/plain")
    # The line above names the outcome. Django's own (django.request) would add one per
    # unavailable image, an ERROR for a 502 (so a Sentry event for every dead tracking
    # pixel), with the path and so the token: marked as logged already.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def _image_response(content_type: str, body: bytes) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    # Set here, so django-csp leaves it: an image opened on its own runs nothing.
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=86400"
    return response


def fetch(url: str) -> tuple[str, bytes]:
    """The checked content type and bytes of the image at `url`, following at most
    MAX_REDIRECTS redirects, each target vetted. Raises Refused."""
    deadline = monotonic() + TOTAL_TIMEOUT_S
    for _ in range(MAX_REDIRECTS + 1):
        target = vet(url)
        with _opened(target, deadline) as response:
            if response.status in REDIRECTS and response.headers.get("Location"):
                url = urljoin(url, response.headers["Location"])
                continue
            if response.status != 200:
                raise Refused("upstream_status")
            content_type = _content_type(response.headers.get("Content-Type", ""))
            body = _read(response, deadline)
        check_magic(content_type, body)
        return content_type, body
    raise Refused("too_many_redirects")


def vet(url: str) -> Target:
    """`url` as a Target if it is http(s) and its host resolves to public addresses
    only (or to an address and port allowed for tests). Raises Refused."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        host = (parts.hostname or "").encode("idna").decode("ascii")
    except (ValueError, UnicodeError):
        raise Refused("bad_url") from None
    if parts.scheme not in ("http", "https") or not host or parts.username is not None:
        raise Refused("bad_url")
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise Refused("unresolved") from None
    # An IPv6 scope (`fe80::1%eth0`) is cut before parsing; the address is refused anyway.
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in found]
    if not addresses or not all(_allowed(address, port) for address in addresses):
        raise Refused("private_address")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, host, port, str(addresses[0]), path)


def is_public_address(address: IPAddress) -> bool:
    """Whether `address` is on the public internet: not private, loopback, link-local,
    multicast, reserved, unspecified, shared (CGNAT) or the cloud metadata address, nor
    an IPv6 address standing for such an IPv4 one (mapped, 6to4, Teredo, NAT64)."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:
            return is_public_address(address.ipv4_mapped)
        embedded = address.sixtofour
        if address.teredo:
            embedded = address.teredo[1]
        if address in NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None and not is_public_address(embedded):
            return False
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or any(address in network for network in NOT_PUBLIC)
        or address == METADATA
    )


def _allowed(address: IPAddress, port: int) -> bool:
    if is_public_address(address):
        return True
    # Tests only (never set from the environment): their servers listen on loopback.
    allowed = settings.IMAGE_PROXY_TEST_ALLOWED_ADDRESSES
    return f"{address}:{port}" in allowed or f"[{address}]:{port}" in allowed


@contextmanager
def _opened(target: Target, deadline: float) -> Iterator[urllib3.BaseHTTPResponse]:
    """The response to a GET of `target`, its body not read yet; the connection is
    closed on leaving, whatever is left unread."""
    remaining = deadline - monotonic()
    if remaining <= 0:
        raise Refused("timeout")
    timeout = urllib3.Timeout(connect=min(CONNECT_TIMEOUT_S, remaining), read=remaining)
    pool: urllib3.HTTPConnectionPool
    if target.scheme == "https":
        # Connect to the vetted address; SNI and the certificate check use the name.
        pool = urllib3.HTTPSConnectionPool(
            target.address,
            target.port,
            timeout=timeout,
            retries=False,
            maxsize=1,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
            server_hostname=target.host,
            assert_hostname=target.host,
        )
    else:
        pool = urllib3.HTTPConnectionPool(
            target.address, target.port, timeout=timeout, retries=False, maxsize=1
        )
    # Nothing of the reader's request travels on: no cookie, Referer or User-Agent.
    headers = {
        "Host": target.host_header,
        "User-Agent": USER_AGENT,
        "Accept": "image/avif,image/webp,image/png,image/jpeg,image/gif,image/*;q=0.8",
        "Accept-Encoding": "identity",
    }
    with pool:
        try:
            response = pool.urlopen(
                "GET",
                target.path,
                headers=headers,
                redirect=False,
                retries=False,
                preload_content=False,
                assert_same_host=False,
            )
        except urllib3.exceptions.TimeoutError:
            raise Refused("timeout") from None
        except (urllib3.exceptions.HTTPError, OSError, ValueError):
            raise Refused("unreachable") from None
        try:
            yield response
        finally:
            response.close()


def _content_type(header: str) -> str:
    content_type = header.split(";")[0].strip().lower()
    content_type = ALIASES.get(content_type, content_type)
    if content_type not in (*MAGIC, "image/webp", "image/avif"):
        raise Refused("not_image")
    return content_type


def _read(response: urllib3.BaseHTTPResponse, deadline: float) -> bytes:
    """The body, read in chunks: refused past IMAGE_PROXY_MAX_BYTES or the deadline,
    without reading the rest."""
    limit = settings.IMAGE_PROXY_MAX_BYTES
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise Refused("too_large")
    sock = getattr(response.connection, "sock", None)
    body = bytearray()
    try:
        while True:
            remaining = deadline - monotonic()
            if remaining <= 0:
                raise Refused("timeout")
            if sock is not None:
                # Each read may wait only for what is left of the total time.
                sock.settimeout(remaining)
            # read1: one read from the socket, so that a trickle cannot hold it.
            chunk = response.read1(CHUNK)
            if not chunk:
                return bytes(body)
            body += chunk
            if len(body) > limit:
                raise Refused("too_large")
    except urllib3.exceptions.TimeoutError:
        raise Refused("timeout") from None
    except (urllib3.exceptions.HTTPError, OSError):
        raise Refused("unreachable") from None


def check_magic(content_type: str, body: bytes) -> None:
    """Raises Refused unless `body` starts as an image of `content_type` must."""
    if content_type == "image/webp":
        matches = body[:4] == b"RIFF" and body[8:12] == b"WEBP"
    elif content_type == "image/avif":
        # An ISO media file whose `ftyp` box names AVIF as its brand or a compatible one.
        size = int.from_bytes(body[:4], "big")
        brands = body[8 : min(size, 64)]
        matches = body[4:8] == b"ftyp" and (b"avif" in brands or b"avis" in brands)
    else:
        matches = body.startswith(MAGIC[content_type])
    if not matches:
        raise Refused("type_mismatch")
