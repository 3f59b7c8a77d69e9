"""The archive's daily roll-ups (I/O): what the trend figures and the language tracker read.

Each London day is recomputed from the items as a whole (delete the day's rows, count, insert),
so a refresh is idempotent and can run as often as convenient: after each fetch for the days
it touched, after a send, nightly for the last few days, and for every day after an upgrade.

Two things cannot be recounted once the nightly prune has run: the irrelevant items (the
denominator of shares) and the fetch log (the fetch gaps). For days older than the pruning
horizon a refresh keeps what was counted before: `fetched` never goes down, and a day's feed
counts, once made, stay.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, case, delete, func, insert, select, text, update
from sqlalchemy.orm import Session

from briefing.archive.terms import Term, needles, used_terms
from briefing.config.taxonomy import UNKNOWN_SEGMENT
from briefing.db.engine import session_scope
from briefing.db.models import (
    ArchiveCount,
    Edition,
    EditionEntry,
    Feed,
    FeedDay,
    FetchLog,
    Item,
    ItemLabel,
    TermCount,
    TrackedTerm,
)
from briefing.ingest.stage import FeedStatus

log = logging.getLogger("briefing.archive")

# An item made the briefing when it, or another report of its story, was a sent entry.
_SENT_ENTRY = (
    "SELECT 1 FROM edition_entries e JOIN editions ed ON ed.id = e.edition_id "
    "WHERE ed.status = 'sent' AND NOT e.removed AND "
)
SENT_CONDITION = (  # two index probes an item
    f"(EXISTS ({_SENT_ENTRY} e.item_id = i.id) "
    f"OR (i.story_id IS NOT NULL AND EXISTS ({_SENT_ENTRY} e.story_id = i.story_id)))"
)

DIMS = ("all", "segment", "outlet", "region")
FETCH_OK = (FeedStatus.OK, FeedStatus.NOT_MODIFIED)
Progress = Callable[[int, int], None]  # (done, total)


@dataclass(frozen=True, slots=True)
class _Row:
    """One item as the roll-ups see it."""

    id: int
    outlet: str  # slug, "" for an aggregated publisher with no outlet
    segment: str
    region: str
    relevant: bool
    sent: bool
    topics: tuple[str, ...]


def london_day(moment: datetime, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date()


def day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(), tz)
    end = datetime.combine(day + timedelta(days=1), time(), tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def refresh(
    engine: Engine, days: Iterable[date], tz: ZoneInfo, keep_days: int, now: datetime
) -> int:
    """Recount the given days; returns how many."""
    horizon = london_day(now, tz) - timedelta(days=keep_days)
    terms = _terms(engine, counted_only=True)
    done = 0
    for day in sorted(set(days)):
        with session_scope(engine) as session:
            _refresh_day(session, day, tz, frozen=day < horizon, terms=terms)
        done += 1
    return done


def refresh_items(
    engine: Engine, item_ids: Iterable[int], tz: ZoneInfo, keep_days: int, now: datetime
) -> int:
    """Recount the days the given items were published on, and today."""
    ids = sorted(set(item_ids))
    days = {london_day(now, tz)}
    with session_scope(engine, write=False) as session:
        for start in range(0, len(ids), 500):
            published = select(Item.published_at).where(Item.id.in_(ids[start : start + 500]))
            days.update(london_day(p, tz) for p in session.scalars(published))
    return refresh(engine, days, tz, keep_days, now)


def edition_items(engine: Engine, day: date, list_address: str) -> list[int]:
    """The items an edition carried, with the other reports of their stories: their days'
    "made the briefing" counts change when it is sent."""
    with session_scope(engine, write=False) as session:
        entries = (
            select(EditionEntry.item_id, EditionEntry.story_id)
            .join(Edition)
            .where(Edition.edition_date == day, Edition.list_address == list_address)
        )
        pairs = session.execute(entries).all()
        stories = [story for _, story in pairs if story is not None]
        ids = {item for item, _ in pairs}
        for start in range(0, len(stories), 500):
            ids.update(
                session.scalars(
                    select(Item.id).where(Item.story_id.in_(stories[start : start + 500]))
                )
            )
    return sorted(ids)


def rebuild(
    engine: Engine, tz: ZoneInfo, keep_days: int, now: datetime, progress: Progress | None = None
) -> int:
    """Recount every day that has items or fetches: after an upgrade, or to repair."""
    with session_scope(engine, write=False) as session:
        first = session.scalar(select(func.min(Item.published_at)))
        first_fetch = session.scalar(select(func.min(FetchLog.started_at)))
    starts = [moment for moment in (first, first_fetch) if moment is not None]
    if not starts:
        return 0
    day, last = london_day(min(starts), tz), london_day(now, tz)
    days = [day + timedelta(days=n) for n in range((last - day).days + 1)]
    horizon = last - timedelta(days=keep_days)
    terms = _terms(engine, counted_only=False)
    for n, day in enumerate(days, 1):
        with session_scope(engine) as session:
            _refresh_day(session, day, tz, frozen=day < horizon, terms=terms)
        if progress:
            progress(n, len(days))
    with session_scope(engine) as session:
        session.execute(update(TrackedTerm).values(counted_at=now))
    return len(days)


def is_empty(engine: Engine) -> bool:
    """True when items exist but nothing has been counted yet (a fresh upgrade)."""
    with session_scope(engine, write=False) as session:
        has_items = session.scalar(select(Item.id).limit(1)) is not None
        has_counts = session.scalar(select(ArchiveCount.day).limit(1)) is not None
    return has_items and not has_counts


def _refresh_day(
    session: Session, day: date, tz: ZoneInfo, *, frozen: bool, terms: list[Term]
) -> None:
    start, end = day_bounds(day, tz)
    rows = _items(session, start, end)
    kept: dict[tuple[str, str], int] = {}
    if frozen:  # irrelevant items are gone: keep the day's denominators as first counted
        kept = {
            (dim, key): fetched
            for dim, key, fetched in session.execute(
                select(ArchiveCount.dim, ArchiveCount.key, ArchiveCount.fetched).where(
                    ArchiveCount.day == day, ArchiveCount.topic == ""
                )
            )
        }
    session.execute(delete(ArchiveCount).where(ArchiveCount.day == day))
    _flag_sent(session, rows)
    counts = _count(rows)
    for dim, key in kept:
        counts[(dim, "", key)][2] = max(counts[(dim, "", key)][2], kept[(dim, key)])
    if counts:
        session.execute(
            insert(ArchiveCount),
            [
                {"dim": d, "topic": t, "day": day, "key": k, "items": n, "sent": s, "fetched": f}
                for (d, t, k), (n, s, f) in counts.items()
            ],
        )
    if not frozen or session.scalar(select(FeedDay.day).where(FeedDay.day == day).limit(1)) is None:
        _refresh_feed_day(session, day, start, end)
    if terms:
        _refresh_terms_day(session, day, start, end, terms)


def _items(session: Session, start: datetime, end: datetime) -> list[_Row]:
    bounds = _bind_bounds(session, start, end)
    found = session.execute(
        text(
            "SELECT i.id, coalesce(o.slug, ''), "
            f"coalesce(l.segment, o.segment, '{UNKNOWN_SEGMENT}'), coalesce(l.region, ''), "
            f"coalesce(l.relevant, false), CASE WHEN {SENT_CONDITION} THEN 1 ELSE 0 END "
            "FROM items i LEFT JOIN item_labels l ON l.item_id = i.id "
            "LEFT JOIN outlets o ON o.id = i.outlet_id "
            "WHERE i.published_at >= :start AND i.published_at < :end"
        ),
        bounds,
    ).all()
    topics: dict[int, list[str]] = defaultdict(list)
    for item_id, topic in session.execute(
        text(
            "SELECT t.item_id, t.topic FROM item_topics t JOIN items i ON i.id = t.item_id "
            "WHERE i.published_at >= :start AND i.published_at < :end"
        ),
        bounds,
    ):
        topics[item_id].append(topic)
    return [
        _Row(r[0], r[1], r[2], r[3], bool(r[4]), bool(r[5]), tuple(topics.get(r[0], ())))
        for r in found
    ]


def _flag_sent(session: Session, rows: list[_Row]) -> None:
    """Keep `item_labels.sent` equal to what the day's counts say, for the search filter."""
    for value in (True, False):
        ids = [row.id for row in rows if row.sent == value]
        for start in range(0, len(ids), 500):
            session.execute(
                update(ItemLabel)
                .where(ItemLabel.item_id.in_(ids[start : start + 500]), ItemLabel.sent != value)
                .values(sent=value)
            )


def _bind_bounds(session: Session, start: datetime, end: datetime) -> dict[str, Any]:
    if session.get_bind().dialect.name == "sqlite":  # naive UTC on disk (see UTCDateTime)
        return {"start": start.replace(tzinfo=None), "end": end.replace(tzinfo=None)}
    return {"start": start, "end": end}


def _count(rows: list[_Row]) -> defaultdict[tuple[str, str, str], list[int]]:
    """(dim, topic, key) -> [relevant items, of which sent, all items fetched]."""
    counts: defaultdict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for row in rows:
        keys = {"all": "", "segment": row.segment, "outlet": row.outlet, "region": row.region}
        for dim in ("all", "segment", "outlet"):
            counts[(dim, "", keys[dim])][2] += 1
        if not row.relevant:
            continue
        for topic in ("", *row.topics):
            for dim in DIMS:
                cell = counts[(dim, topic, keys[dim])]
                cell[0] += 1
                cell[1] += row.sent
    return counts


def _refresh_feed_day(session: Session, day: date, start: datetime, end: datetime) -> None:
    """Per outlet: feeds fetched that day, and those that never succeeded that day."""
    session.execute(delete(FeedDay).where(FeedDay.day == day))
    ok = func.max(case((FetchLog.status.in_(FETCH_OK), 1), else_=0))
    per_feed = (
        select(Feed.outlet_id, ok.label("ok"))
        .join(Feed, Feed.id == FetchLog.feed_id)
        .where(FetchLog.started_at >= start, FetchLog.started_at < end)
        .group_by(FetchLog.feed_id, Feed.outlet_id)
    )
    by_outlet: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for outlet_id, fetched_ok in session.execute(per_feed):
        by_outlet[outlet_id][0] += 1
        by_outlet[outlet_id][1] += not fetched_ok
    if by_outlet:
        session.execute(
            insert(FeedDay),
            [
                {"day": day, "outlet_id": o, "feeds": feeds, "failed": failed}
                for o, (feeds, failed) in by_outlet.items()
            ],
        )


# --- the language tracker -----------------------------------------------------------------


def _terms(engine: Engine, *, counted_only: bool) -> list[Term]:
    """Terms whose counts are kept day by day; a term still being counted in full is left to
    `count_terms`, which would otherwise race the refresh for its rows."""
    with session_scope(engine, write=False) as session:
        query = select(TrackedTerm).order_by(TrackedTerm.id)
        if counted_only:
            query = query.where(TrackedTerm.counted_at.is_not(None))
        return [Term(t.id, t.label, t.kind, tuple(t.phrases)) for t in session.scalars(query)]


def _texts(session: Session, start: datetime, end: datetime) -> Iterable[tuple[str, str]]:
    """(segment, text) of the relevant items published in [start, end)."""
    return session.execute(
        text(
            "SELECT l.segment, i.title || ' ' || i.summary || ' ' || coalesce(i.full_text, '') "
            "FROM items i JOIN item_labels l ON l.item_id = i.id "
            "WHERE l.relevant AND i.published_at >= :start AND i.published_at < :end"
        ),
        _bind_bounds(session, start, end),
    )


def _term_counts(texts: Iterable[tuple[str, str]], terms: list[Term]) -> Counter[tuple[int, str]]:
    """Items per (term, segment)."""
    wanted = needles(terms)
    counts: Counter[tuple[int, str]] = Counter()
    for segment, body in texts:
        counts.update((term_id, segment) for term_id in used_terms(body, wanted))
    return counts


def _refresh_terms_day(
    session: Session, day: date, start: datetime, end: datetime, terms: list[Term]
) -> None:
    ids = [term.id for term in terms]
    session.execute(delete(TermCount).where(TermCount.day == day, TermCount.term_id.in_(ids)))
    counts = _term_counts(_texts(session, start, end), terms)
    if counts:
        session.execute(
            insert(TermCount),
            [{"term_id": t, "day": day, "segment": s, "items": n} for (t, s), n in counts.items()],
        )


def count_terms(
    engine: Engine,
    tz: ZoneInfo,
    now: datetime,
    term_ids: Iterable[int] | None = None,
    progress: Progress | None = None,
) -> int:
    """Count new or edited terms over the whole archive (terms with no `counted_at`, or the
    given ones), a month at a time; returns how many terms were counted."""
    with session_scope(engine) as session:
        query = select(TrackedTerm)
        if term_ids is None:
            query = query.where(TrackedTerm.counted_at.is_(None))
        else:
            query = query.where(TrackedTerm.id.in_(list(term_ids)))
        terms = [Term(t.id, t.label, t.kind, tuple(t.phrases)) for t in session.scalars(query)]
        first = session.scalar(select(func.min(Item.published_at)))
    if not terms:
        return 0
    ids = [term.id for term in terms]
    with session_scope(engine) as session:
        session.execute(update(TrackedTerm).where(TrackedTerm.id.in_(ids)).values(counted_at=None))
        session.execute(delete(TermCount).where(TermCount.term_id.in_(ids)))
    if first is not None:
        day, last = london_day(first, tz), london_day(now, tz)
        total = (last - day).days + 1
        while day <= last:
            stop = min(day + timedelta(days=31), last + timedelta(days=1))
            with session_scope(engine) as session:
                for one in (day + timedelta(days=n) for n in range((stop - day).days)):
                    _refresh_terms_day(session, one, *day_bounds(one, tz), terms)
            if progress:
                progress(min((stop - london_day(first, tz)).days, total), total)
            day = stop
    with session_scope(engine) as session:
        session.execute(update(TrackedTerm).where(TrackedTerm.id.in_(ids)).values(counted_at=now))
    log.info("counted %d tracked terms over the archive", len(terms))
    return len(terms)
