"""Outlets from the web pages (I/O): a segment for a publisher nobody had classified, and an
admin's corrections to outlets and feeds. Each change goes to the audit log."""

from __future__ import annotations

import re

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from briefing.config.taxonomy import Taxonomy
from briefing.db.models import Feed, Item, ItemLabel, Outlet
from briefing.db.users import Account, audit
from briefing.errors import UsageError


def _segment(taxonomy: Taxonomy, segment: str) -> str:
    if segment not in taxonomy.segments:
        raise UsageError(f"not a segment: {segment!r}")
    return segment


def assign_segment(
    session: Session, user: Account, taxonomy: Taxonomy, domain: str, segment: str
) -> Outlet:
    """A publisher seen only through aggregators becomes an outlet with a segment; its items,
    past and future, count in that segment."""
    segment = _segment(taxonomy, segment)
    if not re.fullmatch(r"[a-z0-9.-]+\.[a-z]{2,}", domain):
        raise UsageError(f"not a domain: {domain!r}")
    slug = domain.replace(".", "-")[:64]
    outlet = session.scalar(select(Outlet).where(Outlet.slug == slug))
    if outlet is None:
        name = session.scalar(
            select(Item.publisher_name).where(Item.publisher_domain == domain).limit(1)
        )
        outlet = Outlet(slug=slug, name=name or domain, domains=[domain])
        session.add(outlet)
    outlet.segment = segment
    session.flush()
    session.execute(
        update(Item)
        .where(Item.publisher_domain == domain, Item.outlet_id.is_(None))
        .values(outlet_id=outlet.id)
    )
    session.execute(
        update(ItemLabel)
        .where(ItemLabel.item_id.in_(select(Item.id).where(Item.outlet_id == outlet.id)))
        .values(segment=segment)
    )
    audit(session, user.id, "assign_segment", domain, {"segment": segment})
    return outlet


def edit_outlet(
    session: Session, user: Account, taxonomy: Taxonomy, slug: str, segment: str, paywalled: bool
) -> None:
    outlet = session.scalar(select(Outlet).where(Outlet.slug == slug))
    if outlet is None:
        raise UsageError(f"no outlet {slug!r}")
    outlet.segment, outlet.paywalled = _segment(taxonomy, segment), paywalled
    audit(session, user.id, "edit_outlet", slug, {"segment": segment, "paywalled": paywalled})


def set_feed_active(session: Session, user: Account, feed_id: int, active: bool) -> None:
    feed = session.get(Feed, feed_id)
    if feed is None:
        raise UsageError("no such feed")
    feed.active = active
    audit(session, user.id, "feed_on" if active else "feed_off", feed.url)
