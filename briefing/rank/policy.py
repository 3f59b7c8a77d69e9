"""How stories are scored and placed: the defaults of the ranking settings (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

# Each score part is a signal in 0..1 (or a little above, for breadth) times its weight.
DEFAULT_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {
        "confidence": 1.0,  # the classifier's relevance of the story's surest item
        "outlets": 0.35,  # breadth: log2 of the number of outlets
        "segments": 0.15,  # breadth: each audience segment beyond the first
        "priority_topic": 0.3,  # the story's main topic is one the charity watches most
        "reach": 1.0,  # the segment weights of the segments that carry the story
        "official": 0.1,  # a government or official source carries it
        "recency": 0.2,  # newer stories first: 1 at the cut-off, 0 a day before
    }
)
# Coverage in these segments signals what the wider public reads.
DEFAULT_SEGMENT_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {"mixed-middle": 0.2, "right-leaning": 0.2}
)
DEFAULT_PRIORITY_TOPICS = (
    "channel-crossings",
    "asylum-system",
    "destitution",
    "eu-citizens-euss",
    "legal-migration",
    "safe-routes-resettlement",
    "detention",
)
TOP_STORIES = 5
MAX_ENTRIES = 60
SECTION_MAX = 12


@dataclass(frozen=True)
class RankPolicy:
    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    segment_weights: Mapping[str, float] = field(
        default_factory=lambda: dict(DEFAULT_SEGMENT_WEIGHTS)
    )
    priority_topics: tuple[str, ...] = DEFAULT_PRIORITY_TOPICS
    top_stories: int = TOP_STORIES
    max_entries: int = MAX_ENTRIES
    section_max: int = SECTION_MAX
    topic_order: tuple[str, ...] = ()  # sections after the top stories; empty: taxonomy order

    def sections(self, taxonomy_topics: Sequence[str]) -> tuple[str, ...]:
        """Topic sections in order: those the settings list, then the rest as the taxonomy
        orders them."""
        listed = [t for t in self.topic_order if t in taxonomy_topics]
        return (*listed, *(t for t in taxonomy_topics if t not in listed))
