"""The guard for pasted addresses, over real HTTP on loopback.

Loopback is exactly what the guard refuses, so two stand-ins are used, each said where it
is used: `fetch_allow_private` (the test-only setting) lets loopback through, and for the
redirect and DNS-rebinding tests a second server on 127.0.0.2 plays a public web server
(`address_allowed` is wrapped to count 127.0.0.2, and only it, as public), while the real
127.0.0.1 server plays the internal service that must never be reached. Host names are
resolved by a stand-in for socket.getaddrinfo for the names ending in ".example"; other
names (localhost, IP literals) go to the real resolver.
"""

from __future__ import annotations

import gzip
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import trustme

from briefing.ingest import guard
from briefing.ingest.fetch import PAGE_MAX_BYTES, FetchLimits
from briefing.ingest.guard import (
    AddressNotPublicError,
    FetchedPage,
    GuardPolicy,
    NotAWebPageError,
    PageFetchError,
    PageTimeoutError,
    PageTooLargeError,
    PastedURLError,
    URLNotAllowedError,
    address_allowed,
    check_url,
    fetch_public_page_sync,
)
from tests.loopback import Loopback, Reply, loopback_server
from tests.smtp import free_port

FAST = FetchLimits(connect=1, read=1, deadline=2, host_delay=0)
STRICT = GuardPolicy(FAST)  # production behaviour, short timeouts
LOOSE = GuardPolicy(FAST, allow_private=True)  # fetch_allow_private on
PAGE = b"<html><head><title>A page</title></head><body><p>Hello</p></body></html>"
HTML = {"Content-Type": "text/html; charset=utf-8"}
PUBLIC_STAND_IN = "127.0.0.2"


def fetch(url: str, policy: GuardPolicy = STRICT) -> FetchedPage:
    return fetch_public_page_sync(url, policy)


@dataclass
class FakeDNS:
    """Answers for names ending in ".example": each look-up takes the next answer (the last
    one repeats), so a test can play a rebinding DNS server; every look-up is recorded."""

    answers: dict[str, list[str]] = field(default_factory=dict)
    lookups: list[str] = field(default_factory=list)

    def getaddrinfo(self, host: str, port: int) -> list[tuple[object, ...]]:
        self.lookups.append(host)
        queue = self.answers.get(host, [])
        if not queue:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        address = queue.pop(0) if len(queue) > 1 else queue[0]
        if ":" in address:
            return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0))]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDNS:
    fake = FakeDNS()
    real = socket.getaddrinfo

    def getaddrinfo(host: str, port: int, *args: object, **kwargs: object) -> object:
        if isinstance(host, str) and host.endswith(".example"):
            return fake.getaddrinfo(host, port)
        return real(host, port, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return fake


@pytest.fixture
def public_stand_in(monkeypatch: pytest.MonkeyPatch) -> Iterator[Loopback]:
    """A web server on 127.0.0.2 that the guard counts as public, and only it."""
    real = guard.address_allowed
    stand_in = ipaddress.ip_address(PUBLIC_STAND_IN)

    def allowed(address: guard.IPAddress, allow_private: bool = False) -> bool:
        return address == stand_in or real(address, allow_private)

    monkeypatch.setattr(guard, "address_allowed", allowed)
    with serve(PUBLIC_STAND_IN) as site:
        yield site


@contextmanager
def serve(host: str, tls: ssl.SSLContext | None = None, port: int = 0) -> Iterator[Loopback]:
    """Like tests/loopback.py, on another loopback address and optionally over TLS."""
    routes: dict[str, Callable[[BaseHTTPRequestHandler], Reply | None]] = {}
    seen: list[tuple[str, dict[str, str]]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append((self.path, dict(self.headers)))
            route = routes.get(self.path)
            reply = route(self) if route else Reply(404, b"not found")
            if reply is None:
                return
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    scheme = "https" if tls else "http"
    try:
        yield Loopback(f"{scheme}://{host}:{server.server_address[1]}", routes, seen)
    finally:
        server.shutdown()
        server.server_close()


# --- the address rules -----------------------------------------------------------------

REFUSED_ALWAYS = [
    "169.254.169.254",  # cloud metadata
    "169.254.10.1",  # link-local
    "fd00:ec2::254",  # AWS metadata over IPv6 (inside fc00::/7)
    "168.63.129.16",  # Azure wire server: a public address, refused by name
    "100.64.0.1",  # shared address space (CGNAT)
    "0.0.0.0",
    "0.1.2.3",
    "224.0.0.1",  # multicast
    "239.255.255.250",
    "240.0.0.1",  # reserved
    "255.255.255.255",
    "::",
    "fe80::1",  # link-local
    "fec0::1",  # site-local (deprecated)
    "ff02::1",  # multicast
    "::ffff:169.254.169.254",  # IPv4-mapped
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
    "192.0.2.1",  # documentation
    "198.18.0.1",  # benchmarking
]
PRIVATE = [
    "127.0.0.1",
    "127.8.9.10",
    "10.0.0.1",
    "172.16.5.4",
    "172.31.255.255",
    "192.168.1.1",
    "::1",
    "fc00::1",
    "fd12:3456::1",
    "::ffff:127.0.0.1",
    "::ffff:10.1.2.3",
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
]
PUBLIC = [
    "93.184.216.34",
    "8.8.8.8",
    "172.32.0.1",  # just outside 172.16/12
    "2606:4700:4700::1111",
    "::ffff:93.184.216.34",
    "64:ff9b::5db8:d822",  # NAT64 of 93.184.216.34
]


@pytest.mark.parametrize("address", REFUSED_ALWAYS + PRIVATE)
def test_addresses_refused_by_default(address: str) -> None:
    assert not address_allowed(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", REFUSED_ALWAYS)
def test_addresses_refused_even_with_private_allowed(address: str) -> None:
    assert not address_allowed(ipaddress.ip_address(address), allow_private=True)


@pytest.mark.parametrize("address", PRIVATE)
def test_private_addresses_allowed_only_by_the_test_setting(address: str) -> None:
    assert address_allowed(ipaddress.ip_address(address), allow_private=True)


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_allowed(address: str) -> None:
    assert address_allowed(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.org/file.txt", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("gopher://example.org:70/", "only http and https"),
        ("javascript:alert(1)", "only http and https"),
        ("example.org/news", "only http and https"),
        ("http://user:secret@example.org/", "user name or password"),
        ("http://user@example.org/", "user name or password"),
        ("http://example.org:22/", "port 22 is not a web port"),
        ("http://example.org:25/", "port 25 is not a web port"),
        ("http://example.org:6379/", "port 6379 is not a web port"),
        ("https://example.org:0/", "port 0 is not a web port"),
        ("http://[::1/", "not a web address"),
        ("http://example.org/" + "a" * 2000, "longer than 2000"),
    ],
)
def test_address_forms_that_are_refused_before_any_lookup(url: str, message: str) -> None:
    with pytest.raises(URLNotAllowedError, match=message):
        check_url(url)
    with pytest.raises(URLNotAllowedError, match=message):
        fetch(url)


def test_ordinary_ports_and_forms_pass_the_form_check() -> None:
    for url in (
        "https://www.bbc.co.uk/news/uk-123",
        "http://example.org:8080/a",
        "https://example.org:8443/a",
        "HTTPS://Example.ORG/Path?q=1#frag",
        "  https://example.org/padded  ",
    ):
        assert check_url(url).scheme in ("http", "https")


# --- refusals over the network ------------------------------------------------------------


def test_loopback_is_refused_and_never_contacted() -> None:
    with loopback_server() as site:
        url = site.add("/page", Reply(200, PAGE, HTML))
        with pytest.raises(AddressNotPublicError, match="that address is not public"):
            fetch(url)
        port = url.split(":")[2].split("/")[0]
        for other in (
            f"http://localhost:{port}/page",  # a name that resolves to 127.0.0.1
            f"http://[::ffff:127.0.0.1]:{port}/page",
            f"http://0x7f000001:{port}/page",  # the C library reads this as 127.0.0.1
            f"http://2130706433:{port}/page",
            f"http://127.1:{port}/page",
        ):
            with pytest.raises(AddressNotPublicError):
                fetch(other)
    assert site.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/",
        "http://192.168.0.1/admin",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://100.100.100.200/latest/meta-data/",
        "http://[::]/",
        "http://0.0.0.0:8080/",
    ],
)
def test_internal_addresses_are_refused(url: str) -> None:
    started = time.monotonic()
    with pytest.raises(AddressNotPublicError):
        fetch(url)
    assert time.monotonic() - started < 1  # refused before any connection attempt


def test_metadata_is_refused_even_with_private_allowed() -> None:
    for url in ("http://169.254.169.254/latest/meta-data/", "http://100.64.0.1/"):
        with pytest.raises(AddressNotPublicError):
            fetch(url, LOOSE)


def test_a_name_that_resolves_inside_is_refused(dns: FakeDNS) -> None:
    dns.answers["rebind.example"] = ["127.0.0.1"]
    with pytest.raises(AddressNotPublicError):
        fetch("http://rebind.example/")
    with pytest.raises(PageFetchError, match="could not be found"):
        fetch("http://nowhere.example/")


def test_a_name_with_one_internal_address_among_public_ones_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def fake(host: str, port: int, *args: object, **kwargs: object) -> object:
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    with pytest.raises(AddressNotPublicError):
        fetch("http://both.example/")


@pytest.mark.parametrize(
    "target",
    [
        "http://10.1.2.3/",
        "http://127.0.0.1/",
        "http://{internal}/secret",  # a real internal server, which must see nothing
        "http://localhost/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
    ],
)
def test_a_redirect_inside_is_refused(public_stand_in: Loopback, target: str) -> None:
    with loopback_server() as internal:
        internal.add("/secret", Reply(200, b"the crown jewels", HTML))
        location = target.format(internal=internal.url.removeprefix("http://"))
        url = public_stand_in.add("/go", Reply(302, headers={"Location": location}))
        with pytest.raises(AddressNotPublicError):
            fetch(url)
    assert internal.requests == []
    assert [path for path, _headers in public_stand_in.requests] == ["/go"]


def test_a_redirect_to_another_scheme_is_refused(public_stand_in: Loopback) -> None:
    for n, location in enumerate(["file:///etc/passwd", "ftp://example.org/", "gopher://x/"]):
        url = public_stand_in.add(f"/go{n}", Reply(301, headers={"Location": location}))
        with pytest.raises(URLNotAllowedError, match="only http and https"):
            fetch(url)


def test_a_public_page_and_its_public_redirect_are_fetched(public_stand_in: Loopback) -> None:
    public_stand_in.add("/new", Reply(200, PAGE, HTML))
    url = public_stand_in.add("/old", Reply(301, headers={"Location": "/new"}))
    page = fetch(url)
    assert page.body == PAGE and page.url.endswith("/new") and page.redirects == 1
    assert page.address == PUBLIC_STAND_IN


def test_the_address_checked_is_the_address_used(public_stand_in: Loopback, dns: FakeDNS) -> None:
    """A rebinding DNS server answers a public address first and an internal one after; the
    guard asks once per hop and connects to the address it checked. The internal server
    listens on the same port at 127.0.0.1, so a second look-up would have reached it."""
    port = int(public_stand_in.url.rsplit(":", 1)[1])
    with serve("127.0.0.1", port=port) as internal:
        internal.add("/", Reply(200, b"internal", HTML))
        public_stand_in.add("/", Reply(200, PAGE, HTML))
        dns.answers["rebind.example"] = [PUBLIC_STAND_IN, "127.0.0.1"]
        page = fetch(f"http://rebind.example:{port}/")
    assert page.body == PAGE and page.address == PUBLIC_STAND_IN
    assert dns.lookups == ["rebind.example"]
    assert internal.requests == []
    (_path, headers), *_ = public_stand_in.requests
    assert headers["Host"] == f"rebind.example:{port}"  # the real name, not the address


def test_too_many_redirects(public_stand_in: Loopback) -> None:
    url = public_stand_in.add("/loop", Reply(302, headers={"Location": "/loop"}))
    with pytest.raises(PageFetchError, match="redirects too many times"):
        fetch(url)
    assert len(public_stand_in.requests) == FAST.redirects + 1


# --- with the test-only setting: size, time, kind --------------------------------------


def test_with_private_allowed_a_loopback_page_is_fetched() -> None:
    with loopback_server() as site:
        site.add("/article", Reply(200, PAGE, HTML))
        url = site.add("/short", Reply(302, headers={"Location": "/article"}))
        page = fetch(url, GuardPolicy(FAST, contact_email="ops@example.org", allow_private=True))
    assert page.body == PAGE and page.url == site.url + "/article"
    assert page.content_type.startswith("text/html") and page.status == 200
    path, headers = site.requests[-1]
    assert path == "/article" and headers["Host"] == site.url.removeprefix("http://")
    assert "ops@example.org" in headers["User-Agent"]


def test_the_default_cap_is_the_page_cap() -> None:
    assert GuardPolicy().max_bytes == PAGE_MAX_BYTES == 10_000_000


@pytest.mark.parametrize(
    "reply",
    [
        Reply(200, b"x" * 2001, HTML),  # declared too large
        Reply(200, b"x", {**HTML, "Content-Length": "999999999"}),  # the header is enough
    ],
)
def test_a_page_over_the_cap_is_refused(reply: Reply) -> None:
    with loopback_server() as site:
        url = site.add("/big", reply)
        with pytest.raises(PageTooLargeError, match="larger than"):
            fetch(url, GuardPolicy(FAST, allow_private=True, max_bytes=2000))


def test_a_compressed_page_over_the_real_cap_stops_at_the_cap() -> None:
    bomb = gzip.compress(b"<p>" + b"x" * PAGE_MAX_BYTES)  # about 10 KB on the wire
    with loopback_server() as site:
        url = site.add("/bomb", Reply(200, bomb, {**HTML, "Content-Encoding": "gzip"}))
        with pytest.raises(PageTooLargeError, match="larger than 10 MB"):
            fetch(url, LOOSE)


def test_a_stalled_server_times_out() -> None:
    def stall(request: BaseHTTPRequestHandler) -> None:
        time.sleep(3)  # says nothing at all
        return None

    with loopback_server() as site:
        url = site.add("/stall", stall)
        started = time.monotonic()
        with pytest.raises(PageTimeoutError, match="timed out"):
            fetch(url, LOOSE)
    assert time.monotonic() - started < 2


def test_a_dripping_server_meets_the_total_deadline() -> None:
    def drip(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Type", "text/html")
        request.send_header("Content-Length", "100")
        request.end_headers()
        for _ in range(100):  # one byte every 0.2 s: no single read ever times out
            try:
                request.wfile.write(b"x")
                request.wfile.flush()
            except OSError:
                return None
            time.sleep(0.2)
        return None

    with loopback_server() as site:
        url = site.add("/drip", drip)
        started = time.monotonic()
        with pytest.raises(PageTimeoutError, match="longer than 2 seconds"):
            fetch(url, LOOSE)
    assert time.monotonic() - started < 3


def test_a_resolver_that_hangs_meets_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()

    def hang(*args: object, **kwargs: object) -> object:
        release.wait(10)
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", hang)
    started = time.monotonic()
    try:
        with pytest.raises(PageTimeoutError):
            fetch("http://slow-dns.example/")
        assert time.monotonic() - started < 3
    finally:
        release.set()


@pytest.mark.parametrize(
    ("reply", "error", "message"),
    [
        (Reply(200, b"%PDF-1.7", {"Content-Type": "application/pdf"}), NotAWebPageError, "pdf"),
        (Reply(200, b"\x89PNG", {"Content-Type": "image/png"}), NotAWebPageError, "not a web"),
        (Reply(404, b"gone", HTML), PageFetchError, "HTTP 404"),
        (Reply(500, b"oops", HTML), PageFetchError, "HTTP 500"),
        (Reply(302), PageFetchError, "without a target"),
    ],
)
def test_what_is_not_a_page(reply: Reply, error: type[PastedURLError], message: str) -> None:
    with loopback_server() as site:
        url = site.add("/x", reply)
        with pytest.raises(error, match=message):
            fetch(url, LOOSE)


def test_a_refused_connection_is_a_clear_error() -> None:
    with pytest.raises(PageFetchError, match="could not connect"):
        fetch(f"http://127.0.0.1:{free_port()}/", LOOSE)  # nobody listens there


# --- TLS: the certificate is checked for the real name while the address is pinned ------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def _server_tls(ca: trustme.CA, name: str, seen_names: list[str | None]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(name).configure_cert(context)

    def remember(_sock: ssl.SSLObject, server_name: str | None, _ctx: ssl.SSLContext) -> None:
        seen_names.append(server_name)

    context.sni_callback = remember  # type: ignore[assignment]
    return context


def test_https_checks_the_real_name_at_the_pinned_address(ca: trustme.CA, dns: FakeDNS) -> None:
    names: list[str | None] = []
    client_tls = ssl.create_default_context()
    ca.configure_trust(client_tls)
    policy = GuardPolicy(FAST, allow_private=True, tls_context=client_tls)
    with serve("127.0.0.1", _server_tls(ca, "news.example", names)) as site:
        site.add("/story", Reply(200, PAGE, HTML))
        port = site.url.rsplit(":", 1)[1]
        dns.answers["news.example"] = ["127.0.0.1"]
        page = fetch(f"https://news.example:{port}/story", policy)
    assert page.body == PAGE and page.url == f"https://news.example:{port}/story"
    assert names == ["news.example"]  # SNI carried the name, not the address
    assert site.requests[0][1]["Host"] == f"news.example:{port}"


def test_https_refuses_a_certificate_for_another_name(ca: trustme.CA, dns: FakeDNS) -> None:
    names: list[str | None] = []
    client_tls = ssl.create_default_context()
    ca.configure_trust(client_tls)
    policy = GuardPolicy(FAST, allow_private=True, tls_context=client_tls)
    with serve("127.0.0.1", _server_tls(ca, "other.example", names)) as site:
        site.add("/story", Reply(200, PAGE, HTML))
        port = site.url.rsplit(":", 1)[1]
        dns.answers["news.example"] = ["127.0.0.1"]
        with pytest.raises(PageFetchError, match=r"(?i)certificate"):
            fetch(f"https://news.example:{port}/story", policy)
    assert site.requests == []


def test_errors_pickle_and_read_well() -> None:
    import pickle

    for cls in (
        PastedURLError,
        URLNotAllowedError,
        AddressNotPublicError,
        NotAWebPageError,
        PageTooLargeError,
        PageTimeoutError,
        PageFetchError,
    ):
        error = cls("http://10.0.0.1/")
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is cls and str(copy) == str(error) and copy.url == error.url
        assert error.exit_code == 2
