"""HTTP for feeds and pages (I/O): one polite async client.

Politeness: a global cap on connections, at most `per_host` requests at once to one origin
and `host_delay` seconds between their starts. Safety: connect/read timeouts plus a total
deadline (httpx's timeouts are per read, so a server dripping bytes would otherwise hold a
request for ever), streamed bodies capped after decompression, a redirect limit.
This is the one module that talks to httpx; its failures leave as FetchError.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx

from briefing import __version__
from briefing.errors import FetchError

FEED_MAX_BYTES = 5_000_000
PAGE_MAX_BYTES = 10_000_000
MAX_RETRY_AFTER = timedelta(hours=6)


@dataclass(frozen=True, slots=True)
class FetchLimits:
    connect: float = 5.0
    read: float = 15.0
    deadline: float = 30.0  # seconds for the whole request, body included
    connections: int = 20  # at once, all hosts together
    per_host: int = 2  # at once, per origin
    host_delay: float = 0.5  # seconds between request starts to one origin
    redirects: int = 5


@dataclass(frozen=True, slots=True)
class FetchResult:
    url: str  # after redirects
    status: int
    body: bytes
    content_type: str
    etag: str | None
    last_modified: str | None
    elapsed_ms: int

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class RetryLaterError(FetchError):
    """The server asked us to come back later (429, or 503 with Retry-After)."""

    def __init__(self, source: str, message: str = "", retry_after: timedelta | None = None):
        super().__init__(source, message)
        self.retry_after = retry_after

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.source, self.message, self.retry_after))


def retry_after(value: str | None, now: datetime) -> timedelta | None:
    """Retry-After as seconds or an HTTP date, capped; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        delay = timedelta(seconds=int(value))
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        delay = when - now
    return max(timedelta(0), min(delay, MAX_RETRY_AFTER))


@dataclass
class _Host:
    slots: asyncio.Semaphore
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    next_start: float = 0.0


class Fetcher:
    """Use as `async with Fetcher(...) as fetcher: await fetcher.fetch(url)`."""

    def __init__(
        self,
        contact_email: str = "",
        limits: FetchLimits = FetchLimits(),
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.limits = limits
        contact = f"; contact: {contact_email}" if contact_email else ""
        self._client = httpx.AsyncClient(
            headers={"User-Agent": f"briefing/{__version__} (migration press briefing{contact})"},
            # No pool timeout: our own slots below decide who waits, before the clock starts.
            timeout=httpx.Timeout(limits.read, connect=limits.connect, pool=None),
            limits=httpx.Limits(max_connections=limits.connections),
            follow_redirects=True,
            max_redirects=limits.redirects,
            trust_env=False,
            transport=transport,
        )
        self._hosts: dict[str, _Host] = {}
        self._slots = asyncio.Semaphore(limits.connections)

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._client.aclose()

    @asynccontextmanager
    async def _polite(self, url: str) -> AsyncIterator[None]:
        origin = httpx.URL(url)
        key = f"{origin.scheme}://{origin.host}:{origin.port}"
        host = self._hosts.setdefault(key, _Host(asyncio.Semaphore(self.limits.per_host)))
        async with host.slots:
            async with host.lock:
                wait = host.next_start - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                host.next_start = time.monotonic() + self.limits.host_delay
            yield

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        max_bytes: int = FEED_MAX_BYTES,
    ) -> FetchResult:
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        with _fetch_errors(url):
            async with self._polite(url), self._slots:  # the deadline counts from here
                started = time.monotonic()
                try:
                    async with asyncio.timeout(self.limits.deadline):
                        return await self._get(url, headers, max_bytes, started)
                except TimeoutError:
                    raise FetchError(url, f"took longer than {self.limits.deadline:g} s") from None

    async def _get(
        self, url: str, headers: dict[str, str], max_bytes: int, started: float
    ) -> FetchResult:
        async with self._client.stream("GET", url, headers=headers) as response:
            if response.status_code == 429 or (
                response.status_code == 503 and "retry-after" in response.headers
            ):
                delay = retry_after(response.headers.get("retry-after"), datetime.now(UTC))
                raise RetryLaterError(url, f"HTTP {response.status_code}", delay)
            if response.status_code >= 400:
                raise FetchError(url, f"HTTP {response.status_code}")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise FetchError(url, f"body of {declared} bytes is over the {max_bytes} cap")
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():  # decoded: a gzip bomb is capped too
                size += len(chunk)
                if size > max_bytes:
                    raise FetchError(url, f"body is over the {max_bytes} byte cap")
                chunks.append(chunk)
        return FetchResult(
            url=str(response.url),
            status=response.status_code,
            body=b"".join(chunks),
            content_type=response.headers.get("content-type", ""),
            etag=response.headers.get("etag"),
            last_modified=response.headers.get("last-modified"),
            elapsed_ms=round((time.monotonic() - started) * 1000),
        )


@contextmanager
def _fetch_errors(url: str) -> Iterator[None]:
    try:
        yield
    except httpx.TimeoutException as e:
        raise FetchError(url, "timed out") from e
    except httpx.TooManyRedirects as e:
        raise FetchError(url, "too many redirects") from e
    except (httpx.TransportError, httpx.InvalidURL, httpx.DecodingError) as e:
        raise FetchError(url, f"request failed ({type(e).__name__})") from e
