"""Cold page ingest: full-text extraction end to end, against trafilatura alone.

Run: .venv/bin/python benchmarks/ingest_cold_pages.py   (from the repository root; --runs N
for N timed runs of each, --workers N for the process count)

What it measures: the design's quality bar "cold ingest with full-text extraction runs within
1.3x of the time trafilatura alone needs for the same pages on the same cores". On what: every
article page of the shared corpus, ../shared/corpus/articles/*.html and *.html.gz (read in
place, never copied; the script exits 2 when they are absent).

How, end to end: the pages (.gz ones decompressed) are served by a threaded HTTP server on
127.0.0.1 in a child process. A fresh SQLite database in a temporary folder is migrated and
given one items row per page (direct inserts with the required columns, the page's loopback
URL as the item's URL). Then briefing.ingest.stage.run_fetch_pages(engine, network, item_ids,
workers=2) is timed: it starts its process pool, fetches every page over HTTP, extracts it in
the pool and writes the text back to the database. FetchLimits(host_delay=0), the defaults
otherwise: all pages share one loopback origin, and politeness towards ourselves is not what
is measured. Baseline: the same pages, already in memory as bytes, given to
briefing.ingest.extract.extract_article (trafilatura.extract with the project's options) in a
fresh ProcessPoolExecutor(max_workers=2) with the spawn start method, as run_fetch_pages uses;
no HTTP, no database. Both timings include starting their pool. Both use the same URLs.

Before timing, one untimed pool runs two pages so that the operating system's file cache holds
Python and trafilatura for both. Then the two are run alternately (end to end first), --runs
times each; it prints every run, the medians, the ratio of the medians (end to end / baseline;
the target is at most 1.3) and the page count. The script imports its dependencies inside
functions so that the pool workers, which re-import this module under spawn, load no more
than extract_article needs in either measurement.

With --report-memory it runs the end-to-end ingest once (no baseline) and prints one
"MEMORY {json}" line with the peak RSS of this process and of its largest worker process
(benchmarks/ingest_memory.py uses this). The loopback server, the scratch database and the
MEMORY line come from benchmarks/ingest_steady_state.py (one implementation).
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ARTICLES = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "articles"
PAGE_TYPE = "text/html; charset=utf-8"


def page_files() -> list[Path]:
    return sorted([*ARTICLES.glob("*.html"), *ARTICLES.glob("*.html.gz")])


def load_pages() -> list[bytes]:
    """The HTML bytes of every corpus page (.gz ones decompressed), in page_files() order."""
    return [
        gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        for path in page_files()
    ]


def page_path(file: Path) -> str:
    return "/articles/" + file.name.removesuffix(".gz")


def page_site() -> list[dict[str, tuple[bytes, str, None]]]:
    """The loopback server's one site (built in the server's process)."""
    pages = zip(page_files(), load_pages(), strict=True)
    return [{page_path(file): (body, PAGE_TYPE, None) for file, body in pages}]


def _spawn_pool(workers: int) -> Any:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))


def baseline(bodies: Sequence[bytes], urls: Sequence[str], workers: int) -> tuple[float, int]:
    """Seconds for extract_article over the in-memory pages in a fresh pool; pages extracted."""
    from briefing.ingest.extract import extract_article

    started = time.perf_counter()
    with _spawn_pool(workers) as pool:
        articles = list(pool.map(extract_article, bodies, urls))
    seconds = time.perf_counter() - started
    return seconds, sum(article is not None for article in articles)


def warm_up(bodies: Sequence[bytes], urls: Sequence[str], workers: int) -> None:
    baseline(bodies[:workers], urls[:workers], workers)


def end_to_end(urls: Sequence[str], workers: int, memory: bool = False) -> tuple[float, Any, int]:
    """Seconds for run_fetch_pages over one fresh database holding one item per URL; its
    report; the items that got their full text."""
    from datetime import UTC, datetime

    from ingest_steady_state import CONTACT, memory_line, rss_now_kib, scratch_database
    from sqlalchemy import func, select

    from briefing.db.engine import make_engine, session_scope
    from briefing.db.models import Item
    from briefing.ingest.fetch import FetchLimits
    from briefing.ingest.normalize import canonical_url, content_hash, url_hash
    from briefing.ingest.stage import Network, run_fetch_pages

    network = Network(FetchLimits(host_delay=0), CONTACT)
    now = datetime.now(UTC)
    with scratch_database(None) as db:
        engine = make_engine(db)
        try:
            with session_scope(engine) as session:
                items = [
                    Item(
                        url=url,
                        canonical_url=canonical_url(url),
                        url_hash=url_hash(url),
                        title=url.rsplit("/", 1)[-1],
                        summary="",
                        content_hash=content_hash(url, ""),
                        published_at=now,
                        fetched_at=now,
                    )
                    for url in urls
                ]
                session.add_all(items)
                session.flush()
                item_ids = [item.id for item in items]
            rss_before = rss_now_kib()
            started = time.perf_counter()
            report = run_fetch_pages(engine, network, item_ids, workers=workers)
            seconds = time.perf_counter() - started
            if memory:
                print(memory_line(f"cold ingest of {len(urls)} corpus pages", rss_before, True))
            with session_scope(engine, write=False) as session:
                stored = session.scalar(
                    select(func.count()).select_from(Item).where(Item.full_text.is_not(None))
                )
        finally:
            engine.dispose()
    return seconds, report, stored or 0


def run(runs: int, workers: int, report_memory: bool) -> int:
    from ingest_steady_state import LoopbackSites

    from briefing.ingest.fetch import FetchLimits

    files = page_files()
    if not files:
        print(
            f"ingest_cold_pages: no corpus pages found: expected {ARTICLES}/*.html or *.html.gz "
            "(the shared corpus sits next to the repository, in ../shared/corpus)",
            file=sys.stderr,
        )
        return 2
    with LoopbackSites(page_site) as servers:
        urls = [servers.bases[0] + page_path(file) for file in files]
        if report_memory:  # the pages stay out of this process: only the ingest's memory counts
            _, report, _ = end_to_end(urls, workers, memory=True)
            return 0 if report.extracted + report.failed == len(files) else 1
        bodies = load_pages()
        warm_up(bodies, urls, workers)
        e2e: list[float] = []
        alone: list[float] = []
        for number in range(1, runs + 1):
            seconds, report, stored = end_to_end(urls, workers)
            e2e.append(seconds)
            print(
                f"run {number} end to end: {seconds:.2f} s ({report.extracted} extracted, "
                f"{report.failed} without text; {stored} items got their full text)",
                flush=True,
            )
            seconds, extracted = baseline(bodies, urls, workers)
            alone.append(seconds)
            print(
                f"run {number} trafilatura alone: {seconds:.2f} s ({extracted} extracted)",
                flush=True,
            )
        served = servers.stats()

    megabytes = sum(len(body) for body in bodies) / 1e6
    e2e_median, alone_median = statistics.median(e2e), statistics.median(alone)
    ratio = e2e_median / alone_median
    print(
        f"pages: {len(files)} from {ARTICLES} ({megabytes:.1f} MB of HTML after "
        f"decompression); {os.cpu_count()} cores, {workers} worker processes in both"
    )
    print(
        f"end to end: run_fetch_pages, SQLite, limits {FetchLimits(host_delay=0)} "
        "(host_delay 0: every page comes from one loopback origin, and politeness towards "
        "ourselves is not what is measured)"
    )
    print(
        "baseline: extract_article on the pages in memory, ProcessPoolExecutor(max_workers="
        f"{workers}, spawn); no HTTP, no database; both include starting their pool"
    )
    print(f"end to end median: {e2e_median:.2f} s  ({', '.join(f'{s:.2f}' for s in e2e)})")
    print(
        f"trafilatura alone median: {alone_median:.2f} s  ({', '.join(f'{s:.2f}' for s in alone)})"
    )
    verdict = "within" if ratio <= 1.3 else "over"
    print(f"ratio end to end / trafilatura alone: {ratio:.2f} ({verdict} the 1.3 target)")
    print(f"requests served: {sum(served.values())} ({dict(sorted(served.items()))})")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Time cold full-text ingest of the corpus pages against trafilatura alone.",
        epilog="Run from the repository root: .venv/bin/python benchmarks/ingest_cold_pages.py",
    )
    parser.add_argument(
        "--runs", type=int, default=3, help="timed runs of each measurement (1-10, default 3)"
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="extraction processes in both (1-8, default 2)"
    )
    parser.add_argument(
        "--report-memory",
        action="store_true",
        help="run the end-to-end ingest once and print a MEMORY line with the peak RSS",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.runs <= 10:
        parser.error("--runs must be between 1 and 10")
    if not 1 <= args.workers <= 8:
        parser.error("--workers must be between 1 and 8")
    return run(args.runs, args.workers, args.report_memory)


if __name__ == "__main__":
    sys.exit(main())
