"""The fetcher against a real HTTP server on loopback."""

from __future__ import annotations

import asyncio
import gzip
import time
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from briefing.errors import FetchError
from briefing.ingest.fetch import Fetcher, FetchLimits, FetchResult, RetryLaterError, retry_after
from tests.loopback import Reply, loopback_server

FAST = FetchLimits(connect=1, read=1, deadline=2, host_delay=0)


def get(url: str, limits: FetchLimits = FAST, **kwargs: object) -> FetchResult:
    async def go() -> FetchResult:
        async with Fetcher("ops@example.org", limits) as fetcher:
            return await fetcher.fetch(url, **kwargs)  # type: ignore[arg-type]

    return asyncio.run(go())


def test_conditional_get_costs_one_304() -> None:
    with loopback_server() as site:

        def feed(request):  # type: ignore[no-untyped-def]
            if request.headers.get("If-None-Match") == '"v1"':
                return Reply(304)
            return Reply(200, b"<rss/>", {"ETag": '"v1"', "Last-Modified": "Mon, 09 Mar 2026"})

        url = site.add("/feed", feed)
        first = get(url)
        second = get(url, etag=first.etag, last_modified=first.last_modified)
    assert first.status == 200 and first.body == b"<rss/>"
    assert second.not_modified and second.body == b""
    assert site.requests[1][1]["If-Modified-Since"] == "Mon, 09 Mar 2026"
    assert "ops@example.org" in site.requests[0][1]["User-Agent"]
    assert "gzip" in site.requests[0][1]["Accept-Encoding"]


def test_compressed_bodies_are_decoded() -> None:
    with loopback_server() as site:
        url = site.add(
            "/gz", Reply(200, gzip.compress(b"<rss>hello</rss>"), {"Content-Encoding": "gzip"})
        )
        assert get(url).body == b"<rss>hello</rss>"


def test_redirects_are_followed_and_the_final_url_kept() -> None:
    with loopback_server() as site:
        target = site.add("/new", Reply(200, b"ok"))
        url = site.add("/old", Reply(301, headers={"Location": target}))
        assert get(url).url == target


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Reply(500, b"oops"), "HTTP 500"),
        (Reply(200, b"x" * 2000), "2000 bytes is over the 1000 cap"),
        (Reply(200, gzip.compress(b"x" * 100_000), {"Content-Encoding": "gzip"}), "byte cap"),
        (Reply(200, b"x", {"Content-Length": "999999999"}), "over the 1000 cap"),
    ],
)
def test_failures_become_fetch_errors(reply: Reply, message: str) -> None:
    with loopback_server() as site:
        url = site.add("/x", reply)
        with pytest.raises(FetchError, match=message):
            get(url, max_bytes=1000)


def test_redirect_loop_and_refused_connection() -> None:
    with loopback_server() as site:
        url = site.add("/loop", Reply(302, headers={"Location": "/loop"}))
        with pytest.raises(FetchError, match="too many redirects"):
            get(url)
    with pytest.raises(FetchError, match="request failed"):
        get("http://127.0.0.1:9/")  # the discard port: nobody listens


def test_a_dripping_server_meets_the_total_deadline() -> None:
    def drip(request):  # type: ignore[no-untyped-def]
        request.send_response(200)
        request.send_header("Content-Length", "100")
        request.end_headers()
        for _ in range(100):  # one byte every 0.2 s: no single read ever times out
            request.wfile.write(b"x")
            request.wfile.flush()
            time.sleep(0.2)
        return None

    with loopback_server() as site:
        url = site.add("/drip", drip)
        started = time.monotonic()
        with pytest.raises(FetchError, match="took longer than 2 s"):
            get(url)
        assert time.monotonic() - started < 4


@pytest.mark.parametrize(
    ("reply", "after"),
    [
        (Reply(429, headers={"Retry-After": "120"}), timedelta(seconds=120)),
        (Reply(503, headers={"Retry-After": "7200"}), timedelta(hours=2)),
        (Reply(429), None),
    ],
)
def test_servers_asking_us_to_wait(reply: Reply, after: timedelta | None) -> None:
    with loopback_server() as site:
        url = site.add("/busy", reply)
        with pytest.raises(RetryLaterError) as caught:
            get(url)
    assert caught.value.retry_after == after


def test_retry_after_forms() -> None:
    now = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)
    assert retry_after("30", now) == timedelta(seconds=30)
    assert retry_after("Tue, 10 Mar 2026 08:05:00 GMT", now) == timedelta(minutes=5)
    assert retry_after("Tue, 10 Mar 2026 07:00:00 GMT", now) == timedelta(0)
    assert retry_after("999999", now) == timedelta(hours=6)  # capped
    assert retry_after("soon", now) is None


def test_one_host_is_asked_politely() -> None:
    """Two requests at most at once to one origin, and a pause between their starts."""
    starts: list[float] = []

    def slow(request):  # type: ignore[no-untyped-def]
        starts.append(time.monotonic())
        time.sleep(0.1)
        return Reply(200, b"ok")

    limits = FetchLimits(host_delay=0.2, per_host=2)
    with loopback_server() as site:
        urls = [site.add(f"/{n}", slow) for n in range(4)]

        async def go() -> None:
            async with Fetcher("", limits) as fetcher:
                await asyncio.gather(*(fetcher.fetch(u) for u in urls))

        asyncio.run(go())
    # Seen by the server, one start can be late by a busy machine's scheduling and the next
    # on time; the span of all four starts is what the pauses guarantee (3 x 0.2 s).
    starts.sort()
    gaps = [b - a for a, b in pairwise(starts)]
    assert starts[-1] - starts[0] >= 0.55, gaps
    assert all(gap >= 0.1 for gap in gaps), gaps
