"""Group items that report the same event (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

SAME_STORY_AT = 0.25  # cosine similarity of title, summary and lede
SHARED_TERMS = 2  # and at least this many words in common: one word ("inquiry") is chance
STORY_SPAN = timedelta(hours=48)


@dataclass(frozen=True, slots=True)
class ClusterItem:
    item_id: int
    text: str  # title, summary and the opening of the text
    published_at: datetime
    story_id: int | None  # already assigned: kept as it is


def assign_stories(items: Sequence[ClusterItem]) -> dict[int, int | str]:
    """Story of every item: an existing story id, or a new key "new-<item_id>".

    Assignment is stable: items that have a story keep it, and a new item joins the most
    similar story (within 48 hours) instead of reshuffling old ones.
    """
    # Imported here: scikit-learn takes seconds to import, and most commands never cluster.
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import cosine_similarity

    ordered = sorted(items, key=lambda i: (i.published_at, i.text, i.item_id))
    if not ordered:
        return {}
    vectors = (
        TfidfVectorizer(sublinear_tf=True, stop_words="english").fit_transform(
            [i.text for i in ordered]
        )
        if any(i.text.strip() for i in ordered)
        else None
    )
    similarity = shared = None
    if vectors is not None:
        similarity = cosine_similarity(vectors)
        present = (vectors > 0).astype(float)
        shared = (present @ present.T).toarray()
    story: dict[int, int | str] = {}
    for n, item in enumerate(ordered):
        if item.story_id is not None:
            story[item.item_id] = item.story_id
            continue
        best, best_score = None, SAME_STORY_AT
        for m in range(n):
            other = ordered[m]
            if item.published_at - other.published_at > STORY_SPAN or similarity is None:
                continue
            assert shared is not None
            if similarity[n, m] >= best_score and shared[n, m] >= SHARED_TERMS:
                best, best_score = other.item_id, float(similarity[n, m])
        story[item.item_id] = story[best] if best is not None else f"new-{item.item_id}"
    return story
