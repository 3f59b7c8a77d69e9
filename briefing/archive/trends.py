"""Trend figures from the daily roll-ups (I/O in, plain data out).

Every figure is a count of relevant items per period (day, ISO week from Monday, calendar
month) in London time, split by one dimension. Beside each count the figures carry what a
reader needs to avoid two classic misreadings:

- `fetched`: every item fetched in the period, relevant or not, so a share ("3% of all news
  fetched that day") can tell a quiet news day from a fall in attention;
- gaps: periods in which a quarter or more of the feeds behind a series failed all day, so a
  fetch gap is never reported as a fall in coverage.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal, get_args

from sqlalchemy import Date, Engine, func, literal, select
from sqlalchemy.orm import Session

from briefing.config.taxonomy import default_taxonomy
from briefing.db.engine import session_scope
from briefing.db.models import ArchiveCount, FeedDay, Outlet, TermCount, TrackedTerm
from briefing.errors import UsageError

Dim = Literal["topic", "segment", "outlet", "region", "all"]
Period = Literal["day", "week", "month"]
DIMS: tuple[str, ...] = get_args(Dim)
PERIODS: tuple[str, ...] = get_args(Period)
GAP_SHARE = 0.25  # of the feeds behind a series failing all day marks the day
MAX_DAYS = 366 * 10
BASELINE_DAYS = 28  # spikes are measured against the trailing four weeks


def period_start(day: date, period: str) -> date:
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return day


def periods_between(since: date, until: date, period: str) -> list[date]:
    starts: list[date] = []
    current = period_start(since, period)
    while current <= until:
        starts.append(current)
        if period == "day":
            current += timedelta(days=1)
        elif period == "week":
            current += timedelta(days=7)
        else:
            current = (current.replace(day=28) + timedelta(days=4)).replace(day=1)
    return starts


@dataclass(frozen=True, slots=True)
class TrendQuery:
    since: date
    until: date
    by: Dim = "topic"
    period: Period = "week"
    topic: str | None = None  # only this topic's items

    def __post_init__(self) -> None:
        if self.by not in DIMS:
            raise UsageError(f"--by must be one of {', '.join(DIMS)}")
        if self.period not in PERIODS:
            raise UsageError(f"--period must be one of {', '.join(PERIODS)}")
        if self.since > self.until:
            raise UsageError("since is after until")
        if (self.until - self.since).days > MAX_DAYS:
            raise UsageError("at most ten years at a time")


@dataclass(frozen=True, slots=True)
class Series:
    key: str  # a topic, segment, outlet or region slug; "" for items with none
    label: str
    counts: tuple[int, ...]  # relevant items per period
    sent: tuple[int, ...]  # ... of which their story made a sent edition
    gaps: tuple[bool, ...]  # per period: the feeds behind this series were failing

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass(frozen=True, slots=True)
class Trend:
    query: TrendQuery
    periods: tuple[date, ...]  # the first day of each period
    series: tuple[Series, ...]  # the largest first
    relevant: tuple[int, ...]  # relevant items per period (the topic's, with a topic)
    fetched: tuple[int, ...]  # every item fetched per period, relevant or not

    @property
    def marked(self) -> frozenset[int]:
        """Periods in which some series had a fetch gap."""
        return frozenset(i for s in self.series for i, gap in enumerate(s.gaps) if gap)


def _period(day: Any, period: str, dialect: str) -> Any:
    """The first day of `day`'s period, in SQL, so that the database does the summing."""
    if period == "day":
        return day
    if dialect == "sqlite":
        return (
            func.date(day, "weekday 0", "-6 days")
            if period == "week"
            else func.date(day, "start of month")
        )
    return func.cast(func.date_trunc(period, day), Date)


def _as_day(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def trend(engine: Engine, query: TrendQuery, labels: dict[str, str] | None = None) -> Trend:
    """Counts per period and key; `labels` names the keys (taxonomy labels, outlet names)."""
    periods = periods_between(query.since, query.until, query.period)
    index = {p: i for i, p in enumerate(periods)}
    topic = query.topic or ""
    if query.by == "topic":
        # Each topic by name: one seek per topic into the key, where `topic != ''` scans.
        topics = [query.topic] if query.topic else list(default_taxonomy().topics)
        where = [ArchiveCount.dim == "all", ArchiveCount.topic.in_(topics)]
        key_column = ArchiveCount.topic
    else:
        where = [ArchiveCount.dim == query.by, ArchiveCount.topic == topic]
        key_column = ArchiveCount.key
    in_range = [ArchiveCount.day >= query.since, ArchiveCount.day <= query.until]
    period = _period(ArchiveCount.day, query.period, engine.dialect.name).label("period")
    counts: dict[str, list[int]] = defaultdict(lambda: [0] * len(periods))
    sent: dict[str, list[int]] = defaultdict(lambda: [0] * len(periods))
    relevant, fetched = [0] * len(periods), [0] * len(periods)
    with session_scope(engine, write=False) as session:
        rows = session.execute(
            select(key_column, period, func.sum(ArchiveCount.items), func.sum(ArchiveCount.sent))
            .where(*where, *in_range)
            .group_by(key_column, period)
        )
        for key, start, items, was_sent in rows:
            i = index[_as_day(start)]
            counts[key][i] += items
            sent[key][i] += was_sent
        totals = session.execute(
            select(
                ArchiveCount.topic,
                period,
                func.sum(ArchiveCount.items),
                func.sum(ArchiveCount.fetched),
            )
            .where(ArchiveCount.dim == "all", ArchiveCount.key == "", *in_range)
            .where(ArchiveCount.topic.in_(["", topic]))
            .group_by(ArchiveCount.topic, period)
        )
        for row_topic, start, items, all_fetched in totals:
            i = index[_as_day(start)]
            if row_topic == topic:
                relevant[i] += items
            if row_topic == "":
                fetched[i] += all_fetched
        gaps = _gaps(session, query, index)
    names = labels or {}
    none = (False,) * len(periods)
    series = [
        Series(
            key=key,
            label=names.get(key, key) or "(no outlet)",
            counts=tuple(values),
            sent=tuple(sent[key]),
            gaps=gaps.get(key if query.by in ("outlet", "segment") else "", none),
        )
        for key, values in counts.items()
    ]
    series.sort(key=lambda s: (-s.total, s.key))
    return Trend(query, tuple(periods), tuple(series), tuple(relevant), tuple(fetched))


def _gaps(
    session: Session, query: TrendQuery, index: dict[date, int]
) -> dict[str, tuple[bool, ...]]:
    """Per series key ("" for figures that depend on every feed): the periods with a day on
    which GAP_SHARE or more of the feeds behind it failed all day. The database finds the
    failing days; there are few."""
    if query.by == "outlet":
        key: Any = Outlet.slug
    elif query.by == "segment":
        key = func.coalesce(Outlet.segment, "")
    else:
        key = literal("")
    feeds, failed = func.sum(FeedDay.feeds), func.sum(FeedDay.failed)
    failing = (
        session.execute(
            select(key, FeedDay.day)
            .join(Outlet, Outlet.id == FeedDay.outlet_id)
            .where(FeedDay.day >= query.since, FeedDay.day <= query.until, FeedDay.failed > 0)
            .group_by(key, FeedDay.day)
            .having(failed >= GAP_SHARE * feeds)
        )
        if query.by in ("outlet", "segment")
        else session.execute(
            select(key, FeedDay.day)
            .where(FeedDay.day >= query.since, FeedDay.day <= query.until)
            .group_by(FeedDay.day)
            .having(failed >= GAP_SHARE * feeds, failed > 0)
        )
    )
    marked: dict[str, list[bool]] = defaultdict(lambda: [False] * len(index))
    for series_key, day in failing:
        marked[series_key][index[period_start(_as_day(day), query.period)]] = True
    return {k: tuple(v) for k, v in marked.items()}


def outlet_names(engine: Engine) -> dict[str, str]:
    with session_scope(engine, write=False) as session:
        return {slug: name for slug, name in session.execute(select(Outlet.slug, Outlet.name))}


# --- spikes --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Spike:
    topic: str
    day: date
    count: int
    baseline: float  # mean daily count over the trailing four weeks
    spread: float  # their standard deviation

    @property
    def ratio(self) -> float:
        return self.count / self.baseline if self.baseline else float("inf")


def spikes(
    engine: Engine, since: date, until: date, *, threshold: float = 3.0, min_count: int = 8
) -> list[Spike]:
    """Days on which a topic's count stood `threshold` deviations above its mean over the
    four weeks before, and was at least `min_count` and twice that mean: a burst of coverage,
    not noise on a small number. The deviation is at least the square root of the mean (the
    spread of counts of independent events) and at least one."""
    start = since - timedelta(days=BASELINE_DAYS)
    daily: dict[str, dict[date, int]] = defaultdict(dict)
    with session_scope(engine, write=False) as session:
        rows = session.execute(
            select(ArchiveCount.topic, ArchiveCount.day, ArchiveCount.items).where(
                ArchiveCount.dim == "all",
                ArchiveCount.topic.in_(list(default_taxonomy().topics)),
                ArchiveCount.day >= start,
                ArchiveCount.day <= until,
            )
        )
        for topic, day, items in rows:
            daily[topic][day] = items
    found: list[Spike] = []
    for topic, by_day in daily.items():
        window = [by_day.get(start + timedelta(days=n), 0) for n in range(BASELINE_DAYS)]
        total, squares = sum(window), sum(n * n for n in window)  # kept as the window moves
        day = since
        while day <= until:
            count = by_day.get(day, 0)
            mean = total / BASELINE_DAYS
            spread = math.sqrt(max(squares / BASELINE_DAYS - mean * mean, 0.0))
            if (
                count >= min_count
                and count >= 2 * mean
                and count > mean + threshold * max(spread, math.sqrt(mean), 1)
            ):
                found.append(Spike(topic, day, count, mean, spread))
            total += count - window[0]
            squares += count * count - window[0] * window[0]
            window = [*window[1:], count]
            day += timedelta(days=1)
    found.sort(key=lambda s: (s.day, -s.count, s.topic))
    return found


# --- the language tracker ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TermSeries:
    term_id: int
    label: str
    kind: str  # "loaded" or "neutral"
    phrases: tuple[str, ...]
    counts: tuple[int, ...]  # relevant items using the term per period
    by_segment: dict[str, int]  # over the whole range
    counting: bool  # its counts are still being made

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass(frozen=True, slots=True)
class TermTrend:
    since: date
    until: date
    period: str
    segment: str | None
    periods: tuple[date, ...]
    terms: tuple[TermSeries, ...]
    relevant: tuple[int, ...]  # relevant items per period (in the segment, with one)


def term_trend(
    engine: Engine, since: date, until: date, period: Period = "month", segment: str | None = None
) -> TermTrend:
    TrendQuery(since, until, "all", period)  # the same checks
    periods = periods_between(since, until, period)
    index = {p: i for i, p in enumerate(periods)}
    in_range = [TermCount.day >= since, TermCount.day <= until]
    counts: dict[int, list[int]] = defaultdict(lambda: [0] * len(periods))
    by_segment: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    relevant = [0] * len(periods)
    dialect = engine.dialect.name
    with session_scope(engine, write=False) as session:
        terms = list(
            session.scalars(select(TrackedTerm).order_by(TrackedTerm.kind, TrackedTerm.label))
        )
        starts = _period(TermCount.day, period, dialect).label("period")
        for term_id, seg, start, items in session.execute(
            select(TermCount.term_id, TermCount.segment, starts, func.sum(TermCount.items))
            .where(*in_range)
            .group_by(TermCount.term_id, TermCount.segment, starts)
        ):
            by_segment[term_id][seg] += items
            if segment is None or seg == segment:
                counts[term_id][index[_as_day(start)]] += items
        dim, key = ("segment", segment) if segment else ("all", "")
        day_start = _period(ArchiveCount.day, period, dialect).label("period")
        for start, items in session.execute(
            select(day_start, func.sum(ArchiveCount.items))
            .where(
                ArchiveCount.dim == dim,
                ArchiveCount.topic == "",
                ArchiveCount.key == key,
                ArchiveCount.day >= since,
                ArchiveCount.day <= until,
            )
            .group_by(day_start)
        ):
            relevant[index[_as_day(start)]] += items
    series = tuple(
        TermSeries(
            term_id=t.id,
            label=t.label,
            kind=t.kind,
            phrases=tuple(t.phrases),
            counts=tuple(counts[t.id]),
            by_segment=dict(by_segment[t.id]),
            counting=t.counted_at is None,
        )
        for t in terms
    )
    return TermTrend(since, until, period, segment, tuple(periods), series, tuple(relevant))


# --- exports -------------------------------------------------------------------------------


def trend_rows(figure: Trend) -> list[dict[str, Any]]:
    """One row per period and key: the shape of the CSV and JSON exports."""
    rows: list[dict[str, Any]] = []
    for i, start in enumerate(figure.periods):
        for s in figure.series:
            rows.append(
                {
                    "period": start.isoformat(),
                    "key": s.key,
                    "label": s.label,
                    "items": s.counts[i],
                    "sent": s.sent[i],
                    "share_of_relevant": _share(s.counts[i], figure.relevant[i]),
                    "share_of_fetched": _share(s.counts[i], figure.fetched[i]),
                    "fetched": figure.fetched[i],
                    "feeds_failing": s.gaps[i],
                }
            )
    return rows


def term_rows(figure: TermTrend) -> list[dict[str, Any]]:
    return [
        {
            "period": start.isoformat(),
            "term": t.label,
            "kind": t.kind,
            "segment": figure.segment or "",
            "items": t.counts[i],
            "share_of_relevant": _share(t.counts[i], figure.relevant[i]),
        }
        for i, start in enumerate(figure.periods)
        for t in figure.terms
    ]


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 6) if whole else None


def to_csv(rows: Sequence[dict[str, Any]], columns: Iterable[str] | None = None) -> str:
    out = io.StringIO()
    fields = list(columns or (rows[0].keys() if rows else []))
    writer = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv_safe(v) for k, v in row.items()})
    return out.getvalue()


def _csv_safe(value: Any) -> Any:
    # A cell that starts with = + - @ is a formula to a spreadsheet; headlines are untrusted.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    return "" if value is None else value


def to_json(payload: Any) -> str:
    return json.dumps(payload, ensure_ascii=False, indent=1, default=str)
