"""The fetcher against a real HTTP server on loopback."""

from __future__ import annotations

import gzip

import pytest

from briefing.errors import FetchError
from briefing.ingest.fetch import fetch, make_http_client
from tests.loopback import Reply, loopback_server


def test_conditional_get_costs_one_304() -> None:
    with loopback_server() as site, make_http_client("ops@example.org") as client:

        def feed(request):  # type: ignore[no-untyped-def]
            if request.headers.get("If-None-Match") == '"v1"':
                return Reply(304)
            return Reply(200, b"<rss/>", {"ETag": '"v1"', "Last-Modified": "Mon, 09 Mar 2026"})

        url = site.add("/feed", feed)
        first = fetch(client, url)
        second = fetch(client, url, etag=first.etag, last_modified=first.last_modified)
    assert first.status == 200 and first.body == b"<rss/>"
    assert second.not_modified and second.body == b""
    assert site.requests[1][1]["If-Modified-Since"] == "Mon, 09 Mar 2026"
    assert "ops@example.org" in site.requests[0][1]["User-Agent"]


def test_redirects_are_followed_and_the_final_url_kept() -> None:
    with loopback_server() as site, make_http_client() as client:
        target = site.add("/new", Reply(200, b"ok"))
        url = site.add("/old", Reply(301, headers={"Location": target}))
        assert fetch(client, url).url == target


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Reply(500, b"oops"), "HTTP 500"),
        (Reply(200, b"x" * 2000), "2000 bytes is over the 1000 cap"),
        (Reply(200, gzip.compress(b"x" * 100_000), {"Content-Encoding": "gzip"}), "cap"),
        (Reply(200, b"x", {"Content-Length": "999999999"}), "over the 1000 cap"),
    ],
)
def test_failures_become_fetch_errors(reply: Reply, message: str) -> None:
    with loopback_server() as site, make_http_client() as client:
        url = site.add("/x", reply)
        with pytest.raises(FetchError, match=message):
            fetch(client, url, max_bytes=1000)


def test_redirect_loop_and_refused_connection() -> None:
    with loopback_server() as site, make_http_client() as client:
        url = site.add("/loop", Reply(302, headers={"Location": "/loop"}))
        with pytest.raises(FetchError, match="too many redirects"):
            fetch(client, url)
        with pytest.raises(FetchError, match="request failed"):
            fetch(client, "http://127.0.0.1:9/")  # the discard port: nobody listens
