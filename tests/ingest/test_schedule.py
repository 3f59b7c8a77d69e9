from __future__ import annotations

from datetime import UTC, datetime, timedelta

from briefing.ingest.schedule import (
    FeedPolicy,
    is_silent,
    is_unhealthy,
    next_interval,
    retry_delay,
    wants_unconditional,
)

POLICY = FeedPolicy()
NOW = datetime(2026, 3, 10, 6, 0, tzinfo=UTC)
HALF_HOUR = timedelta(minutes=30)


def test_intervals_adapt_within_bounds() -> None:
    assert next_interval(HALF_HOUR, 3, POLICY) < HALF_HOUR < next_interval(HALF_HOUR, 0, POLICY)
    busy = quiet = HALF_HOUR
    for _ in range(50):
        busy, quiet = next_interval(busy, 1, POLICY), next_interval(quiet, 0, POLICY)
    assert busy == POLICY.min_interval and quiet == POLICY.max_interval


def test_back_off_doubles_and_is_capped_never_infinite() -> None:
    delays = [retry_delay(HALF_HOUR, n, POLICY) for n in range(1, 40)]
    assert delays[:3] == [timedelta(hours=1), timedelta(hours=2), timedelta(hours=4)]
    assert max(delays) == POLICY.max_backoff


def test_unhealthy_after_n_failures() -> None:
    assert not is_unhealthy(POLICY.unhealthy_after - 1, POLICY)
    assert is_unhealthy(POLICY.unhealthy_after, POLICY)


def test_unconditional_fetch_once_a_day() -> None:
    assert wants_unconditional(None, NOW, POLICY)
    assert not wants_unconditional(NOW - timedelta(hours=23), NOW, POLICY)
    assert wants_unconditional(NOW - timedelta(hours=24), NOW, POLICY)


def test_silence_is_judged_against_the_feeds_own_rhythm() -> None:
    day = timedelta(days=1)
    # 20 items a day: silent after the two-day floor
    assert not is_silent(NOW - day, 20, NOW - 30 * day, NOW, POLICY)
    assert is_silent(NOW - 3 * day, 20, NOW - 30 * day, NOW, POLICY)
    # a weekly blog (1/7 a day) is not silent after ten days, but is after a month
    assert not is_silent(NOW - 10 * day, 1 / 7, NOW - 60 * day, NOW, POLICY)
    assert is_silent(NOW - 30 * day, 1 / 7, NOW - 60 * day, NOW, POLICY)
    assert not is_silent(None, 0, None, NOW, POLICY)  # never fetched: nothing to judge yet
