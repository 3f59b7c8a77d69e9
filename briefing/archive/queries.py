"""Read-only queries for the web pages and the CLI, returning plain views (I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Engine, case, func, select

from briefing.compose.context import Draft
from briefing.config.taxonomy import Taxonomy
from briefing.db.editions import SIZE_REASON, find_edition, load_draft, outlet_name
from briefing.db.engine import session_scope
from briefing.db.models import Alert, Edition, EditionEntry, Feed, FetchLog, Item, Outlet
from briefing.ingest.schedule import FeedPolicy, is_silent, is_unhealthy
from briefing.ingest.stage import FeedStatus

HEALTH_DAYS = 28  # items per day are counted over (at most) this many days
FETCH_OK = (FeedStatus.OK, FeedStatus.NOT_MODIFIED)


@dataclass(frozen=True, slots=True)
class EditionView:
    draft: Draft
    html: str
    text: str
    composed_at: datetime
    window: tuple[datetime, datetime]
    score_parts: dict[int, dict[str, float]]  # item id -> parts
    removed: int

    @property
    def html_bytes(self) -> int:
        return len(self.html.encode("utf-8"))


def latest_edition_date(engine: Engine, list_address: str) -> date | None:
    with session_scope(engine, write=False) as session:
        return session.scalar(
            select(func.max(Edition.edition_date)).where(Edition.list_address == list_address)
        )


def edition_view(engine: Engine, taxonomy: Taxonomy, day: date, list_address: str) -> EditionView:
    with session_scope(engine, write=False) as session:
        edition = find_edition(session, day, list_address)
        entries: list[EditionEntry] = edition.entries
        return EditionView(
            draft=load_draft(session, edition, taxonomy),
            html=edition.html,
            text=edition.text,
            composed_at=edition.composed_at,
            window=(edition.window_start, edition.window_end),
            score_parts={e.item_id: dict(e.score_parts) for e in entries},
            removed=sum(e.removed and e.removed_reason != SIZE_REASON for e in entries),
        )


@dataclass(frozen=True, slots=True)
class FeedHealthView:
    outlet: str
    feed: str
    url: str
    last_status: str | None
    last_error: str | None
    last_fetched_at: datetime | None
    latency_ms: int | None
    items_per_day: float
    last_new_item_at: datetime | None
    failures: int  # in a row
    next_fetch_at: datetime | None
    unhealthy: bool
    silent: bool

    @property
    def state(self) -> str:
        if self.unhealthy:
            return "unhealthy"
        if self.silent:
            return "silent"
        if self.last_status is None:
            return "never fetched"
        return "failing" if self.failures else "ok"


def feed_health(engine: Engine, now: datetime, policy: FeedPolicy) -> list[FeedHealthView]:
    """Every active feed with its recent record; unhealthy, then silent ones first."""
    since = now - timedelta(days=HEALTH_DAYS)
    recent = (
        select(
            FetchLog.feed_id,
            func.sum(case((FetchLog.started_at >= since, FetchLog.items_new), else_=0)).label(
                "new"
            ),
            func.min(FetchLog.started_at).label("first"),
        )
        .group_by(FetchLog.feed_id)
        .subquery()
    )
    query = (
        select(Feed, Outlet.name, recent.c.new, recent.c.first)
        .join(Outlet)
        .outerjoin(recent, recent.c.feed_id == Feed.id)
        .where(Feed.active)
    )
    views = []
    with session_scope(engine, write=False) as session:
        for feed, outlet, new, first in session.execute(query):
            observed_days = (
                min(HEALTH_DAYS, max((now - first).total_seconds() / 86400, 1.0))
                if first
                else HEALTH_DAYS
            )
            per_day = round((new or 0) / observed_days, 2)
            views.append(
                FeedHealthView(
                    outlet=outlet,
                    feed=feed.name,
                    url=feed.url,
                    last_status=feed.last_status,
                    last_error=feed.last_error,
                    last_fetched_at=feed.last_fetched_at,
                    latency_ms=feed.last_latency_ms,
                    items_per_day=per_day,
                    last_new_item_at=feed.last_new_item_at,
                    failures=feed.consecutive_failures,
                    next_fetch_at=feed.next_fetch_at,
                    unhealthy=is_unhealthy(feed.consecutive_failures, policy),
                    silent=is_silent(feed.last_new_item_at, per_day, first, now, policy),
                )
            )
    order = {"unhealthy": 0, "silent": 1, "failing": 2, "never fetched": 3, "ok": 4}
    return sorted(views, key=lambda v: (order[v.state], v.outlet, v.feed))


def last_successful_fetch(engine: Engine) -> datetime | None:
    """When a feed was last read without error (a 304 counts: the feed answered)."""
    with session_scope(engine, write=False) as session:
        return session.scalar(
            select(func.max(FetchLog.started_at)).where(FetchLog.status.in_(FETCH_OK))
        )


@dataclass(frozen=True, slots=True)
class Report:
    item_id: int
    outlet: str
    url: str
    paywalled: bool


@dataclass(frozen=True, slots=True)
class PanelEntry:
    """One story as the editing panel shows it, removed ones included."""

    id: int
    item_id: int
    section: str
    title: str
    summary: str
    edited: bool
    outlet: str
    url: str
    removed: bool
    removed_reason: str | None
    added_by_editor: bool
    score: float
    parts: dict[str, float]
    reports: tuple[Report, ...]  # every outlet's report of the story, for the lead choice


@dataclass(frozen=True, slots=True)
class CurationView:
    version: int
    status: str
    intro: str
    entries: tuple[PanelEntry, ...]
    sent_at: datetime | None
    message_id: str | None
    smtp_reply: str | None
    error: str | None
    send_requested: bool
    alerts: tuple[tuple[str, str, str], ...]  # kind, subject, body


def curation_view(engine: Engine, day: date, list_address: str) -> CurationView:
    with session_scope(engine, write=False) as session:
        edition = find_edition(session, day, list_address)
        story_ids = {e.story_id for e in edition.entries if e.story_id is not None}
        reports: dict[int, list[Report]] = {}
        if story_ids:
            rows = session.execute(
                select(Item, Outlet)
                .outerjoin(Outlet, Item.outlet_id == Outlet.id)
                .where(Item.story_id.in_(story_ids), Item.published_at < edition.window_end)
                .order_by(Item.published_at, Item.id)
            )
            for item, publisher in rows:
                name = (
                    publisher.name if publisher else (item.publisher_name or item.publisher_domain)
                )
                paywalled = bool(publisher and publisher.paywalled)
                reports.setdefault(item.story_id or 0, []).append(
                    Report(item.id, name, item.canonical_url, paywalled)
                )
        entries = []
        for entry in edition.entries:
            item = entry.item
            lead = outlet_name(item)
            entries.append(
                PanelEntry(
                    id=entry.id,
                    item_id=item.id,
                    section=entry.section,
                    title=entry.title_override or item.title,
                    summary=entry.summary_override
                    if entry.summary_override is not None
                    else item.summary,
                    edited=bool(entry.title_override or entry.summary_override is not None),
                    outlet=lead,
                    url=item.canonical_url,
                    removed=entry.removed,
                    removed_reason=entry.removed_reason,
                    added_by_editor=entry.added_by_editor,
                    score=entry.score,
                    parts=dict(entry.score_parts),
                    reports=tuple(reports.get(entry.story_id or 0, ())),
                )
            )
        alerts = session.execute(
            select(Alert.kind, Alert.subject, Alert.body)
            .where(Alert.key == day.isoformat())
            .order_by(Alert.created_at)
        ).all()
        return CurationView(
            version=edition.version,
            status=edition.status,
            intro=edition.intro,
            entries=tuple(entries),
            sent_at=edition.sent_at,
            message_id=edition.message_id,
            smtp_reply=edition.smtp_reply,
            error=edition.error,
            send_requested=edition.send_requested_at is not None,
            alerts=tuple((k, s, b) for k, s, b in alerts),
        )


@dataclass(frozen=True, slots=True)
class UnknownPublisher:
    domain: str
    name: str
    items: int
    last_seen: datetime


def unknown_publishers(engine: Engine, now: datetime, days: int = 30) -> list[UnknownPublisher]:
    """Publishers of recent items that match no outlet (Google News brings many), most first."""
    with session_scope(engine, write=False) as session:
        rows = session.execute(
            select(
                Item.publisher_domain,
                func.max(Item.publisher_name),
                func.count(Item.id),
                func.max(Item.published_at),
            )
            .where(
                Item.outlet_id.is_(None),
                Item.publisher_domain != "",
                Item.published_at >= now - timedelta(days=days),
            )
            .group_by(Item.publisher_domain)
            .order_by(func.count(Item.id).desc(), Item.publisher_domain)
            .limit(200)
        ).all()
    return [UnknownPublisher(d, n or d, c, last) for d, n, c, last in rows]


@dataclass(frozen=True, slots=True)
class OutletView:
    slug: str
    name: str
    segment: str | None
    paywalled: bool
    domains: tuple[str, ...]
    feeds: tuple[tuple[int, str, str, bool], ...]  # id, name, url, active


def outlets(engine: Engine) -> list[OutletView]:
    with session_scope(engine, write=False) as session:
        rows = session.scalars(
            select(Outlet).where(Outlet.is_aggregator.is_(False)).order_by(Outlet.name)
        ).all()
        feeds: dict[int, list[tuple[int, str, str, bool]]] = {}
        for feed in session.scalars(select(Feed).order_by(Feed.name)):
            feeds.setdefault(feed.outlet_id, []).append((feed.id, feed.name, feed.url, feed.active))
        return [
            OutletView(
                o.slug, o.name, o.segment, o.paywalled, tuple(o.domains), tuple(feeds.get(o.id, ()))
            )
            for o in rows
        ]


def edition_stamp(engine: Engine, day: date, list_address: str) -> tuple[int, str, int] | None:
    """What a rendered draft page depends on, cheaply: the edition's version (every change
    bumps it), its status and how many alerts the day has."""
    with session_scope(engine, write=False) as session:
        row = session.execute(
            select(Edition.version, Edition.status).where(
                Edition.edition_date == day, Edition.list_address == list_address
            )
        ).first()
        if row is None:
            return None
        alerts = session.scalar(select(func.count(Alert.id)).where(Alert.key == day.isoformat()))
        return int(row[0]), str(row[1]), int(alerts or 0)


def stored_email(engine: Engine, day: date, list_address: str) -> str | None:
    with session_scope(engine, write=False) as session:
        return session.scalar(
            select(Edition.html).where(
                Edition.edition_date == day, Edition.list_address == list_address
            )
        )
