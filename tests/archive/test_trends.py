"""Trend figures, spikes, fetch gaps and the language tracker against brute force, on both
databases."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest

from briefing.archive import rollup
from briefing.archive.trends import TrendQuery, period_start, spikes, term_trend, trend
from briefing.errors import UsageError
from tests.archive.conftest import Archive
from tests.archive.fixture import (
    DAYS,
    FAILING,
    FIRST_DAY,
    PHRASES,
    SPIKE_DAY,
    SPIKE_TOPIC,
    TOPICS,
    phrase_pattern,
)

LAST_DAY = FIRST_DAY + timedelta(days=DAYS - 1)


def keys_of(truth: object, by: str) -> list[str]:
    if by == "topic":
        return list(truth.topics)  # type: ignore[attr-defined]
    if by == "all":
        return [""]
    return [getattr(truth, by) or ""]


@pytest.mark.parametrize("by", ["topic", "segment", "outlet", "region", "all"])
@pytest.mark.parametrize("period", ["day", "week", "month"])
@pytest.mark.parametrize("topic", [None, "asylum-system"])
def test_counts_match_brute_force(
    archive: Archive, by: str, period: str, topic: str | None
) -> None:
    since, until = date(2026, 2, 10), date(2026, 4, 5)
    figure = trend(archive.engine, TrendQuery(since, until, by, period, topic))  # type: ignore[arg-type]
    counts: Counter[tuple[str, date]] = Counter()
    sent: Counter[tuple[str, date]] = Counter()
    relevant: Counter[date] = Counter()
    fetched: Counter[date] = Counter()
    for t in archive.truths:
        if not since <= t.day <= until:
            continue
        start = period_start(t.day, period)
        fetched[start] += 1
        if not t.relevant or (topic and topic not in t.topics):
            continue
        relevant[start] += 1
        for key in [topic] if topic and by == "topic" else keys_of(t, by):
            counts[(key, start)] += 1
            sent[(key, start)] += t.sent
    got = {
        (s.key, p): n
        for s in figure.series
        for p, n in zip(figure.periods, s.counts, strict=True)
        if n
    }
    got_sent = {
        (s.key, p): n
        for s in figure.series
        for p, n in zip(figure.periods, s.sent, strict=True)
        if n
    }
    assert got == dict(counts)
    assert got_sent == {k: v for k, v in sent.items() if v}
    assert sum(sent.values()) > 0 or topic
    assert dict(zip(figure.periods, figure.relevant, strict=True)) == {
        p: relevant[p] for p in figure.periods
    }
    assert dict(zip(figure.periods, figure.fetched, strict=True)) == {
        p: fetched[p] for p in figure.periods
    }
    totals = [s.total for s in figure.series]
    assert totals == sorted(totals, reverse=True)


def test_fetch_gaps_mark_only_the_series_whose_feeds_failed(archive: Archive) -> None:
    figure = trend(archive.engine, TrendQuery(FIRST_DAY, LAST_DAY, "outlet", "day"))
    by_key = {s.key: s for s in figure.series}
    for slug, series in by_key.items():
        marked = {figure.periods[i] for i, gap in enumerate(series.gaps) if gap}
        assert marked == {day for outlet, day in FAILING if outlet == slug}, slug
    # All items depend on every feed: one outlet failing of four (6 feeds) is under a quarter
    # for the Daily Mail's one feed but Kent Online's is one of six as well: neither marks.
    everything = trend(archive.engine, TrendQuery(FIRST_DAY, LAST_DAY, "all", "day"))
    assert everything.marked == frozenset()
    by_segment = trend(archive.engine, TrendQuery(FIRST_DAY, LAST_DAY, "segment", "week"))
    right = next(s for s in by_segment.series if s.key == "right-leaning")
    assert [by_segment.periods[i] for i, g in enumerate(right.gaps) if g] == [
        period_start(date(2026, 3, 3), "week")
    ]


def test_a_burst_of_coverage_is_a_spike_and_ordinary_days_are_not(archive: Archive) -> None:
    found = spikes(archive.engine, FIRST_DAY + timedelta(days=28), LAST_DAY)
    assert [(s.topic, s.day) for s in found] == [(SPIKE_TOPIC, SPIKE_DAY)]
    on_the_day = [t for t in archive.truths if t.day == SPIKE_DAY and SPIKE_TOPIC in t.topics]
    assert found[0].count == len(on_the_day) and found[0].ratio > 2


def test_language_tracker_counts_match_a_regex_over_the_items(archive: Archive) -> None:
    figure = term_trend(archive.engine, FIRST_DAY, LAST_DAY, "month")
    assert {t.label for t in figure.terms} == set(PHRASES)
    for term in figure.terms:
        pattern = phrase_pattern(PHRASES[term.label][1])
        users = [t for t in archive.truths if t.relevant and pattern.search(t.text)]
        want = Counter(period_start(t.day, "month") for t in users)
        assert dict(zip(figure.periods, term.counts, strict=True)) == {
            p: want[p] for p in figure.periods
        }
        assert term.by_segment == dict(Counter(t.segment for t in users))
        assert term.total > 0 and not term.counting
    mail = term_trend(archive.engine, FIRST_DAY, LAST_DAY, "month", segment="right-leaning")
    assert sum(mail.relevant) == sum(
        1 for t in archive.truths if t.relevant and t.segment == "right-leaning"
    )


def test_bad_trend_queries_are_usage_errors() -> None:
    with pytest.raises(UsageError):
        TrendQuery(date(2026, 3, 2), date(2026, 3, 1))
    with pytest.raises(UsageError):
        TrendQuery(date(2026, 3, 1), date(2026, 3, 2), by="colour")  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        TrendQuery(date(2010, 3, 1), date(2026, 3, 2))


def test_topics_are_the_taxonomy_slugs(archive: Archive) -> None:
    figure = trend(archive.engine, TrendQuery(FIRST_DAY, LAST_DAY, "topic", "month"))
    assert {s.key for s in figure.series} == set(TOPICS)
    assert rollup.is_empty(archive.engine) is False
