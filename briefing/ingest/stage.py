"""The ingest stage (I/O shell): due feeds -> fetch -> parse -> items in the database."""

from __future__ import annotations

from collections.abc import Callable
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
from briefing.ingest.extract import extract_article
from briefing.ingest.fetch import PAGE_MAX_BYTES, fetch
from briefing.ingest.normalize import canonical_url, content_hash, domain_of, sha256_hex
from briefing.ingest.parse import ParsedItem, parse_feed

MAX_BACKOFF = timedelta(hours=6)


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
    errors: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class _FeedToFetch:
    id: int
    url: str
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    every: timedelta
    failures: int
    outlet_id: int
    is_aggregator: bool


def run_fetch(
    engine: Engine,
    sources: Sources,
    client: httpx.Client,
    now: datetime,
    *,
    default_every: timedelta,
    everything: bool = False,
    only: str | None = None,
    on_feed: Callable[[FeedOutcome], None] | None = None,
) -> IngestReport:
    """One ingest cycle over the due feeds (or all of them, or `only` one feed URL or outlet
    slug); one bad feed never stops the rest."""
    with session_scope(engine) as session:
        query = select(Feed, Outlet).join(Outlet).where(Feed.active).order_by(Feed.id)
        if only:
            query = query.where(or_(Feed.url == only, Outlet.slug == only))
        elif not everything:
            query = query.where(or_(Feed.next_fetch_at.is_(None), Feed.next_fetch_at <= now))
        feeds = [
            _FeedToFetch(
                f.id,
                f.url,
                f.etag,
                f.last_modified,
                f.body_hash,
                timedelta(seconds=f.every_seconds) if f.every_seconds else default_every,
                f.consecutive_failures,
                o.id,
                o.is_aggregator,
            )
            for f, o in session.execute(query)
        ]
    outcomes = []
    for feed in feeds:
        outcome = _ingest_feed(engine, sources, client, feed, now)
        outcomes.append(outcome)
        if on_feed:
            on_feed(outcome)
    return IngestReport(tuple(outcomes))


def _ingest_feed(
    engine: Engine, sources: Sources, client: httpx.Client, feed: _FeedToFetch, now: datetime
) -> FeedOutcome:
    started = now
    try:
        result = fetch(client, feed.url, etag=feed.etag, last_modified=feed.last_modified)
        body_hash = sha256_hex(result.body.decode("latin-1")) if result.body else feed.body_hash
        unchanged = result.not_modified or body_hash == feed.body_hash
        items = [] if unchanged else parse_feed(result.body, result.url, result.content_type, now)
    except SourceError as e:
        with session_scope(engine) as session:
            row = session.get_one(Feed, feed.id)
            row.consecutive_failures += 1
            row.last_status, row.last_error, row.last_fetched_at = FeedStatus.FAILED, str(e), now
            row.next_fetch_at = now + min(feed.every * 2**row.consecutive_failures, MAX_BACKOFF)
            session.add(
                FetchLog(
                    feed_id=feed.id,
                    started_at=started,
                    duration_ms=0,
                    status=FeedStatus.FAILED,
                    error=str(e),
                )
            )
        return FeedOutcome(feed.url, FeedStatus.FAILED, error=str(e))

    status = FeedStatus.NOT_MODIFIED if unchanged else FeedStatus.OK
    with session_scope(engine) as session:
        new, updated = _save_items(session, sources, feed, items, now)
        row = session.get_one(Feed, feed.id)
        row.etag, row.last_modified, row.body_hash = result.etag, result.last_modified, body_hash
        row.last_status, row.last_error, row.last_fetched_at = status, None, now
        row.consecutive_failures = 0
        row.next_fetch_at = now + feed.every
        if new:
            row.last_new_item_at = now
        session.add(
            FetchLog(
                feed_id=feed.id,
                started_at=started,
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


def _save_items(
    session: Session, sources: Sources, feed: _FeedToFetch, items: list[ParsedItem], now: datetime
) -> tuple[int, int]:
    outlet_ids = {slug: id_ for slug, id_ in session.execute(select(Outlet.slug, Outlet.id))}
    new = updated = 0
    for parsed in items:
        canonical = canonical_url(parsed.url)
        key = sha256_hex(canonical)
        item = session.scalar(select(Item).where(Item.url_hash == key))
        digest = content_hash(parsed.title, parsed.summary)
        if item is None:
            publisher_url = parsed.source_url or parsed.url if feed.is_aggregator else parsed.url
            outlet = sources.outlet_for_url(publisher_url) if feed.is_aggregator else None
            item = Item(
                feed_id=feed.id,
                outlet_id=outlet_ids.get(outlet.slug)
                if outlet
                else (None if feed.is_aggregator else feed.outlet_id),
                publisher_domain=domain_of(publisher_url),
                publisher_name=parsed.source_name or "",
                url=parsed.url,
                canonical_url=canonical,
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
            session.add(item)
            session.flush()
            new += 1
        elif item.content_hash != digest and not feed.is_aggregator:
            # A corrected headline updates the item, never duplicates it; an aggregator's
            # copy of a publisher's item never overwrites the publisher's own words.
            item.title, item.summary, item.content_hash = parsed.title, parsed.summary, digest
            updated += 1
        if session.get(ItemFeed, (item.id, feed.id)) is None:
            session.add(ItemFeed(item_id=item.id, feed_id=feed.id, first_seen_at=now))
    return new, updated


def run_fetch_pages(engine: Engine, client: httpx.Client, item_ids: list[int]) -> PagesReport:
    """Full text for the given items; a page that fails leaves the feed summary in place."""
    with session_scope(engine) as session:
        todo = session.execute(
            select(Item.id, Item.url).where(Item.id.in_(item_ids), Item.full_text.is_(None))
        ).all()
    extracted, errors = 0, []
    for item_id, url in todo:
        try:
            result = fetch(client, url, max_bytes=PAGE_MAX_BYTES)
            article = extract_article(result.body, result.url)
            status = "ok" if article else "empty"
        except SourceError as e:
            article, status = None, "failed"
            errors.append(str(e))
        with session_scope(engine) as session:
            item = session.get_one(Item, item_id)
            item.extract_status = status
            if article:
                item.full_text, item.language = article.text, article.language
                item.author = item.author or article.author
                extracted += 1
    return PagesReport(extracted, len(todo) - extracted, tuple(errors))
