"""Steady-state ingest: how long one fetch cycle over 300 unchanged feeds takes.

Run: .venv/bin/python benchmarks/ingest_steady_state.py   (from the repository root; add
--db postgresql://USER@127.0.0.1/DB to use PostgreSQL, --cycles N to time N cycles)

What it measures: the wall-clock time of briefing.ingest.stage.run_fetch over 300 feeds that
have not changed since the last cycle, i.e. every feed is asked with its ETag and answers
304 Not Modified. This is the cycle the scheduler runs every few minutes all day long; the
design's quality bar says it "finishes in seconds".

How: 30 threaded HTTP servers on 127.0.0.1 (one per port; a port stands for a host, since the
fetcher's politeness limits are per origin scheme://host:port) run in a child process, so the
servers neither share the benchmark's interpreter lock nor count in its memory. Each serves
10 RSS 2.0 feeds of 20 items (about 16 KB each) with an ETag, and answers 304 to a matching
If-None-Match. A sources.yaml text with 30 outlets of 10 feeds each is validated with
parse_sources, a fresh database is migrated (SQLite in a temporary folder, or a scratch
database created on the PostgreSQL server given with --db and dropped afterwards) and synced
with sync_sources. Then one cold cycle (everything=True: 300 answers of 200 with bodies, 6,000
new items) and N steady-state cycles (everything=True, so all 300 feeds are asked each time;
they carry the stored ETags and get 304s) are timed with time.perf_counter around run_fetch.

Limits: the project's default FetchLimits() (2 requests at once and 0.5 s between request
starts per origin, 20 connections in all), so the figure includes production politeness:
with 10 feeds per origin a cycle cannot take less than 9 x 0.5 s = 4.5 s, whatever the code.

It prints the feed count, the cold cycle's seconds, each steady-state cycle's seconds and their
median, the requests the servers answered and the share of 304s in the steady-state cycles.
With --report-memory it runs only the cold cycle and prints one "MEMORY {json}" line with the
process's peak RSS (benchmarks/ingest_memory.py uses this).

The loopback servers, the scratch database and the MEMORY line are also used by
benchmarks/ingest_cold_pages.py (one implementation).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import random
import resource
import secrets
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from typing import Any
from xml.sax.saxutils import escape

from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from briefing.config.sources import parse_sources
from briefing.config.taxonomy import default_taxonomy
from briefing.db.engine import DatabaseError, make_engine, session_scope
from briefing.db.migrate import upgrade
from briefing.db.models import Item
from briefing.db.outlets import sync_sources
from briefing.ingest.fetch import FetchLimits
from briefing.ingest.schedule import FeedPolicy
from briefing.ingest.stage import FeedStatus, IngestReport, Network, run_fetch

HOSTS = 30
FEEDS_PER_HOST = 10
ITEMS_PER_FEED = 20
SERVER_LIFETIME = 900.0  # seconds: the server process ends by itself if it is never stopped
CONTACT = "benchmarks@example.org"

# (body, content type, ETag or None) by request path, one mapping per origin.
Resource = tuple[bytes, str, str | None]
Site = Mapping[str, Resource]


# --- loopback servers (in a child process) ----------------------------------------------------


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in tags or etag.removeprefix("W/") in tags


def _handler_for(site: Site, counts: Counter[int], lock: threading.Lock) -> type:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real servers do

        def do_GET(self) -> None:
            resource_ = site.get(self.path)
            if resource_ is None:
                status, body, headers = 404, b"not found", {"Content-Type": "text/plain"}
            else:
                body, content_type, etag = resource_
                headers = {"Content-Type": content_type}
                if etag:
                    headers["ETag"] = etag
                status = 200
                if etag and _etag_matches(self.headers.get("If-None-Match"), etag):
                    status, body = 304, b""
            with lock:
                counts[status] += 1
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if status != 304:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


def _serve(make_sites: Callable[[], Sequence[Site]], conn: Connection, lifetime: float) -> None:
    """Child process: builds its sites, one threaded server per site, sends each site's base
    URL and paths, then answers "stats" and "stop" on `conn`."""
    sites = make_sites()
    counts: Counter[int] = Counter()
    lock = threading.Lock()
    servers = [
        ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(site, counts, lock)) for site in sites
    ]
    threads = [
        threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
        for s in servers
    ]
    for thread in threads:
        thread.start()
    conn.send(
        [
            (f"http://127.0.0.1:{server.server_address[1]}", list(site))
            for server, site in zip(servers, sites, strict=True)
        ]
    )
    deadline = time.monotonic() + lifetime
    try:
        while time.monotonic() < deadline:
            if not conn.poll(1.0):
                continue
            command = conn.recv()
            if command == "stats":
                with lock:
                    conn.send(dict(counts))
            else:
                break
    except (EOFError, OSError):  # the parent went away
        pass
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


class LoopbackSites:
    """`with LoopbackSites(make_sites) as servers:` one loopback origin per site, in a child
    process that builds the sites itself (a module-level function, or a partial of one), so
    their bodies never sit in this process's memory. `servers.bases[i]` is site i's base URL,
    `servers.paths[i]` its paths; `servers.stats()` counts the answers so far by HTTP status."""

    bases: list[str]
    paths: list[list[str]]

    def __init__(self, make_sites: Callable[[], Sequence[Site]]) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child_conn = context.Pipe()
        self._process = context.Process(
            target=_serve, args=(make_sites, child_conn, SERVER_LIFETIME), daemon=True
        )

    def __enter__(self) -> LoopbackSites:
        self._process.start()
        if not self._conn.poll(120.0):
            self.__exit__()
            raise RuntimeError("the loopback servers did not start within 120 s")
        sites: list[tuple[str, list[str]]] = self._conn.recv()
        self.bases = [base for base, _ in sites]
        self.paths = [paths for _, paths in sites]
        return self

    def stats(self) -> Counter[int]:
        self._conn.send("stats")
        if not self._conn.poll(30.0):
            raise RuntimeError("the loopback servers did not answer within 30 s")
        return Counter(self._conn.recv())

    def __exit__(self, *exc_info: object) -> None:
        with suppress(OSError):
            self._conn.send("stop")
        self._process.join(10.0)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(5.0)
        self._conn.close()


# --- database ---------------------------------------------------------------------------------


@contextmanager
def scratch_database(db: str | None) -> Iterator[str]:
    """A fresh, migrated database URL: SQLite in a temporary folder, or a new database on the
    given PostgreSQL server (created here, dropped afterwards; the given one is not touched)."""
    if db is None:
        with tempfile.TemporaryDirectory(prefix="briefing-bench-") as folder:
            url = f"sqlite:///{folder}/briefing.db"
            upgrade(url)
            yield url
        return
    given = make_url(db)
    name = f"briefing_bench_{os.getpid()}_{secrets.token_hex(3)}"
    admin = make_engine(given.render_as_string(hide_password=False)).execution_options(
        isolation_level="AUTOCOMMIT"
    )
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url = given.set(database=name).render_as_string(hide_password=False)
        try:
            upgrade(url)
            yield url
        finally:
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


def database_label(db: str | None) -> str:
    if db is None:
        return "SQLite (fresh file in a temporary folder)"
    return f"PostgreSQL ({make_url(db).render_as_string(hide_password=True)}, scratch database)"


# --- memory -----------------------------------------------------------------------------------


def rss_now_kib() -> int:
    """The current resident set size (Linux; 0 elsewhere)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return 0
    return pages * os.sysconf("SC_PAGE_SIZE") // 1024


def memory_line(workload: str, rss_before_kib: int, children: bool = False) -> str:
    """One "MEMORY {json}" line: peak RSS (ru_maxrss, KiB on Linux) of this process and, when
    asked, of its largest waited-for child process."""
    report: dict[str, Any] = {
        "workload": workload,
        "rss_before_workload_kib": rss_before_kib,
        "maxrss_self_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }
    if children:
        report["maxrss_children_kib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return "MEMORY " + json.dumps(report)


# --- the 300 feeds ----------------------------------------------------------------------------

SECTIONS = (
    ("home", "Home"),
    ("uk", "UK"),
    ("politics", "Politics"),
    ("world", "World"),
    ("europe", "Europe"),
    ("immigration", "Immigration"),
    ("home-affairs", "Home affairs"),
    ("opinion", "Opinion"),
    ("local", "Local"),
    ("latest", "Latest"),
)
_SUBJECTS = (
    "Home Office",
    "Small boat arrivals",
    "Asylum backlog",
    "The Rwanda scheme",
    "Net migration",
    "Care worker visas",
    "Border Force",
    "The EU migration pact",
    "Hotel accommodation for asylum seekers",
    "The Illegal Migration Act",
    "Channel crossings",
    "Student visa rules",
)
_VERBS = (
    "under pressure as",
    "criticised after",
    "to be reviewed as",
    "reaches record level while",
    "faces legal challenge as",
    "questioned by MPs as",
)
_EVENTS = (
    "figures rise for a third month",
    "charities warn of delays",
    "ministers promise a new plan",
    "councils ask for more funding",
    "a court ruling is expected",
    "France agrees new patrols",
    "a watchdog report is published",
    "the opposition demands an inquiry",
)


def outlet_domain(host: int) -> str:
    return f"outlet-{host + 1:02d}.example"


def make_feed(host: int, feed: int, feed_url: str, now: datetime) -> bytes:
    """A small, realistic RSS 2.0 document of ITEMS_PER_FEED items (deterministic)."""
    rng = random.Random(host * 1000 + feed)
    domain = outlet_domain(host)
    section, section_name = SECTIONS[feed % len(SECTIONS)]
    items = []
    for n in range(ITEMS_PER_FEED):
        title = f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_EVENTS)}"
        published = now - timedelta(minutes=37 * n + rng.randrange(30))
        slug = "-".join(title.lower().replace(",", "").split()[:8])
        link = f"https://www.{domain}/news/{section}/{published:%Y/%m/%d}/{slug}-{feed}{n:03d}"
        summary = (
            f"<p>{escape(title)}. {rng.choice(_EVENTS).capitalize()}, and "
            f"{rng.choice(_EVENTS)}, our {section_name.lower()} correspondent reports. "
            f'<a href="{link}">Read more</a></p>'
        )
        items.append(
            "    <item>\n"
            f"      <title>{escape(title)}</title>\n"
            f"      <link>{escape(link)}</link>\n"
            f'      <guid isPermaLink="false">{domain}:{section}:{feed}:{n}</guid>\n'
            f"      <pubDate>{format_datetime(published)}</pubDate>\n"
            f"      <dc:creator>Reporter {rng.randrange(1, 40)}</dc:creator>\n"
            f"      <category>{section_name}</category>\n"
            f"      <description><![CDATA[{summary}]]></description>\n"
            "    </item>\n"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/">\n'
        "  <channel>\n"
        f"    <title>Outlet {host + 1:02d} - {section_name}</title>\n"
        f"    <link>https://www.{domain}/{section}</link>\n"
        f"    <description>{section_name} news from Outlet {host + 1:02d}</description>\n"
        "    <language>en-gb</language>\n"
        f"    <lastBuildDate>{format_datetime(now)}</lastBuildDate>\n"
        f'    <atom:link href="{escape(feed_url)}" rel="self" type="application/rss+xml"/>\n'
        "    <ttl>15</ttl>\n" + "".join(items) + "  </channel>\n</rss>\n"
    ).encode()


def feed_sites(now: datetime) -> list[dict[str, Resource]]:
    """Per origin, its feeds by path (the URLs inside depend only on the path)."""
    sites = []
    for host in range(HOSTS):
        site: dict[str, Resource] = {}
        for feed in range(FEEDS_PER_HOST):
            path = f"/feeds/{SECTIONS[feed][0]}.xml"
            body = make_feed(host, feed, f"https://www.{outlet_domain(host)}{path}", now)
            etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
            site[path] = (body, "application/rss+xml; charset=utf-8", etag)
        sites.append(site)
    return sites


def sources_yaml(bases: Sequence[str], paths: Sequence[Sequence[str]]) -> str:
    segments = list(default_taxonomy().segments)
    lines = ["outlets:"]
    for host, (base, site) in enumerate(zip(bases, paths, strict=True)):
        lines += [
            f"  - slug: outlet-{host + 1:02d}",
            f"    name: Outlet {host + 1:02d}",
            f"    segment: {segments[host % len(segments)]}",
            "    country: GB",
            "    language: en",
            f"    domains: [{outlet_domain(host)}]",
            "    feeds:",
        ]
        for feed, path in enumerate(site):
            lines += [f"      - url: {base}{path}", f"        name: {SECTIONS[feed][1]}"]
    return "\n".join(lines) + "\n"


# --- the benchmark ----------------------------------------------------------------------------


def _cycle(engine: Any, sources: Any, network: Network) -> tuple[float, IngestReport]:
    started = time.perf_counter()
    report = run_fetch(
        engine, sources, network, datetime.now(UTC), policy=FeedPolicy(), everything=True
    )
    return time.perf_counter() - started, report


def _summary(report: IngestReport) -> str:
    return (
        f"{report.count(FeedStatus.OK)} ok, {report.count(FeedStatus.NOT_MODIFIED)} not "
        f"modified, {report.count(FeedStatus.FAILED)} failed, {report.new_items} new items"
    )


def run(db: str | None, cycles: int, report_memory: bool) -> int:
    feeds = HOSTS * FEEDS_PER_HOST
    now = datetime.now(UTC)
    limits = FetchLimits()
    network = Network(limits, CONTACT)
    with LoopbackSites(partial(feed_sites, now)) as servers, scratch_database(db) as url:
        text = sources_yaml(servers.bases, servers.paths)
        sources = parse_sources(text, "benchmark sources", default_taxonomy())
        engine = make_engine(url)
        try:
            with session_scope(engine) as session:
                sync_sources(session, sources)
            rss_before = rss_now_kib()
            cold_seconds, cold = _cycle(engine, sources, network)
            if report_memory:
                print(memory_line(f"cold cycle over {feeds} feeds", rss_before))
                return 0 if cold.count(FeedStatus.OK) == feeds else 1
            cold_served = servers.stats()
            steady: list[tuple[float, IngestReport]] = [
                _cycle(engine, sources, network) for _ in range(cycles)
            ]
            steady_served = servers.stats() - cold_served
            with session_scope(engine, write=False) as session:
                stored = session.scalar(select(func.count()).select_from(Item))
        finally:
            engine.dispose()

    print(
        f"ingest steady state: {feeds} feeds on {HOSTS} loopback origins ({FEEDS_PER_HOST} "
        f"feeds each, {ITEMS_PER_FEED} items per feed, about "
        f"{len(make_feed(0, 0, 'https://www.outlet-01.example/feeds/home.xml', now)) / 1000:.0f}"
        f" KB per feed), {database_label(db)}, {os.cpu_count()} cores"
    )
    print(f"limits: {limits} (the project's defaults)")
    floor = (FEEDS_PER_HOST - 1) * limits.host_delay
    print(
        f"politeness floor: {FEEDS_PER_HOST} feeds per origin started "
        f"{limits.host_delay:g} s apart = {floor:g} s per cycle at least"
    )
    print(f"cold cycle: {cold_seconds:.2f} s ({_summary(cold)}; {stored} items stored)")
    for number, (seconds, report) in enumerate(steady, 1):
        print(f"steady-state cycle {number}: {seconds:.2f} s ({_summary(report)})")
    times = [seconds for seconds, _ in steady]
    print(
        f"steady-state median: {statistics.median(times):.2f} s per cycle over {cycles} "
        f"cycle(s) of {feeds} feeds"
    )
    total = cold_served + steady_served
    steady_total = sum(steady_served.values())
    print(
        f"requests served: {sum(total.values())} (cold cycle {_by_status(cold_served)}; "
        f"steady-state cycles {_by_status(steady_served)})"
    )
    share = steady_served[304] / steady_total if steady_total else 0.0
    print(f"share answered 304 in the steady-state cycles: {share:.1%}")
    ok = cold.count(FeedStatus.OK) == feeds and all(
        report.count(FeedStatus.NOT_MODIFIED) == feeds for _, report in steady
    )
    if not ok:
        print("unexpected outcome: some feeds failed or were not 304 (see above)", file=sys.stderr)
    return 0 if ok else 1


def _by_status(counts: Counter[int]) -> str:
    parts = ", ".join(f"{n} x {status}" for status, n in sorted(counts.items()))
    return f"{sum(counts.values())}: {parts or 'none'}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Time steady-state ingest cycles over 300 feeds that answer 304.",
        epilog="Run from the repository root: .venv/bin/python benchmarks/ingest_steady_state.py",
    )
    parser.add_argument(
        "--db",
        metavar="URL",
        help="a postgresql:// URL: create a scratch database there (dropped afterwards) "
        "instead of a temporary SQLite file",
    )
    parser.add_argument(
        "--cycles", type=int, default=3, help="steady-state cycles to time (1-20, default 3)"
    )
    parser.add_argument(
        "--report-memory",
        action="store_true",
        help="run only the cold cycle and print a MEMORY line with the peak RSS",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.cycles <= 20:
        parser.error("--cycles must be between 1 and 20")
    if args.db is not None and make_url(args.db).get_backend_name() != "postgresql":
        parser.error("--db takes a postgresql:// URL (SQLite is the default)")
    try:
        return run(args.db, args.cycles, args.report_memory)
    except (OperationalError, DatabaseError) as e:  # the --db server is down, refuses us, ...
        reason = str(getattr(e, "orig", None) or e).strip().splitlines()[0]
        print(f"ingest_steady_state: database unavailable: {reason}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
