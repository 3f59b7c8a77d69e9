"""Pruning, on SQLite and PostgreSQL: exactly which items, stories and fetch logs go."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from briefing.db.engine import session_scope
from briefing.db.models import (
    CurationEvent,
    Edition,
    EditionEntry,
    Feed,
    FetchLog,
    Item,
    ItemFeed,
    ItemLabel,
    ItemTopic,
    Outlet,
    Story,
)
from briefing.db.prune import prune
from briefing.errors import UsageError

NOW = datetime(2026, 6, 10, 3, 0, tzinfo=UTC)
KEEP_DAYS = 90
CUTOFF = NOW - timedelta(days=KEEP_DAYS)  # 2026-03-12 03:00
OLD = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
RECENT = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def no_pause() -> None:
    pass


def add_feeds(session: Session, *names: str) -> dict[str, Feed]:
    outlet = session.scalar(select(Outlet))
    if outlet is None:
        outlet = Outlet(slug="bbc-news", name="BBC News", segment="mixed-middle", domains=[])
    feeds = {
        name: Feed(outlet=outlet, url=f"https://example.org/{name}.xml", name=name)
        for name in names
    }
    session.add_all(feeds.values())
    session.flush()
    return feeds


def add_item(
    session: Session,
    feed: Feed,
    name: str,
    published_at: datetime,
    relevant: bool | None,
    story: Story | None = None,
) -> Item:
    """An item seen in `feed`; labelled relevant or not (with a topic either way), or not
    labelled at all (None)."""
    item = Item(
        outlet=feed.outlet,
        feed_id=feed.id,
        url=f"https://example.org/{name}",
        canonical_url=f"https://example.org/{name}",
        url_hash=name.ljust(64, "0"),
        title=name,
        published_at=published_at,
        content_hash="x",
        story_id=story.id if story else None,
    )
    if relevant is not None:
        item.label = ItemLabel(
            model_version="test",
            relevant=relevant,
            relevance=0.9 if relevant else 0.1,
            segment="mixed-middle",
            topics=[ItemTopic(topic="asylum-system", score=0.9 if relevant else 0.2)],
        )
    session.add(item)
    session.flush()
    session.add(ItemFeed(item_id=item.id, feed_id=feed.id))
    return item


def add_log(session: Session, feed: Feed, started_at: datetime) -> int:
    log = FetchLog(feed_id=feed.id, started_at=started_at, duration_ms=100, status="ok")
    session.add(log)
    session.flush()
    return log.id


def titles(engine: Engine) -> set[str]:
    with session_scope(engine, write=False) as session:
        return set(session.scalars(select(Item.title)))


def count(engine: Engine, model: type[object]) -> int:
    with session_scope(engine, write=False) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_old_irrelevant_items_go_and_everything_else_stays(engine: Engine) -> None:
    with session_scope(engine) as session:
        feed = add_feeds(session, "uk")["uk"]
        alone, shared = Story(first_published_at=OLD), Story(first_published_at=OLD)
        session.add_all([alone, shared])
        session.flush()
        add_item(session, feed, "old-irrelevant", OLD, relevant=False)
        add_item(session, feed, "old-unlabelled", OLD, relevant=None)
        add_item(session, feed, "old-irrelevant-alone-in-its-story", OLD, False, story=alone)
        add_item(session, feed, "old-irrelevant-sharing-a-story", OLD, False, story=shared)
        add_item(session, feed, "old-relevant-in-that-story", OLD, relevant=True, story=shared)
        add_item(session, feed, "old-relevant", OLD, relevant=True)
        add_item(session, feed, "recent-irrelevant", RECENT, relevant=False)
        add_item(session, feed, "recent-unlabelled", RECENT, relevant=None)
        add_item(session, feed, "irrelevant-at-the-cutoff", CUTOFF, relevant=False)
        add_item(session, feed, "irrelevant-just-before", CUTOFF - timedelta(seconds=1), False)
        in_edition = add_item(session, feed, "old-irrelevant-in-an-edition", OLD, False)
        curated = add_item(session, feed, "old-irrelevant-curated", OLD, relevant=False)
        edition = Edition(
            edition_date=date(2026, 1, 12),
            list_address="briefing@example.org",
            window_start=OLD,
            window_end=OLD + timedelta(days=1),
        )
        session.add(edition)
        session.flush()
        session.add(
            EditionEntry(
                edition_id=edition.id,
                item_id=in_edition.id,
                section="top-stories",
                position=0,
                removed=True,
                removed_reason="not_relevant",
            )
        )
        session.add(CurationEvent(edition_id=edition.id, item_id=curated.id, action="remove"))
        alone_id, shared_id = alone.id, shared.id

    report = prune(engine, NOW, KEEP_DAYS, pause=no_pause)

    assert titles(engine) == {
        "old-relevant-in-that-story",
        "old-relevant",
        "recent-irrelevant",
        "recent-unlabelled",
        "irrelevant-at-the-cutoff",
        "old-irrelevant-in-an-edition",
        "old-irrelevant-curated",
    }
    assert (report.items, report.stories, report.fetch_logs) == (5, 1, 0)
    assert report.cutoff == CUTOFF
    with session_scope(engine, write=False) as session:
        kept = set(session.scalars(select(Item.id)))
        # No row of a deleted item is left behind in the tables that hang off it.
        for column in (ItemFeed.item_id, ItemLabel.item_id, ItemTopic.item_id):
            assert set(session.scalars(select(column))) <= kept
        assert session.scalar(select(func.count()).select_from(ItemFeed)) == len(kept)
        assert set(session.scalars(select(Story.id))) == {shared_id}
        assert alone_id not in set(session.scalars(select(Item.story_id)))
        # Relevant items keep their labels and topics.
        relevant = session.scalars(select(ItemLabel).where(ItemLabel.relevant)).all()
        assert len(relevant) == 2 and all(len(label.topics) == 1 for label in relevant)
        assert session.scalar(select(func.count()).select_from(EditionEntry)) == 1
        assert session.scalar(select(func.count()).select_from(CurationEvent)) == 1

    again = prune(engine, NOW, KEEP_DAYS, pause=no_pause)
    assert (again.items, again.stories, again.fetch_logs) == (0, 0, 0)


def test_old_fetch_logs_go_but_each_feed_keeps_its_latest(engine: Engine) -> None:
    with session_scope(engine) as session:
        feeds = add_feeds(session, "busy", "old", "twins", "single", "quiet")
        busy = [add_log(session, feeds["busy"], OLD + timedelta(days=n)) for n in range(3)]
        busy_recent = add_log(session, feeds["busy"], RECENT)
        old = [add_log(session, feeds["old"], OLD + timedelta(days=n)) for n in range(3)]
        twins = [add_log(session, feeds["twins"], OLD) for _ in range(2)]
        single = add_log(session, feeds["single"], OLD)
        at_cutoff = add_log(session, feeds["quiet"], CUTOFF)
        earlier = add_log(session, feeds["quiet"], CUTOFF - timedelta(days=1))

    report = prune(engine, NOW, KEEP_DAYS, pause=no_pause)

    with session_scope(engine, write=False) as session:
        left = set(session.scalars(select(FetchLog.id)))
    assert left == {busy_recent, old[-1], twins[-1], single, at_cutoff}
    assert report.fetch_logs == len(busy) + 2 + 1 + 1 == 7
    assert earlier not in left
    assert count(engine, Feed) == 5


def test_a_big_prune_goes_in_small_transactions(engine: Engine) -> None:
    """Between batches the work so far is committed and other writers get in."""
    with session_scope(engine) as session:
        feed = add_feeds(session, "uk")["uk"]
        for n in range(25):
            add_item(session, feed, f"old-{n:02d}", OLD, relevant=None if n % 2 else False)
        add_item(session, feed, "old-relevant", OLD, relevant=True)
        for n in range(12):
            add_log(session, feed, OLD + timedelta(hours=n))

    seen: list[int] = []

    def pause() -> None:
        seen.append(len(titles(engine)))
        with session_scope(engine) as session:  # a writer is not kept waiting
            session.add(Outlet(slug=f"outlet-{len(seen)}", name="x", domains=[]))

    report = prune(engine, NOW, KEEP_DAYS, batch_size=10, pause=pause)

    assert (report.items, report.fetch_logs) == (25, 11)
    # items: 10, 10, 5; fetch logs: 10, 1
    assert report.batches == 5
    assert seen == [16, 6, 1, 1]
    assert titles(engine) == {"old-relevant"}
    assert count(engine, FetchLog) == 1
    assert count(engine, Outlet) == 1 + 4


@pytest.mark.parametrize("keep_days", [0, -1])
def test_keep_days_must_be_positive(engine: Engine, keep_days: int) -> None:
    with pytest.raises(UsageError, match="keep_days"):
        prune(engine, NOW, keep_days, pause=no_pause)
