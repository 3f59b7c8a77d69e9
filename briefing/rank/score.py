"""A score per story that decomposes into its parts (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

PRIORITY_TOPICS = frozenset(
    {
        "channel-crossings",
        "asylum-system",
        "destitution",
        "eu-citizens-euss",
        "legal-migration",
        "safe-routes-resettlement",
        "detention",
    }
)
WIDE_REACH_SEGMENTS = frozenset({"mixed-middle", "right-leaning"})
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


def score_story(items: Sequence[StoryItem], window_end: datetime) -> dict[str, float]:
    """Score parts; their sum is the story's score."""
    outlets = {i.outlet for i in items}
    segments = {i.segment for i in items}
    topics = {t for i in items for t in i.topics}
    newest = max(i.published_at for i in items)
    hours_old = max(0.0, (window_end - newest).total_seconds() / 3600)
    return {
        "confidence": round(max(i.relevance for i in items), 3),
        "outlets": round(0.25 * (len(outlets) - 1), 3),
        "segments": round(0.15 * (len(segments) - 1), 3),
        "priority_topic": 0.3 if topics & PRIORITY_TOPICS else 0.0,
        "wide_reach": 0.2 if segments & WIDE_REACH_SEGMENTS else 0.0,
        "official": 0.1 if "official" in segments else 0.0,
        "recency": round(max(0.0, 0.2 * (1 - hours_old / 24)), 3),
    }


def choose_lead(items: Sequence[StoryItem]) -> StoryItem:
    """The link a general reader can open: mixed-middle, progressive or official first."""

    def rank(item: StoryItem) -> tuple[int, float, datetime, str]:
        preferred = (
            READABLE_LEAD_SEGMENTS.index(item.segment)
            if item.segment in READABLE_LEAD_SEGMENTS
            else len(READABLE_LEAD_SEGMENTS)
        )
        # Ties go to the earliest report, then by address: never to database ids, which
        # depend on the order concurrent downloads happened to finish.
        return (preferred, -item.relevance, item.published_at, item.url)

    return min(items, key=rank)


def primary_topic(items: Sequence[StoryItem], topic_order: Sequence[str]) -> str | None:
    counts: dict[str, int] = {}
    for item in items:
        if item.topics:
            counts[item.topics[0]] = counts.get(item.topics[0], 0) + 1
    if not counts:
        return None
    return min(counts, key=lambda t: (-counts[t], topic_order.index(t)))
