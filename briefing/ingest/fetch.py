"""HTTP for feeds and pages (I/O): timeouts, a total deadline, size caps, conditional GET.

This is the one module that talks to httpx; its failures leave as FetchError.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from briefing import __version__
from briefing.errors import FetchError

FEED_MAX_BYTES = 5_000_000
PAGE_MAX_BYTES = 10_000_000
DEADLINE_SECONDS = 30.0  # httpx timeouts are per read; a drip-feeding server needs a total one


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


def make_http_client(
    contact_email: str = "", transport: httpx.BaseTransport | None = None
) -> httpx.Client:
    contact = f"; contact: {contact_email}" if contact_email else ""
    return httpx.Client(
        headers={"User-Agent": f"briefing/{__version__} (migration press briefing{contact})"},
        timeout=httpx.Timeout(connect=5.0, read=15.0, write=10.0, pool=5.0),
        follow_redirects=True,
        max_redirects=5,
        trust_env=False,
        transport=transport,
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


def fetch(
    client: httpx.Client,
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    max_bytes: int = FEED_MAX_BYTES,
    deadline: float = DEADLINE_SECONDS,
) -> FetchResult:
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    started = time.monotonic()
    with _fetch_errors(url), client.stream("GET", url, headers=headers) as response:
        if response.status_code >= 400:
            raise FetchError(url, f"HTTP {response.status_code}")
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise FetchError(url, f"body of {declared} bytes is over the {max_bytes} cap")
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():  # decoded bytes: a gzip bomb is capped too
            size += len(chunk)
            if size > max_bytes:
                raise FetchError(url, f"body is over the {max_bytes} byte cap")
            if time.monotonic() - started > deadline:
                raise FetchError(url, f"took longer than {deadline:.0f} s")
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
