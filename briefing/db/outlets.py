"""Outlets and feeds from sources.yaml into the database (I/O)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from briefing.config.sources import Outlet as OutletSource
from briefing.config.sources import Sources
from briefing.db.models import Feed, Outlet


@dataclass(frozen=True, slots=True)
class SyncReport:
    outlets_added: int
    outlets_updated: int
    feeds_added: int
    feeds_deactivated: int


def sync_sources(session: Session, sources: Sources) -> SyncReport:
    """Make the database match sources.yaml; feeds that left the file are deactivated, not
    deleted, so their items and history stay."""
    outlets = {o.slug: o for o in session.scalars(select(Outlet))}
    feeds = {f.url: f for f in session.scalars(select(Feed))}
    added = updated = feeds_added = 0
    wanted_feeds: set[str] = set()
    for source in sources.all:
        row = outlets.get(source.slug)
        if row is None:
            row = Outlet(slug=source.slug)
            session.add(row)
            added += 1
        else:
            updated += 1
        row.name = source.name
        row.active = True
        if isinstance(source, OutletSource):
            row.is_aggregator = False
            row.segment, row.country = source.segment, source.country
            row.language, row.domains = source.language, list(source.domains)
            row.paywalled = source.paywall
        else:
            row.is_aggregator, row.segment, row.domains = True, None, []
            row.paywalled = False
        for spec in source.feeds:
            wanted_feeds.add(spec.url)
            feed = feeds.get(spec.url)
            if feed is None:
                feed = Feed(url=spec.url, outlet=row, name=spec.name)
                session.add(feed)
                feeds_added += 1
            feed.outlet, feed.name = row, spec.name
            feed.every_seconds, feed.active = spec.every_seconds, True
    deactivated = 0
    for url, feed in feeds.items():
        if url not in wanted_feeds and feed.active:
            feed.active = False
            deactivated += 1
    session.flush()
    return SyncReport(added, updated, feeds_added, deactivated)
