"""One ingest cycle against real HTTP servers on loopback, one fault at a time: the other
feeds of the same cycle still succeed and nothing already stored is lost."""

from __future__ import annotations

import gzip
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler

import pytest
from sqlalchemy import Engine, func, select

from briefing.config.sources import Sources, parse_sources
from briefing.config.taxonomy import default_taxonomy
from briefing.db.engine import session_scope
from briefing.db.models import Feed, FetchLog, Item, ItemFeed
from briefing.db.outlets import sync_sources
from briefing.ingest.fetch import FetchLimits
from briefing.ingest.schedule import FeedPolicy
from briefing.ingest.stage import FeedStatus, IngestReport, Network, run_fetch
from tests.loopback import Loopback, Reply, loopback_server

T1 = datetime(2026, 3, 10, 6, 0, tzinfo=UTC)
T2 = T1 + timedelta(hours=1)
FAST = Network(FetchLimits(connect=1, read=1, deadline=3, host_delay=0))
POLICY = FeedPolicy()


def rss(*items: tuple[str, str, str], head: str = "", encoding: str = "utf-8") -> bytes:
    """A small RSS feed: items are (guid, link, title)."""
    body = "".join(
        f"<item><guid>{g}</guid><link>{link}</link><title>{t}</title>"
        "<pubDate>Mon, 09 Mar 2026 10:00:00 GMT</pubDate></item>"
        for g, link, t in items
    )
    text = (
        f'<?xml version="1.0" encoding="{encoding}"?>{head}<rss version="2.0"><channel>'
        f"<title>Feed</title>{body}</channel></rss>"
    )
    return text.encode(encoding)


GOOD_1 = rss(("g1", "https://good.example/a", "Good A"))
GOOD_2 = rss(("g1", "https://good.example/a", "Good A"), ("g2", "https://good.example/b", "Good B"))
BAD_1 = rss(("b1", "https://bad.example/1", "Bad one"), ("b2", "https://bad.example/2", "Bad two"))


def sources_for(site: Loopback) -> Sources:
    text = f"""
outlets:
  - {{slug: good-news, name: Good News, segment: mixed-middle, country: GB, language: en,
     domains: [good.example], feeds: [{{url: "{site.url}/good", name: Good}}]}}
  - {{slug: bad-news, name: Bad News, segment: right-leaning, country: GB, language: en,
     domains: [bad.example], feeds: [{{url: "{site.url}/bad", name: Bad}}]}}
"""
    return parse_sources(text, "test", default_taxonomy())


def synced_sources(site: Loopback, engine: Engine) -> Sources:
    sources = sources_for(site)
    with session_scope(engine) as session:
        sync_sources(session, sources)
    return sources


def streamed(chunks: Iterator[bytes], headers: dict[str, str] | None = None) -> Callable[..., None]:
    """A route that streams its body with no Content-Length, until the client hangs up."""

    def route(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        for name, value in (headers or {}).items():
            request.send_header(name, value)
        request.end_headers()
        try:
            for chunk in chunks:
                request.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass

    return route


def sleeping(seconds: float) -> Callable[..., Reply]:
    def route(_request: BaseHTTPRequestHandler) -> Reply:
        time.sleep(seconds)
        return Reply(200, GOOD_1)

    return route


def etag_aware(_request: BaseHTTPRequestHandler) -> Reply:
    if _request.headers.get("If-None-Match") == '"bad-v1"':
        return Reply(304)
    return Reply(200, BAD_1, {"ETag": '"bad-v1"'})


QUADRATIC = ('<!DOCTYPE rss [<!ENTITY big "' + "A" * 50_000 + '">]>', "&big;" * 20_000)
LAUGHS = (
    '<!DOCTYPE rss [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>',
    "&d;",
)


@dataclass(frozen=True)
class Fault:
    name: str
    route: Callable[[BaseHTTPRequestHandler], Reply | None] | Reply
    status: FeedStatus  # what the bad feed's outcome must be
    stored: dict[str, str] | None = None  # url -> title the cycle must have stored


FAULTS = [
    Fault("timeout", sleeping(2.5), FeedStatus.FAILED),
    Fault("http 500", Reply(500, b"Internal Server Error"), FeedStatus.FAILED),
    Fault("503 with retry-after", Reply(503, headers={"Retry-After": "3600"}), FeedStatus.FAILED),
    Fault("429", Reply(429, headers={"Retry-After": "600"}), FeedStatus.FAILED),
    Fault("304", etag_aware, FeedStatus.NOT_MODIFIED),
    Fault("redirect loop", Reply(302, headers={"Location": "/bad"}), FeedStatus.FAILED),
    Fault("50 MB body", streamed(iter([b"<rss>" + b"x" * 65536] * 800)), FeedStatus.FAILED),
    Fault(
        "gzip bomb",
        Reply(200, gzip.compress(b"<rss>" + b" " * 60_000_000), {"Content-Encoding": "gzip"}),
        FeedStatus.FAILED,
    ),
    Fault(
        "html error page",
        Reply(
            200,
            b"<!doctype html><html><body><h1>502 Bad Gateway</h1><p>nginx</p></body></html>",
            {"Content-Type": "text/html"},
        ),
        FeedStatus.FAILED,
    ),
    Fault("malformed xml", Reply(200, BAD_1[: len(BAD_1) // 2]), FeedStatus.OK),
    Fault(
        "billion laughs",
        Reply(200, rss(("b3", "https://bad.example/3", LAUGHS[1]), head=LAUGHS[0])),
        FeedStatus.OK,
    ),
    Fault(
        "quadratic entity",
        Reply(200, rss(("b3", "https://bad.example/3", QUADRATIC[1]), head=QUADRATIC[0])),
        FeedStatus.OK,
    ),
    Fault(
        "latin-1",
        Reply(200, rss(("b3", "https://bad.example/3", "Caf\xe9 opens"), encoding="iso-8859-1")),
        FeedStatus.OK,
        {"https://bad.example/3": "Café opens"},
    ),
    Fault(
        "duplicate guids",
        Reply(
            200,
            rss(
                ("same", "https://bad.example/3", "Three"),
                ("same", "https://bad.example/4", "Four"),
            ),
        ),
        FeedStatus.OK,
        {"https://bad.example/3": "Three", "https://bad.example/4": "Four"},
    ),
    Fault(
        "script in titles",
        Reply(
            200,
            rss(
                (
                    "b3",
                    "https://bad.example/3",
                    "Hello &lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;",
                ),
            ),
        ),
        FeedStatus.OK,
        {"https://bad.example/3": "Hello"},
    ),
]


def cycle(engine: Engine, sources: Sources, now: datetime) -> IngestReport:
    return run_fetch(engine, sources, FAST, now, policy=POLICY, everything=True)


def stored(engine: Engine) -> dict[str, str]:
    with session_scope(engine, write=False) as session:
        return {url: title for url, title in session.execute(select(Item.url, Item.title))}


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f.name)
def test_one_bad_feed_breaks_nothing(engine: Engine, fault: Fault) -> None:
    with loopback_server() as site:
        sources = synced_sources(site, engine)
        site.add("/good", Reply(200, GOOD_1))
        site.add("/bad", etag_aware)
        first = cycle(engine, sources, T1)
        assert [o.status for o in first.outcomes] == [FeedStatus.OK, FeedStatus.OK]
        before = stored(engine)

        site.add("/good", Reply(200, GOOD_2))
        site.add("/bad", fault.route)
        started = time.monotonic()
        second = cycle(engine, sources, T2)
        elapsed = time.monotonic() - started

    good, bad = second.outcomes
    assert good.status == FeedStatus.OK and good.new == 1, good
    assert bad.status == fault.status, bad
    after = stored(engine)
    assert {url: after[url] for url in before} == before  # nothing stored is lost or changed
    assert "https://good.example/b" in after
    for url, title in (fault.stored or {}).items():
        assert after[url] == title
    assert elapsed < 10
    for title in after.values():
        assert len(title) <= 500 and "<" not in title and "onerror" not in title


def test_failures_back_off_and_respect_retry_after(engine: Engine) -> None:
    with loopback_server() as site:
        sources = synced_sources(site, engine)
        site.add("/good", Reply(200, GOOD_1))
        site.add("/bad", Reply(503, headers={"Retry-After": "7200"}))
        cycle(engine, sources, T1)
        site.add("/bad", Reply(500))
        cycle(engine, sources, T2)
    with session_scope(engine, write=False) as session:
        bad = session.scalars(select(Feed).where(Feed.url.endswith("/bad"))).one()
        good = session.scalars(select(Feed).where(Feed.url.endswith("/good"))).one()
        assert bad.consecutive_failures == 2 and bad.last_status == "failed"
        assert bad.next_fetch_at == T2 + timedelta(hours=2)  # 30 min x 2^2
        assert good.consecutive_failures == 0 and good.last_status == "not_modified"
        logs = session.scalars(select(FetchLog.status).where(FetchLog.feed_id == bad.id)).all()
        assert logs == ["failed", "failed"]


def test_retry_after_is_never_cut_short(engine: Engine) -> None:
    with loopback_server() as site:
        sources = synced_sources(site, engine)
        site.add("/good", Reply(200, GOOD_1))
        site.add("/bad", Reply(429, headers={"Retry-After": "5400"}))
        cycle(engine, sources, T1)
    with session_scope(engine, write=False) as session:
        bad = session.scalars(select(Feed).where(Feed.url.endswith("/bad"))).one()
        assert bad.next_fetch_at == T1 + timedelta(seconds=5400)


def test_only_due_feeds_are_fetched_and_intervals_adapt(engine: Engine) -> None:
    with loopback_server() as site:
        sources = synced_sources(site, engine)
        site.add("/good", Reply(200, GOOD_1))
        site.add("/bad", Reply(200, BAD_1))
        run_fetch(engine, sources, FAST, T1, policy=POLICY)
        site.add("/good", Reply(200, GOOD_2))
        # 10 minutes later nothing is due yet
        assert (
            run_fetch(engine, sources, FAST, T1 + timedelta(minutes=10), policy=POLICY).outcomes
            == ()
        )
        report = run_fetch(engine, sources, FAST, T2, policy=POLICY)
    assert [o.status for o in report.outcomes] == [FeedStatus.OK, FeedStatus.NOT_MODIFIED]
    with session_scope(engine, write=False) as session:
        intervals = {u: s for u, s in session.execute(select(Feed.url, Feed.interval_seconds))}
    assert intervals[f"{site.url}/good"] < intervals[f"{site.url}/bad"]


def test_unchanged_body_costs_no_parse_and_304_is_checked_daily(engine: Engine) -> None:
    with loopback_server() as site:
        sources = synced_sources(site, engine)
        site.add("/good", Reply(200, GOOD_1, {"ETag": '"always-new"'}))  # a lying ETag
        site.add("/bad", etag_aware)
        cycle(engine, sources, T1)
        report = cycle(engine, sources, T2)
        assert [o.status for o in report.outcomes] == [FeedStatus.NOT_MODIFIED] * 2
        bad_requests = [headers for path, headers in site.requests if path == "/bad"]
        conditional = bad_requests[-1].get("If-None-Match")
        cycle(engine, sources, T1 + timedelta(days=1, hours=1))
        bad_requests = [headers for path, headers in site.requests if path == "/bad"]
        unconditional = bad_requests[-1].get("If-None-Match")
    assert conditional == '"bad-v1"' and unconditional is None


def test_every_feed_an_item_appears_in_is_recorded(engine: Engine) -> None:
    same = rss(("x", "https://good.example/shared?utm_source=rss", "Shared story"))
    with loopback_server() as site:
        sources = synced_sources(site, engine)
        site.add("/good", Reply(200, same))
        site.add("/bad", Reply(200, rss(("y", "https://good.example/shared#top", "Shared"))))
        cycle(engine, sources, T1)
    with session_scope(engine, write=False) as session:
        assert session.scalar(select(func.count()).select_from(Item)) == 1
        assert session.scalar(select(func.count()).select_from(ItemFeed)) == 2


def test_a_changed_title_updates_and_a_moved_url_follows_its_guid(engine: Engine) -> None:
    with loopback_server() as site:
        sources = synced_sources(site, engine)
        site.add("/good", Reply(200, rss(("g1", "https://good.example/a", "Frist draft"))))
        site.add("/bad", Reply(200, BAD_1))
        cycle(engine, sources, T1)
        site.add("/good", Reply(200, rss(("g1", "https://good.example/a-renamed", "First"))))
        report = cycle(engine, sources, T2)
    assert report.outcomes[0].new == 0
    assert stored(engine)["https://good.example/a-renamed"] == "First"
    assert "https://good.example/a" not in stored(engine)


def test_health_reports_unhealthy_and_silent_feeds(engine: Engine) -> None:
    from briefing.archive.queries import feed_health

    policy = FeedPolicy(unhealthy_after=2)
    busy = rss(*((f"n{n}", f"https://good.example/{n}", f"Story {n}") for n in range(20)))
    with loopback_server() as site:
        sources = synced_sources(site, engine)
        site.add("/good", Reply(200, busy))
        site.add("/bad", Reply(500))
        for hours in (0, 1):
            run_fetch(
                engine, sources, FAST, T1 + timedelta(hours=hours), policy=policy, everything=True
            )
    views = {v.feed: v for v in feed_health(engine, T1 + timedelta(hours=2), policy)}
    assert views["Bad"].state == "unhealthy" and views["Bad"].failures == 2
    assert views["Bad"].last_error == f"{site.url}/bad: HTTP 500"
    assert views["Good"].state == "ok" and views["Good"].latency_ms is not None
    assert views["Good"].items_per_day == 20.0
    soon = {v.feed: v for v in feed_health(engine, T1 + timedelta(days=1), policy)}
    assert soon["Good"].state == "ok"
    later = {v.feed: v for v in feed_health(engine, T1 + timedelta(days=5), policy)}
    assert later["Good"].state == "silent"  # twenty stories, then nothing for five days
    assert [v.feed for v in feed_health(engine, T1, policy)] == ["Bad", "Good"]
