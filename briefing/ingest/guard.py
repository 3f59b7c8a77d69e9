"""Fetching a page whose address a person pasted, without letting it reach our own network
(I/O): server-side request forgery protection for "add a story by URL".

Every hop is checked before a byte is sent: http or https only, no user name or password,
an ordinary port; the host is resolved once and every address it resolves to must be public
(not loopback, private, link-local, shared/CGNAT, multicast, reserved or unspecified, also
when wrapped in IPv6). The request then goes to the address that was checked, so a DNS
server that answers differently the second time (rebinding) has no second time. Redirects
are followed by hand, at most `FetchLimits.redirects`, each hop checked the same way. The
body is streamed and capped (the page cap of fetch.py), and a total deadline covers the DNS
look-ups, every hop and the body.

How the address is pinned: the request is sent to `http(s)://<checked address>/…` with the
`Host` header of the real name and httpx's `sni_hostname` request extension, which httpcore
uses as the TLS server name, so SNI and certificate verification are for the real host name.
That is a few lines on a stock client, where a custom transport or network backend would
mean re-implementing connection set-up; keep-alive is off so that a connection made for one
host name is never reused for another name on the same address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass, field

import httpx

from briefing import __version__
from briefing.errors import UsageError
from briefing.ingest.fetch import PAGE_MAX_BYTES, FetchLimits

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_URL_CHARS = 2000
WEB_PAGE_TYPES = ("text/html", "application/xhtml+xml")
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Ports below 1024 other than these are other protocols (ssh, smtp, …): refused.
WEB_PORTS = frozenset({80, 443})
# Well-known non-web services above 1023, refused too: a public host's database, cache or
# container API is no web page, and a pasted address must not be a way to talk to it.
SERVICE_PORTS = frozenset(
    {
        1080,  # SOCKS proxy
        1433,  # SQL Server
        1521,  # Oracle
        2049,  # NFS
        2375,  # Docker API
        2376,  # Docker API over TLS
        2379,  # etcd
        2380,  # etcd peers
        3306,  # MySQL
        3389,  # remote desktop
        5432,  # PostgreSQL
        5672,  # AMQP
        5900,  # VNC
        6379,  # Redis
        6443,  # Kubernetes API
        9042,  # Cassandra
        9092,  # Kafka
        9200,  # Elasticsearch
        9300,  # Elasticsearch nodes
        10250,  # kubelet
        11211,  # memcached
        15672,  # RabbitMQ management
        27017,  # MongoDB
    }
)
# Cloud metadata and platform endpoints: never fetched, whatever the settings say.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean…
        "169.254.170.2",  # AWS ECS task metadata
        "fd00:ec2::254",  # AWS over IPv6
        "100.100.100.200",  # Alibaba Cloud
        "168.63.129.16",  # Azure wire server (a public address)
        "192.0.0.192",  # Oracle Cloud
    )
)
# What `allow_private` lets through besides loopback; link-local and shared (CGNAT) are not.
PRIVATE_NETWORKS = tuple(
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)
SHARED_NETWORK = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT
NAT64_NETWORK = ipaddress.ip_network("64:ff9b::/96")  # an IPv4 address behind DNS64/NAT64


class PastedURLError(UsageError):
    """A pasted address that cannot be added; `message` is fit to show the person."""

    default_message = "that address cannot be fetched"

    def __init__(self, url: str, message: str = "") -> None:
        super().__init__(message)
        self.url = url

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.url, self.message))


class URLNotAllowedError(PastedURLError):
    default_message = "only an ordinary web address (http or https) can be added"


class AddressNotPublicError(PastedURLError):
    default_message = "that address is not public"


class NotAWebPageError(PastedURLError):
    default_message = "that address is not a web page"


class PageTooLargeError(PastedURLError):
    default_message = "that page is too large"


class PageTimeoutError(PastedURLError):
    default_message = "that page timed out"


class PageFetchError(PastedURLError):
    default_message = "that page could not be fetched"


@dataclass(frozen=True, slots=True)
class GuardPolicy:
    limits: FetchLimits = field(default_factory=FetchLimits)
    contact_email: str = ""
    allow_private: bool = False  # loopback and private networks: for tests only
    max_bytes: int = PAGE_MAX_BYTES
    tls_context: ssl.SSLContext | None = None  # None: the usual certificate authorities


@dataclass(frozen=True, slots=True)
class FetchedPage:
    url: str  # after redirects, with the real host name
    status: int
    body: bytes
    content_type: str
    address: str  # the checked address the last hop connected to
    redirects: int


def check_url(url: str) -> httpx.URL:
    """The parsed address, if its form may be fetched at all (no DNS look-up yet)."""
    text = url.strip()
    if len(text) > MAX_URL_CHARS:
        raise URLNotAllowedError(url, f"that address is longer than {MAX_URL_CHARS} characters")
    try:
        parsed = httpx.URL(text)
    except httpx.InvalidURL:
        raise URLNotAllowedError(url, "that is not a web address") from None
    if parsed.scheme not in ("http", "https"):
        raise URLNotAllowedError(url, "only http and https addresses can be added")
    if parsed.userinfo:
        raise URLNotAllowedError(url, "an address with a user name or password cannot be added")
    if not parsed.host:
        raise URLNotAllowedError(url, "that address has no host name")
    port = parsed.port
    if port is not None and not ordinary_port(port):
        raise URLNotAllowedError(url, f"port {port} is not a web port")
    return parsed


def ordinary_port(port: int) -> bool:
    return port in WEB_PORTS or (1024 <= port <= 65535 and port not in SERVICE_PORTS)


def address_allowed(address: IPAddress, allow_private: bool = False) -> bool:
    """Whether a request may go to this address; `allow_private` admits loopback and the
    private networks (tests), never link-local, metadata, multicast or the like."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_ipv4(address)
        if inner is not None:
            if not address_allowed(inner, allow_private):
                return False
            if address.sixtofour is None:  # mapped or NAT64: the IPv4 address is where it goes
                return True
    if address in METADATA_ADDRESSES:
        return False
    if address.is_loopback:  # before "reserved": ::1 lies in the reserved ::/8
        return allow_private
    if (
        address.is_unspecified
        or address.is_multicast
        or address.is_link_local
        or address.is_reserved
        or address in SHARED_NETWORK
        or (isinstance(address, ipaddress.IPv6Address) and address.is_site_local)
    ):
        return False
    if address.is_global:
        return True
    return allow_private and any(address in network for network in PRIVATE_NETWORKS)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside an IPv4-mapped, 6to4 or NAT64 address."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64_NETWORK:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


async def resolve_public(url: httpx.URL, original: str, allow_private: bool) -> list[str]:
    """Every address the host resolves to, each checked; any refused address refuses all
    (a name that also points inside is not a public name)."""
    host = url.raw_host.decode("ascii")
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        resolved = await _getaddrinfo(host, port)
    except (OSError, UnicodeError):
        raise PageFetchError(original, f"the host name {host} could not be found") from None
    addresses: list[str] = []
    for text in resolved:
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            raise AddressNotPublicError(original) from None
        if not address_allowed(address, allow_private):
            raise AddressNotPublicError(original)
        if text not in addresses:
            addresses.append(text)
    if not addresses:
        raise PageFetchError(original, f"the host name {host} could not be found")
    return addresses


async def _getaddrinfo(host: str, port: int) -> list[str]:
    """socket.getaddrinfo in a daemon thread of its own: a resolver that hangs past the
    deadline is left behind, where one in the default executor would hold up asyncio.run()
    until it gave up."""
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[list[str]] = loop.create_future()

    def settle(result: list[str], error: BaseException | None) -> None:
        if answer.done():
            return
        if error is not None:
            answer.set_exception(error)
        else:
            answer.set_result(result)

    def look_up() -> None:
        result: list[str] = []
        error: BaseException | None = None
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            result = [str(info[4][0]) for info in infos]
        except Exception as e:  # handed to the waiting coroutine
            error = e
        with suppress(RuntimeError):  # the loop has closed: nobody is waiting any more
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=look_up, name="briefing-dns", daemon=True).start()
    return await answer


async def fetch_public_page(url: str, policy: GuardPolicy | None = None) -> FetchedPage:
    """The page at a pasted address, or a PastedURLError saying why not."""
    policy = policy or GuardPolicy()
    target = check_url(url)
    try:
        async with asyncio.timeout(policy.limits.deadline), _client(policy) as client:
            for hop in range(policy.limits.redirects + 1):
                addresses = await resolve_public(target, url, policy.allow_private)
                with _fetch_errors(url):
                    result = await _get(client, target, addresses, url, policy, hop)
                if isinstance(result, FetchedPage):
                    return result
                target = check_url(str(result))
    except TimeoutError:
        raise PageTimeoutError(
            url, f"that page took longer than {policy.limits.deadline:g} seconds"
        ) from None
    raise PageFetchError(url, "that address redirects too many times")


def fetch_public_page_sync(url: str, policy: GuardPolicy | None = None) -> FetchedPage:
    """The same, for synchronous callers (a web view running in a worker thread)."""
    return asyncio.run(fetch_public_page(url, policy))


@asynccontextmanager
async def _client(policy: GuardPolicy) -> AsyncIterator[httpx.AsyncClient]:
    contact = f"; contact: {policy.contact_email}" if policy.contact_email else ""
    limits = policy.limits
    async with httpx.AsyncClient(
        headers={"User-Agent": f"briefing/{__version__} (migration press briefing{contact})"},
        timeout=httpx.Timeout(limits.read, connect=limits.connect),
        limits=httpx.Limits(max_connections=1, max_keepalive_connections=0),
        follow_redirects=False,  # by hand below: every hop is checked
        trust_env=False,  # no proxy from the environment can route around the check
        verify=policy.tls_context or True,
    ) as client:
        yield client


async def _get(
    client: httpx.AsyncClient,
    target: httpx.URL,
    addresses: list[str],
    original: str,
    policy: GuardPolicy,
    hop: int,
) -> FetchedPage | httpx.URL:
    """One hop: the page, or where it redirects to."""
    response = await _connect(client, target, addresses)
    try:
        status = response.status_code
        if status in REDIRECT_STATUSES:
            location = response.headers.get("location", "").strip()
            if not location:
                raise PageFetchError(original, f"the page answered HTTP {status} without a target")
            try:
                return target.join(location)
            except httpx.InvalidURL:
                raise URLNotAllowedError(original, "that page redirects to a bad address") from None
        if not 200 <= status < 300:
            raise PageFetchError(original, f"the page answered HTTP {status}")
        content_type = response.headers.get("content-type", "")
        media_type = content_type.partition(";")[0].strip().lower()
        if media_type and media_type not in WEB_PAGE_TYPES:
            raise NotAWebPageError(original, f"that address is not a web page ({media_type})")
        cap = policy.max_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise PageTooLargeError(original, f"that page is larger than {cap // 1_000_000} MB")
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():  # decoded: a gzip bomb stops at the cap
            size += len(chunk)
            if size > cap:
                raise PageTooLargeError(original, f"that page is larger than {cap // 1_000_000} MB")
            chunks.append(chunk)
        return FetchedPage(
            url=str(target),
            status=status,
            body=b"".join(chunks),
            content_type=content_type,
            address=str(response.request.url.host),
            redirects=hop,
        )
    finally:
        await response.aclose()
        client.cookies.clear()  # cookies were stored against the address: never resend them


async def _connect(
    client: httpx.AsyncClient, target: httpx.URL, addresses: list[str]
) -> httpx.Response:
    """The response from the first checked address that accepts the connection."""
    host_header = target.netloc.decode("ascii")
    server_name = target.raw_host.decode("ascii")
    for n, address in enumerate(addresses):
        request = client.build_request(
            "GET",
            target.copy_with(host=address),
            headers={"Host": host_header},
            extensions={"sni_hostname": server_name},
        )
        try:
            return await client.send(request, stream=True)
        except httpx.ConnectError:
            if n == len(addresses) - 1:
                raise
    raise AssertionError("resolve_public returns at least one address")


@contextmanager
def _fetch_errors(url: str) -> Iterator[None]:
    try:
        yield
    except httpx.TimeoutException as e:
        raise PageTimeoutError(url) from e
    except httpx.ConnectError as e:
        raise PageFetchError(url, "could not connect to that address") from e
    except (httpx.TransportError, httpx.DecodingError) as e:
        raise PageFetchError(url) from e
