"""Stories into sections, in order, within the caps (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from briefing.rank.policy import RankPolicy

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
    update: bool = False  # sent before and grown since
    section: str | None = None  # where the editor moved it; wins over the topic


@dataclass(frozen=True, slots=True)
class Placement:
    story: RankedStory
    section: str
    position: int  # across the whole edition, from 0


def place_stories(
    stories: Sequence[RankedStory], topic_sections: Sequence[str], policy: RankPolicy
) -> list[Placement]:
    """Top stories first, then one section per topic, then Europe and International; every
    story once; a full section or edition leaves out its lowest-scored stories; empty
    sections simply do not appear."""
    order = ["top-stories", *topic_sections, *REGION_SECTIONS]
    by_section: dict[str, list[RankedStory]] = {slug: [] for slug in order}
    by_score = sorted(stories, key=lambda s: (-s.score, s.lead_url))
    # The editor's choices first: a story they moved or added is never left out.
    chosen = [s for s in by_score if s.section in by_section]
    for story in chosen:
        by_section[str(story.section)].append(story)
    placed = len(chosen)
    for story in by_score:
        if placed >= policy.max_entries:
            break
        if story.section in by_section:
            continue
        if len(by_section["top-stories"]) < policy.top_stories:
            section = "top-stories"
        elif story.region in REGION_SECTIONS:
            section = str(story.region)
        else:
            section = story.topic if story.topic in by_section else "top-stories"
        if section != "top-stories" and len(by_section[section]) >= policy.section_max:
            continue
        by_section[section].append(story)
        placed += 1
    placements: list[Placement] = []
    for slug in order:
        for story in sorted(by_section[slug], key=lambda s: (-s.score, s.lead_url)):
            placements.append(Placement(story, slug, len(placements)))
    return placements
