"""The image proxy (mail/views/images.py).

There is no internet here, so the upstream servers of these tests listen on 127.0.0.1,
which the proxy refuses by design. The address decisions are tested directly
(`is_public_address`, `vet`); the fetches go to a test server that the `upstream` fixture
allows through the test-only setting IMAGE_PROXY_TEST_ALLOWED_ADDRESSES (its one
address and port, nothing else on loopback), which no production setting reads.
"""

import io
import ipaddress
import logging
import logging.config
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.urls import reverse

from mail import images
from mail.views.images import Refused, check_magic, is_public_address, vet

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
GIF = b"GIF89a" + b"\x01\x00\x01\x00" + b"\x00" * 20
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'

type Route = tuple[int, dict[str, str], Callable[[], Iterable[bytes]]]


class Upstream:
    """A sender's web server on 127.0.0.1: answers its routes, records every request's
    path and headers, and how many body bytes each answer got out before the client
    hung up."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.sent: dict[str, int] = {}
        self.finished: dict[str, bool] = {}
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                upstream.requests.append((self.path, dict(self.headers)))
                status, headers, body = upstream.routes.get(
                    self.path, (404, {"Content-Type": "text/plain"}, lambda: [b"no"])
                )
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                upstream.sent[self.path] = 0
                upstream.finished[self.path] = False
                try:
                    for chunk in body():
                        self.wfile.write(chunk)
                        self.wfile.flush()
                        upstream.sent[self.path] += len(chunk)
                    upstream.finished[self.path] = True
                except OSError:
                    pass

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str, host: str = "127.0.0.1", scheme: str = "http") -> str:
        return f"{scheme}://{host}:{self.port}{path}"

    def serve(self, path: str, body: bytes, content_type: str = "image/png") -> None:
        headers = {"Content-Type": content_type, "Content-Length": str(len(body))}
        self.routes[path] = (200, headers, lambda: [body])

    def redirect(self, path: str, location: str, status: int = 302) -> None:
        self.routes[path] = (status, {"Location": location, "Content-Length": "0"}, list)

    def hits(self, path: str) -> int:
        return sum(1 for seen, _ in self.requests if seen == path)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def upstream(settings):
    server = Upstream()
    settings.IMAGE_PROXY_TEST_ALLOWED_ADDRESSES = [f"127.0.0.1:{server.port}"]
    yield server
    server.close()


@pytest.fixture
def other_upstream():
    """A second server on loopback, not allowed: nothing may reach it."""
    server = Upstream()
    server.serve("/img.png", PNG)
    yield server
    server.close()


@pytest.fixture
def reader(client, alice):
    client.force_login(alice)
    return client


def proxy_get(client, url: str, **extra):
    return client.get(images.proxied(url), **extra)


# The address decisions ------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "127.0.0.1",
        "127.8.9.10",
        "169.254.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "100.127.255.254",
        "0.0.0.0",
        "224.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
        "192.0.0.192",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fd00:ec2::254",
        "ff02::1",
        "ff0e::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "2002:7f00:1::1",
        "2002:a9fe:a9fe::1",
        "64:ff9b::a00:1",
    ],
)
def test_it_refuses_addresses_that_are_not_public(address):
    assert is_public_address(ipaddress.ip_address(address)) is False


@pytest.mark.parametrize(
    "address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"]
)
def test_it_accepts_public_addresses(address):
    assert is_public_address(ipaddress.ip_address(address)) is True


def resolving(monkeypatch, names: dict[str, list[str]]) -> list[str]:
    """socket.getaddrinfo answering `names` from the table (other hosts, such as the
    address the proxy connects to, as before); returns the names of the table asked."""
    asked = []
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in names:
            return real(host, port, *args, **kwargs)
        asked.append(host)
        family = {4: socket.AF_INET, 6: socket.AF_INET6}
        return [
            (family[ipaddress.ip_address(a).version], socket.SOCK_STREAM, 6, "", (a, port))
            for a in names[host]
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def test_vet_refuses_a_name_when_any_of_its_addresses_is_private(monkeypatch):
    resolving(
        monkeypatch,
        {"mixed.example": ["93.184.216.34", "10.0.0.5"], "six.example": ["2606:4700::1", "::1"]},
    )
    for url in ("http://mixed.example/a.png", "https://six.example/a.png"):
        with pytest.raises(Refused) as refused:
            vet(url)
        assert refused.value.kind == "private_address"


def test_vet_keeps_the_name_and_the_checked_address(monkeypatch):
    resolving(monkeypatch, {"images.example": ["93.184.216.34"]})

    target = vet("https://images.example/pixel.gif?u=alice")

    assert (target.host, target.address, target.port) == ("images.example", "93.184.216.34", 443)
    assert (target.path, target.host_header) == ("/pixel.gif?u=alice", "images.example")


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost/a.png",
        "http://127.0.0.1/a.png",
        "http://[::1]/a.png",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1:8080/a.png",
        "http://2130706433/a.png",
    ],
)
def test_vet_refuses_loopback_private_and_metadata_targets(url):
    with pytest.raises(Refused) as refused:
        vet(url)
    assert refused.value.kind == "private_address"


@pytest.mark.parametrize(
    "url",
    [
        "ftp://93.184.216.34/a.png",
        "file:///etc/passwd",
        "gopher://93.184.216.34/",
        "javascript:alert(1)",
        "data:image/png;base64,iVBORw0KGgo=",
        "http:///a.png",
        "http://user:secret@93.184.216.34/a.png",
        "http://93.184.216.34:99999/a.png",
    ],
)
def test_vet_refuses_what_is_not_a_plain_http_url(url):
    with pytest.raises(Refused) as refused:
        vet(url)
    assert refused.value.kind == "bad_url"


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("image/png", PNG),
        ("image/jpeg", b"\xff\xd8\xff\xe0\x00\x10JFIF"),
        ("image/gif", GIF),
        ("image/webp", b"RIFF\x24\x00\x00\x00WEBPVP8 "),
        ("image/avif", b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf"),
        ("image/avif", b"\x00\x00\x00\x1cftypmif1\x00\x00\x00\x00mif1avifmiaf"),
        ("image/bmp", b"BM\x36\x00\x00\x00"),
        ("image/x-icon", b"\x00\x00\x01\x00\x01\x00"),
    ],
)
def test_check_magic_accepts_each_type(content_type, body):
    check_magic(content_type, body)


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("image/png", GIF),
        ("image/jpeg", b"<html><script>alert(1)</script>"),
        ("image/gif", b"GIF90a"),
        ("image/webp", b"RIFF\x24\x00\x00\x00WAVEfmt "),
        ("image/avif", b"\x00\x00\x00\x1cftypisom\x00\x00\x00\x00isommp41"),
        ("image/bmp", b""),
        ("image/x-icon", PNG),
    ],
)
def test_check_magic_refuses_bytes_of_another_type(content_type, body):
    with pytest.raises(Refused) as refused:
        check_magic(content_type, body)
    assert refused.value.kind == "type_mismatch"


# The view, against a server of the test -------------------------------------------------


def test_it_serves_the_image_with_safe_headers_and_caches_it(reader, upstream):
    upstream.serve("/logo.png", PNG)

    first = proxy_get(reader, upstream.url("/logo.png"))
    second = proxy_get(reader, upstream.url("/logo.png"))

    for response in (first, second):
        assert response.status_code == 200
        assert response.content == PNG
        assert response["Content-Type"] == "image/png"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
        assert response["Cache-Control"] == "private, max-age=86400"
        assert "Set-Cookie" not in response
    assert upstream.hits("/logo.png") == 1


def test_it_does_not_cache_an_image_above_the_cache_limit(reader, upstream, settings):
    settings.IMAGE_PROXY_CACHE_MAX_BYTES = len(PNG) - 1
    upstream.serve("/big.png", PNG)

    assert proxy_get(reader, upstream.url("/big.png")).content == PNG
    assert proxy_get(reader, upstream.url("/big.png")).content == PNG

    assert upstream.hits("/big.png") == 2


def test_nothing_of_the_reader_reaches_the_sender(reader, upstream):
    upstream.serve("/pixel.gif?u=alice%40example.com", GIF, "image/gif")
    reader.cookies["tracking"] = "reader-cookie"

    response = proxy_get(
        reader,
        upstream.url("/pixel.gif?u=alice%40example.com"),
        HTTP_REFERER="http://testserver/mail/thread/7/",
        HTTP_USER_AGENT="Mozilla/5.0 (the reader's browser)",
        HTTP_ACCEPT_LANGUAGE="fr-FR",
    )

    assert response.status_code == 200
    [(_, headers)] = upstream.requests
    names = {name.lower() for name in headers}
    assert not names & {"cookie", "referer", "accept-language", "x-forwarded-for"}
    assert headers["User-Agent"] == "Tern image proxy"
    assert headers["Host"] == f"127.0.0.1:{upstream.port}"


def test_it_connects_to_the_checked_address_with_the_name_as_host(reader, upstream, monkeypatch):
    """The name is resolved once, when vetted; the connection goes to that address (the
    name does not resolve at all outside this table), the Host header carries the name."""
    asked = resolving(monkeypatch, {"images.example": ["127.0.0.1"]})
    upstream.serve("/a.png", PNG)

    response = proxy_get(reader, upstream.url("/a.png", host="images.example"))

    assert response.status_code == 200
    assert asked == ["images.example"]
    [(_, headers)] = upstream.requests
    assert headers["Host"] == f"images.example:{upstream.port}"


def test_it_refuses_a_redirect_to_a_private_target(reader, upstream, other_upstream):
    upstream.redirect("/to-loopback", other_upstream.url("/img.png"))
    upstream.redirect("/to-metadata", "http://169.254.169.254/latest/meta-data/")
    upstream.redirect("/to-private", "http://10.0.0.1/img.png", status=307)

    for path in ("/to-loopback", "/to-metadata", "/to-private"):
        response = proxy_get(reader, upstream.url(path))
        assert response.status_code == 502
        assert response.content == b"Image unavailable"
    assert other_upstream.requests == []


def test_it_follows_three_redirects_and_no_more(reader, upstream):
    upstream.serve("/img.png", PNG)
    upstream.redirect("/r1", "/r2", status=301)
    upstream.redirect("/r2", upstream.url("/r3"), status=303)
    upstream.redirect("/r3", "/img.png", status=308)
    upstream.redirect("/r0", "/r1")

    assert proxy_get(reader, upstream.url("/r1")).content == PNG
    assert proxy_get(reader, upstream.url("/r0")).status_code == 502
    assert upstream.hits("/r3") == 2
    assert upstream.hits("/img.png") == 1


def test_it_stops_reading_an_oversize_image_at_the_limit(reader, upstream, settings):
    """No Content-Length: the size shows only while reading, which must stop early."""
    settings.IMAGE_PROXY_MAX_BYTES = 100_000
    megabyte = b"\x00" * 1024 * 1024
    upstream.routes["/huge.png"] = (
        200,
        {"Content-Type": "image/png"},
        lambda: [PNG, *[megabyte] * 200],
    )

    response = proxy_get(reader, upstream.url("/huge.png"))

    assert response.status_code == 502
    # Waits for the server's thread to notice that the proxy hung up.
    for _ in range(100):
        if upstream.sent.get("/huge.png") is not None and not upstream.finished["/huge.png"]:
            break
        time.sleep(0.05)
    assert upstream.finished["/huge.png"] is False
    assert upstream.sent["/huge.png"] < 20 * len(megabyte)


def test_it_refuses_a_declared_oversize_image_without_reading_it(reader, upstream, settings):
    settings.IMAGE_PROXY_MAX_BYTES = len(PNG) - 1
    upstream.serve("/big.png", PNG)

    assert proxy_get(reader, upstream.url("/big.png")).status_code == 502


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/html", b"<html><body>hello</body></html>"),
        ("image/svg+xml", SVG),
        ("application/octet-stream", PNG),
        ("", PNG),
        ("image/png", GIF),
        ("image/jpeg", b"<script>alert(1)</script>"),
    ],
)
def test_it_refuses_what_is_not_a_raster_image_of_its_type(reader, upstream, content_type, body):
    upstream.serve("/thing", body, content_type)

    response = proxy_get(reader, upstream.url("/thing"))

    assert response.status_code == 502
    assert response.content == b"Image unavailable"
    assert response["Content-Type"] == "text/plain"


def test_it_answers_an_upstream_error_with_the_same_neutral_502(reader, upstream):
    upstream.routes["/broken.png"] = (500, {"Content-Type": "text/plain"}, lambda: [b"stack"])

    response = proxy_get(reader, upstream.url("/broken.png"))

    assert (response.status_code, response.content) == (502, b"Image unavailable")


def test_it_gives_up_on_a_server_that_trickles(reader, upstream, monkeypatch):
    monkeypatch.setattr("mail.views.images.TOTAL_TIMEOUT_S", 1.0)

    def trickle():
        yield PNG
        for _ in range(40):
            time.sleep(0.1)
            yield b"\x00"

    upstream.routes["/slow.png"] = (200, {"Content-Type": "image/png"}, trickle)

    started = time.monotonic()
    response = proxy_get(reader, upstream.url("/slow.png"))

    assert response.status_code == 502
    assert time.monotonic() - started < 2.5


def test_the_total_time_covers_the_redirects(reader, upstream, monkeypatch):
    """The deadline runs out between two redirects: the next one is not requested."""
    readings = [0.0, 1.0]
    monkeypatch.setattr(
        "mail.views.images.monotonic", lambda: readings.pop(0) if readings else 11.0
    )
    upstream.redirect("/r1", "/r2")
    upstream.serve("/r2", PNG)

    assert proxy_get(reader, upstream.url("/r1")).status_code == 502
    assert upstream.hits("/r1") == 1
    assert upstream.hits("/r2") == 0


def test_a_token_tern_did_not_make_is_404(reader, upstream):
    upstream.serve("/a.png", PNG)
    foreign = images._fernet("another-secret").encrypt(upstream.url("/a.png").encode())
    expired = images._fernet(reader_secret()).encrypt_at_time(
        upstream.url("/a.png").encode(), int(time.time()) - images.TOKEN_TTL_S - 60
    )
    unrelated = Fernet(Fernet.generate_key()).encrypt(upstream.url("/a.png").encode())

    for token in ("not-a-token", foreign.decode(), expired.decode(), unrelated.decode()):
        response = reader.get(reverse("mail:image_proxy", args=[token]))
        assert response.status_code == 404
    assert upstream.requests == []


def reader_secret() -> str:
    from django.conf import settings

    return settings.SECRET_KEY


def test_the_token_is_the_permission_not_a_session(client, upstream):
    """Images show inside a sandboxed iframe, from which no session cookie is sent: a
    Tern token works signed out; without one, nothing is fetched."""
    upstream.serve("/a.png", PNG)
    path = images.proxied(upstream.url("/a.png"))

    assert client.get(path).status_code == 200
    assert client.get(path.replace("/image/", "/image/x")).status_code == 404
    assert len(upstream.requests) == 1


def test_it_answers_get_only(reader, upstream):
    upstream.serve("/a.png", PNG)

    response = reader.post(images.proxied(upstream.url("/a.png")))

    assert response.status_code == 405
    assert upstream.requests == []


def test_it_logs_the_outcome_but_never_the_url_or_token(reader, upstream, caplog):
    upstream.serve("/p.gif?to=alice%40example.com", GIF, "image/gif")
    upstream.serve("/page", b"<html>", "text/html")
    served = images.proxied(upstream.url("/p.gif?to=alice%40example.com"))
    refused = images.proxied(upstream.url("/page"))

    with caplog.at_level(logging.INFO, logger="tern.image_proxy"):
        reader.get(served)
        reader.get(served)
        reader.get(refused)

    records = [r for r in caplog.records if r.name == "tern.image_proxy"]
    assert [r.outcome for r in records] == ["fetched", "cached", "not_image"]
    logged = " ".join(str(vars(r)) for r in records)
    for secret in ("alice", "/p.gif", "/page", str(upstream.port), served.split("/")[-2]):
        assert secret not in logged


def test_the_request_log_line_names_no_token(reader, upstream, settings):
    """Through the handler of the settings (redacting filter, JSON), as in production."""
    stream = io.StringIO()
    config = {**settings.LOGGING, "disable_existing_loggers": False}
    config["handlers"] = {"console": {**config["handlers"]["console"], "stream": stream}}
    logging.config.dictConfig(config)
    upstream.serve("/a.png", PNG)
    path = images.proxied(upstream.url("/a.png?for=alice%40example.com"))
    try:
        reader.get(path)
        reader.get(images.proxied(upstream.url("/missing.png")))
    finally:
        logging.config.dictConfig(settings.LOGGING)

    logged = stream.getvalue()
    assert '"path": "/mail/image/[token]/"' in logged
    assert '"outcome": "upstream_status"' in logged
    assert path.split("/")[-2] not in logged and "alice" not in logged
    assert "gAAAAA" not in logged


def certificate_files(tmp_path, name: str) -> tuple[str, str, str]:
    """A test CA and a certificate it issued for `name`: (CA file, cert file, key file)."""

    def issue(subject, issuer, key, signer, *, ca):
        now = datetime.now(UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            san = x509.SubjectAlternativeName([x509.DNSName(subject)])
            builder = builder.add_extension(san, critical=False)
        return builder.sign(signer, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = issue("Tern test CA", "Tern test CA", ca_key, ca_key, ca=True)
    cert = issue(name, "Tern test CA", key, ca_key, ca=False)
    pem = serialization.Encoding.PEM
    files = [tmp_path / f"{name}-{part}.pem" for part in ("ca", "cert", "key")]
    files[0].write_bytes(ca.public_bytes(pem))
    files[1].write_bytes(cert.public_bytes(pem))
    files[2].write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return tuple(str(file) for file in files)


@pytest.mark.parametrize(("certified", "status"), [("images.example", 200), ("other.example", 502)])
def test_https_names_the_host_for_sni_and_checks_its_certificate(
    reader, settings, monkeypatch, tmp_path, certified, status
):
    """The connection goes to the vetted address; TLS still asks for the name (SNI) and
    accepts only a certificate for it."""
    ca_file, cert_file, key_file = certificate_files(tmp_path, certified)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    asked_for = []
    context.sni_callback = lambda sock, name, ctx: asked_for.append(name)
    server = Upstream(tls=context)
    try:
        settings.IMAGE_PROXY_TEST_ALLOWED_ADDRESSES = [f"127.0.0.1:{server.port}"]
        monkeypatch.setattr("mail.views.images.certifi.where", lambda: ca_file)
        resolving(monkeypatch, {"images.example": ["127.0.0.1"]})
        server.serve("/a.png", PNG)

        response = proxy_get(reader, server.url("/a.png", host="images.example", scheme="https"))
    finally:
        server.close()

    assert response.status_code == status
    assert asked_for == ["images.example"]
    assert server.hits("/a.png") == (1 if status == 200 else 0)
