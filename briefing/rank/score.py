"""A score per story that decomposes into its parts (pure)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from briefing.rank.policy import RankPolicy

READABLE_LEAD_SEGMENTS = ("mixed-middle", "progressive", "official")


@dataclass(frozen=True, slots=True)
class StoryItem:
    item_id: int
    title: str
    url: str
    summary: str
    outlet: str
    segment: str
    relevance: float
    topics: tuple[str, ...]
    region: str | None
    published_at: datetime
    paywalled: bool = False


def score_story(
    items: Sequence[StoryItem], window_end: datetime, topic: str | None, policy: RankPolicy
) -> dict[str, float]:
    """Score parts, each a signal times its weight; their sum is the story's score."""
    outlets = {i.outlet for i in items}
    segments = {i.segment for i in items}
    newest = max(i.published_at for i in items)
    hours_old = max(0.0, (window_end - newest).total_seconds() / 3600)
    signals = {
        "confidence": max(i.relevance for i in items),
        "outlets": math.log2(len(outlets)),
        "segments": len(segments) - 1,
        "priority_topic": float(topic in policy.priority_topics),
        "reach": sum(policy.segment_weights.get(s, 0.0) for s in segments),
        "official": float("official" in segments),
        "recency": max(0.0, 1 - hours_old / 24),
    }
    return {part: round(policy.weights.get(part, 0.0) * v, 3) for part, v in signals.items()}


def choose_lead(items: Sequence[StoryItem]) -> StoryItem:
    """The link a general reader can open: a free copy before a paywalled one, then
    mixed-middle, progressive or official outlets before the rest."""

    def rank(item: StoryItem) -> tuple[bool, int, float, datetime, str]:
        preferred = (
            READABLE_LEAD_SEGMENTS.index(item.segment)
            if item.segment in READABLE_LEAD_SEGMENTS
            else len(READABLE_LEAD_SEGMENTS)
        )
        # Ties go to the earliest report, then by address: never to database ids, which
        # depend on the order concurrent downloads happened to finish.
        return (item.paywalled, preferred, -item.relevance, item.published_at, item.url)

    return min(items, key=rank)


def primary_topic(items: Sequence[StoryItem], topic_order: Sequence[str]) -> str | None:
    """The topic most of the story's items lead with; ties go to the earlier section."""
    counts = Counter(item.topics[0] for item in items if item.topics)
    if not counts:
        return None
    rank = {t: n for n, t in enumerate(topic_order)}
    return min(counts, key=lambda t: (-counts[t], rank.get(t, len(rank)), t))


def grown_since_sent(outlets_then: int, outlets_now: int) -> bool:
    """A story already sent comes back, marked as an update, only when it has grown
    substantially: three more outlets, or two more that at least double its coverage."""
    new = outlets_now - outlets_then
    return new >= 3 or (new >= 2 and outlets_now >= 2 * outlets_then)
