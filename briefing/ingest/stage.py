"""The ingest stage (I/O shell): due feeds -> fetch -> parse -> items in the database, and
full text for candidate items.

Fetching is concurrent (asyncio, one polite client); parsing and database writes run in a
worker thread as each download completes, one transaction per feed, so one bad feed never
delays or rolls back the others. Extraction runs in a process pool sized to the cores.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

import httpx
from sqlalchemy import Engine, or_, select
from sqlalchemy.orm import Session

from briefing.config.sources import Sources
from briefing.db.engine import session_scope
from briefing.db.models import Feed, FetchLog, Item, ItemFeed, Outlet
from briefing.errors import SourceError
from briefing.ingest.extract import ExtractedArticle, extract_article
from briefing.ingest.fetch import PAGE_MAX_BYTES, Fetcher, FetchLimits, FetchResult, RetryLaterError
from briefing.ingest.normalize import canonical_url, content_hash, domain_of, url_hash
from briefing.ingest.parse import ParsedItem, parse_feed
from briefing.ingest.schedule import FeedPolicy, next_interval, retry_delay, wants_unconditional

EXTRACT_TIMEOUT = 60.0  # seconds for one page in the pool
WORKER_TASKS = 100  # pages before a worker process is replaced (trafilatura's caches grow)


class FeedStatus(StrEnum):
    OK = "ok"
    NOT_MODIFIED = "not_modified"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class FeedOutcome:
    feed_url: str
    status: FeedStatus
    new: int = 0
    updated: int = 0
    error: str | None = None


@dataclass(frozen=True, slots=True)
class IngestReport:
    outcomes: tuple[FeedOutcome, ...]

    def count(self, status: FeedStatus) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def new_items(self) -> int:
        return sum(o.new for o in self.outcomes)

    @property
    def updated_items(self) -> int:
        return sum(o.updated for o in self.outcomes)


@dataclass(frozen=True, slots=True)
class PagesReport:
    extracted: int = 0
    failed: int = 0


@dataclass(frozen=True, slots=True)
class Network:
    """How ingest reaches the web: politeness limits, contact address, and a transport seam
    (the demo and the tests route requests to a loopback server through it)."""

    limits: FetchLimits = field(default_factory=FetchLimits)
    contact_email: str = ""
    transport: httpx.AsyncBaseTransport | None = None

    def fetcher(self) -> Fetcher:
        return Fetcher(self.contact_email, self.limits, self.transport)


@dataclass(frozen=True, slots=True)
class _FeedToFetch:
    id: int
    url: str
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    interval: timedelta
    failures: int
    outlet_id: int
    is_aggregator: bool
    unconditional: bool


ProgressCallback = Callable[[FeedOutcome, int, int], None]  # outcome, done, total


def run_fetch(
    engine: Engine,
    sources: Sources,
    network: Network,
    now: datetime,
    *,
    policy: FeedPolicy,
    everything: bool = False,
    only: str | None = None,
    on_feed: ProgressCallback | None = None,
) -> IngestReport:
    """One ingest cycle over the due feeds (or all of them, or `only` one feed URL or outlet
    slug); one bad feed never stops the rest."""
    feeds = _feeds_to_fetch(engine, now, policy, everything, only)
    return asyncio.run(_cycle(engine, sources, network, feeds, now, policy, on_feed))


def _feeds_to_fetch(
    engine: Engine, now: datetime, policy: FeedPolicy, everything: bool, only: str | None
) -> list[_FeedToFetch]:
    with session_scope(engine, write=False) as session:
        query = select(Feed, Outlet).join(Outlet).where(Feed.active).order_by(Feed.id)
        if only:
            query = query.where(or_(Feed.url == only, Outlet.slug == only))
        elif not everything:
            query = query.where(or_(Feed.next_fetch_at.is_(None), Feed.next_fetch_at <= now))
        return [
            _FeedToFetch(
                f.id,
                f.url,
                f.etag,
                f.last_modified,
                f.body_hash,
                timedelta(seconds=f.interval_seconds or f.every_seconds or 0)
                or policy.default_interval,
                f.consecutive_failures,
                o.id,
                o.is_aggregator,
                wants_unconditional(f.last_full_fetch_at, now, policy),
            )
            for f, o in session.execute(query)
        ]


async def _cycle(
    engine: Engine,
    sources: Sources,
    network: Network,
    feeds: list[_FeedToFetch],
    now: datetime,
    policy: FeedPolicy,
    on_feed: ProgressCallback | None,
) -> IngestReport:
    async with network.fetcher() as fetcher:

        async def download(feed: _FeedToFetch) -> tuple[_FeedToFetch, FetchResult | SourceError]:
            validators = (None, None) if feed.unconditional else (feed.etag, feed.last_modified)
            try:
                return feed, await fetcher.fetch(
                    feed.url, etag=validators[0], last_modified=validators[1]
                )
            except SourceError as e:
                return feed, e

        outcomes: dict[int, FeedOutcome] = {}
        for download_done in asyncio.as_completed([download(feed) for feed in feeds]):
            feed, result = await download_done
            outcome = await asyncio.to_thread(_record, engine, sources, feed, result, now, policy)
            outcomes[feed.id] = outcome
            if on_feed:
                on_feed(outcome, len(outcomes), len(feeds))
    return IngestReport(tuple(outcomes[feed.id] for feed in feeds))


def _record(
    engine: Engine,
    sources: Sources,
    feed: _FeedToFetch,
    result: FetchResult | SourceError,
    now: datetime,
    policy: FeedPolicy,
) -> FeedOutcome:
    """Parse and store one feed's download in its own transaction."""
    try:
        if isinstance(result, SourceError):
            raise result
        body_hash = hashlib.sha256(result.body).hexdigest() if result.body else feed.body_hash
        unchanged = result.not_modified or body_hash == feed.body_hash
        items = [] if unchanged else parse_feed(result.body, result.url, result.content_type, now)
    except SourceError as e:
        return _record_failure(engine, feed, e, now, policy)

    status = FeedStatus.NOT_MODIFIED if unchanged else FeedStatus.OK
    with session_scope(engine) as session:
        new, updated = _save_items(session, sources, feed, items, now)
        row = session.get_one(Feed, feed.id)
        interval = next_interval(feed.interval, new, policy)
        row.etag = result.etag or row.etag  # a 304 may omit them
        row.last_modified = result.last_modified or row.last_modified
        row.body_hash = body_hash
        row.last_status, row.last_error, row.last_fetched_at = status, None, now
        row.last_http_status, row.last_latency_ms = result.status, result.elapsed_ms
        if feed.unconditional:
            row.last_full_fetch_at = now
        row.consecutive_failures = 0
        row.interval_seconds = int(interval.total_seconds())
        row.next_fetch_at = now + interval
        if new:
            row.last_new_item_at = now
        session.add(
            FetchLog(
                feed_id=feed.id,
                started_at=now,
                duration_ms=result.elapsed_ms,
                status=status,
                http_status=result.status,
                bytes=len(result.body),
                items_seen=len(items),
                items_new=new,
                items_updated=updated,
            )
        )
    return FeedOutcome(feed.url, status, new=new, updated=updated)


def _record_failure(
    engine: Engine, feed: _FeedToFetch, error: SourceError, now: datetime, policy: FeedPolicy
) -> FeedOutcome:
    """The feed is slowed down, never disabled; its stored items are untouched."""
    failures = feed.failures + 1
    delay = retry_delay(feed.interval, failures, policy)
    if isinstance(error, RetryLaterError) and error.retry_after is not None:
        delay = max(delay, error.retry_after)  # the server said when: never sooner
    with session_scope(engine) as session:
        row = session.get_one(Feed, feed.id)
        row.consecutive_failures = failures
        row.last_status, row.last_error, row.last_fetched_at = FeedStatus.FAILED, str(error), now
        row.next_fetch_at = now + delay
        session.add(
            FetchLog(
                feed_id=feed.id,
                started_at=now,
                duration_ms=0,
                status=FeedStatus.FAILED,
                error=str(error)[:2000],
            )
        )
    return FeedOutcome(feed.url, FeedStatus.FAILED, error=str(error))


def _save_items(
    session: Session, sources: Sources, feed: _FeedToFetch, items: list[ParsedItem], now: datetime
) -> tuple[int, int]:
    """Insert new items, update changed ones, link all of them to the feed: a few queries
    per feed, not per item."""
    if not items:
        return 0, 0
    keys = [url_hash(parsed.url) for parsed in items]
    known = {i.url_hash: i for i in session.scalars(select(Item).where(Item.url_hash.in_(keys)))}
    # A GUID names an article across URL changes, unless the feed reuses it (broken feeds do).
    counts = Counter(parsed.guid for parsed in items if parsed.guid)
    trusted = {guid for guid, n in counts.items() if n == 1}
    wanted = {p.guid for p, key in zip(items, keys, strict=True) if key not in known} & trusted
    by_guid = (
        {
            i.guid: i
            for i in session.scalars(
                select(Item)
                .join(ItemFeed)
                .where(ItemFeed.feed_id == feed.id, Item.guid.in_(wanted))
            )
        }
        if wanted
        else {}
    )
    outlet_ids = (
        {slug: id_ for slug, id_ in session.execute(select(Outlet.slug, Outlet.id))}
        if feed.is_aggregator
        else {}
    )
    seen: dict[str, Item] = {}
    new = updated = 0
    for parsed, key in zip(items, keys, strict=True):
        item = seen.get(key) or known.get(key)
        if item is None and parsed.guid in by_guid:
            item = by_guid.pop(parsed.guid)  # the article moved: follow it
            item.url, item.url_hash = parsed.url, key
            item.canonical_url = canonical_url(parsed.url)
        digest = content_hash(parsed.title, parsed.summary)
        if item is None:
            item = _new_item(sources, feed, parsed, key, digest, outlet_ids, now)
            session.add(item)
            new += 1
        elif item.content_hash != digest and not feed.is_aggregator and key not in seen:
            # A corrected headline updates the item, never duplicates it; an aggregator's
            # copy of a publisher's item never overwrites the publisher's own words.
            item.title, item.summary, item.content_hash = parsed.title, parsed.summary, digest
            updated += 1
        seen[key] = item
    session.flush()  # the new rows get their ids, inserted together
    linked = set(
        session.scalars(
            select(ItemFeed.item_id).where(
                ItemFeed.feed_id == feed.id, ItemFeed.item_id.in_([i.id for i in seen.values()])
            )
        )
    )
    session.add_all(
        ItemFeed(item_id=item.id, feed_id=feed.id, first_seen_at=now)
        for item in {i.id: i for i in seen.values()}.values()
        if item.id not in linked
    )
    return new, updated


def _new_item(
    sources: Sources,
    feed: _FeedToFetch,
    parsed: ParsedItem,
    key: str,
    digest: str,
    outlet_ids: dict[str, int],
    now: datetime,
) -> Item:
    outlet_id: int | None = feed.outlet_id
    publisher_url = parsed.url
    if feed.is_aggregator:  # the real publisher: <source url=...>, else the link's domain
        publisher_url = parsed.source_url or parsed.url
        outlet = sources.outlet_for_url(publisher_url) or sources.outlet_for_url(parsed.url)
        outlet_id = outlet_ids.get(outlet.slug) if outlet else None
    return Item(
        feed_id=feed.id,
        outlet_id=outlet_id,
        publisher_domain=domain_of(publisher_url),
        publisher_name=parsed.source_name or "",
        url=parsed.url,
        canonical_url=canonical_url(parsed.url),
        url_hash=key,
        guid=parsed.guid,
        title=parsed.title,
        summary=parsed.summary,
        author=parsed.author,
        published_at=parsed.published_at,
        published_estimated=parsed.published_estimated,
        fetched_at=now,
        content_hash=digest,
    )


def run_fetch_pages(
    engine: Engine, network: Network, item_ids: Sequence[int], workers: int | None = None
) -> PagesReport:
    """Full text for the given items, fetched politely and extracted in a process pool; a
    page that fails or holds no article leaves the feed summary in place."""
    with session_scope(engine, write=False) as session:
        todo = session.execute(
            select(Item.id, Item.url).where(Item.id.in_(item_ids), Item.full_text.is_(None))
        ).all()
    if not todo:
        return PagesReport()
    workers = min(workers or os.cpu_count() or 1, len(todo))
    return asyncio.run(_pages(engine, network, list(todo), workers))


async def _pages(
    engine: Engine, network: Network, todo: list[tuple[int, str]], workers: int
) -> PagesReport:
    loop = asyncio.get_running_loop()
    extracted = 0
    # Pages in hand at once (bounds memory: a page may be 10 MB), and pages being extracted
    # at once (one per worker, so the timeout measures extraction, not waiting in a queue).
    in_hand = asyncio.Semaphore(workers * 4)
    extracting = asyncio.Semaphore(workers)
    with ProcessPoolExecutor(max_workers=workers, max_tasks_per_child=WORKER_TASKS) as pool:
        async with network.fetcher() as fetcher:

            async def one(item_id: int, url: str) -> bool:
                article: ExtractedArticle | None = None
                try:
                    async with in_hand:
                        page = await fetcher.fetch(url, max_bytes=PAGE_MAX_BYTES)
                        async with extracting:
                            article = await asyncio.wait_for(
                                loop.run_in_executor(pool, extract_article, page.body, page.url),
                                EXTRACT_TIMEOUT,
                            )
                    status = "ok" if article else "empty"
                except SourceError:
                    status = "failed"
                except TimeoutError:
                    status = "timeout"
                except BrokenProcessPool:  # a worker died (out of memory, a native crash)
                    status = "crashed"
                await asyncio.to_thread(_save_page, engine, item_id, article, status)
                return article is not None

            results = await asyncio.gather(*(one(item_id, url) for item_id, url in todo))
            extracted = sum(results)
    return PagesReport(extracted, len(todo) - extracted)


def _save_page(engine: Engine, item_id: int, article: ExtractedArticle | None, status: str) -> None:
    with session_scope(engine) as session:
        item = session.get_one(Item, item_id)
        item.extract_status = status
        if article is None:
            return
        item.full_text, item.language = article.text, article.language or item.language
        item.author = item.author or article.author
        item.image_url = item.image_url or article.image
        if item.published_estimated and article.published_at is not None:
            item.published_at, item.published_estimated = article.published_at, False
