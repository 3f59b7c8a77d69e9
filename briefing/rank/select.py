"""Stories into sections, in order, within the caps (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

TOP_STORIES = 5
MAX_ENTRIES = 60
REGION_SECTIONS = ("europe", "international")


@dataclass(frozen=True, slots=True)
class RankedStory:
    key: int  # story id
    lead_item_id: int
    lead_url: str  # breaks ties in a stable way
    score: float
    parts: dict[str, float]
    topic: str | None
    region: str | None


@dataclass(frozen=True, slots=True)
class Placement:
    story: RankedStory
    section: str
    position: int  # across the whole edition, from 0


def place_stories(
    stories: Sequence[RankedStory],
    topic_order: Sequence[str],
    top: int = TOP_STORIES,
    cap: int = MAX_ENTRIES,
) -> list[Placement]:
    """Top stories first, then one section per topic in the taxonomy's order, then Europe and
    International; every story once; empty sections simply do not appear."""
    ranked = sorted(stories, key=lambda s: (-s.score, s.lead_url))[:cap]
    order = ["top-stories", *topic_order, *REGION_SECTIONS]
    by_section: dict[str, list[RankedStory]] = {slug: [] for slug in order}
    for n, story in enumerate(ranked):
        if n < top:
            section = "top-stories"
        elif story.region in REGION_SECTIONS:
            section = str(story.region)
        else:
            section = story.topic if story.topic in by_section else "top-stories"
        by_section[section].append(story)
    placements: list[Placement] = []
    for slug in order:
        for story in by_section[slug]:
            placements.append(Placement(story, slug, len(placements)))
    return placements
