"""When to fetch a feed next, and whether it is healthy (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

GROW = 1.25  # a fetch with nothing new waits a little longer next time
SHRINK = 0.75  # a fetch with new items comes back a little sooner


@dataclass(frozen=True, slots=True)
class FeedPolicy:
    default_interval: timedelta = timedelta(minutes=30)
    min_interval: timedelta = timedelta(minutes=10)
    max_interval: timedelta = timedelta(hours=4)
    max_backoff: timedelta = timedelta(hours=6)  # how slowly a failing feed is retried
    unhealthy_after: int = 5  # failures in a row
    unconditional_every: timedelta = timedelta(hours=24)  # 304s are not always the truth
    silent_factor: float = 4.0  # "silent": no new item for this many usual gaps
    silent_floor: timedelta = timedelta(days=2)


def next_interval(current: timedelta, new_items: int, policy: FeedPolicy) -> timedelta:
    """Adapt a feed's poll interval to how often it publishes, within the policy's bounds."""
    adapted: timedelta = current * (SHRINK if new_items else GROW)
    return max(policy.min_interval, min(policy.max_interval, adapted))


def retry_delay(interval: timedelta, failures: int, policy: FeedPolicy) -> timedelta:
    """Exponential back-off per feed, capped: a feed is slowed down, never given up on."""
    return min(interval * (1 << min(failures, 16)), policy.max_backoff)


def wants_unconditional(
    last_full_fetch: datetime | None, now: datetime, policy: FeedPolicy
) -> bool:
    return last_full_fetch is None or now - last_full_fetch >= policy.unconditional_every


def is_unhealthy(failures: int, policy: FeedPolicy) -> bool:
    return failures >= policy.unhealthy_after


def is_silent(
    last_new_item: datetime | None,
    items_per_day: float,
    first_fetched: datetime | None,
    now: datetime,
    policy: FeedPolicy,
) -> bool:
    """No new item for much longer than usual for this feed."""
    since = last_new_item or first_fetched
    if since is None:
        return False
    usual_gap = timedelta(days=1 / items_per_day) if items_per_day > 0 else policy.silent_floor
    return now - since > max(policy.silent_floor, usual_gap * policy.silent_factor)
