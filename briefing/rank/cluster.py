"""Group items that report the same event (pure).

Single pass in time order: each new item joins the story whose items, taken together, are
most like it (TF-IDF cosine of title, summary and lede against the story's centroid), unless
its headline names a place or person the story hardly mentions: "hotel protest in Falkirk"
is not the Wakefield hotel protest of the day before, however alike the words around it.
The thresholds were chosen on tests/fixtures/stories.jsonl and the demo's sample.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

SAME_STORY_AT = 0.2  # cosine similarity to the story's centroid
SURELY_SAME = 0.35  # this alike, it is the same event whatever the headline names
SHARED_TERMS = 2  # words in common with one of its reports: one word ("inquiry") is chance
STORY_SPAN = timedelta(hours=48)  # from the story's first item
# A name is distinctive when few items of the batch mention it (not "Home Office", "Channel").
DISTINCTIVE_SHARE = 0.05
# A headline's distinctive name that fewer than this share of a story's items mention marks
# another event; a story of one report says too little to tell.
NAME_MENTIONED_BY = 1 / 3
VETO_AFTER = 2
# Curly quotes are written as escapes: \u2018 \u2019 \u201c \u201d.
_WORD = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)?")  # UK-France: two words
_SENTENCE = re.compile(r"[.!?:;\"\u201c\u201d\u2018\u2019()]\s+")


@dataclass(frozen=True, slots=True)
class ClusterItem:
    item_id: int
    title: str
    body: str  # summary and the opening of the text
    published_at: datetime
    story_id: int | None  # already assigned: kept as it is

    @property
    def text(self) -> str:
        return f"{self.title}. {self.body}"


def names(body: str) -> set[str]:
    """Words written with a capital inside a sentence: the names of places, people, bodies."""
    found: set[str] = set()
    for sentence in _SENTENCE.split(body):
        words = _WORD.findall(sentence)
        found.update(w.lower() for w in words[1:] if w[0].isupper())
    return found


def assign_stories(items: Sequence[ClusterItem]) -> dict[int, int | str]:
    """Story of every item: an existing story id, or a new key "new-<item_id>".

    Assignment is stable: items that have a story keep it, and a new item joins the most
    similar story (begun within 48 hours) instead of reshuffling old ones.
    """
    # Imported here: scikit-learn takes seconds to import, and most commands never cluster.
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    rows = sorted(items, key=lambda i: (i.published_at, i.text, i.item_id))
    if not rows:
        return {}
    texts = [i.text.lower() for i in rows]
    try:
        vectors = normalize(
            TfidfVectorizer(sublinear_tf=True, stop_words="english").fit_transform(texts)
        )
    except ValueError:  # no word worth counting in any item: nothing to group by
        return {i.item_id: i.story_id or f"new-{i.item_id}" for i in rows}
    words = [set(_WORD.findall(t)) for t in texts]
    present = (vectors > 0).astype(float)
    mentioned = [names(i.body) for i in rows]
    counts = Counter(name for found in mentioned for name in found)
    distinctive = {n for n, c in counts.items() if c <= max(1, DISTINCTIVE_SHARE * len(rows))}
    headline_names = [
        {w.lower() for w in _WORD.findall(i.title)} & mentioned[n] & distinctive
        for n, i in enumerate(rows)
    ]

    # Everything is computed against every row once; a story is a set of rows, and its
    # centroid's products follow from the rows' products.
    similar = (vectors @ vectors.T).toarray()
    shared = (present @ present.T).toarray()
    members = np.zeros((len(rows), len(rows)))  # story slot x row: 1 when a member
    norms2 = np.zeros(len(rows))  # squared length of each story's centroid
    first = np.full(len(rows), np.inf)  # each story's first publication, as a timestamp
    keys: list[int | str] = []
    slot_of: dict[int | str, int] = {}
    when = np.array([i.published_at.timestamp() for i in rows])

    def join(n: int, key: int | str) -> None:
        if key not in slot_of:
            slot_of[key] = len(keys)
            keys.append(key)
        slot = slot_of[key]
        norms2[slot] += 2 * members[slot] @ similar[n] + similar[n, n]
        members[slot, n] = 1
        first[slot] = min(first[slot], when[n])

    # Stories that exist already are whole before any new item is weighed against them.
    for n, item in enumerate(rows):
        if item.story_id is not None:
            join(n, item.story_id)

    def names_unexplained(n: int, slot: int) -> bool:
        rows_in = np.flatnonzero(members[slot])
        if len(rows_in) < VETO_AFTER:
            return False
        return any(
            sum(name in words[m] for m in rows_in) < NAME_MENTIONED_BY * len(rows_in)
            for name in headline_names[n]
        )

    assignment: dict[int, int | str] = {}
    for n, item in enumerate(rows):
        if item.story_id is not None:
            assignment[item.item_id] = item.story_id
            continue
        count = len(keys)
        cosine = members[:count] @ similar[n] / np.sqrt(np.maximum(norms2[:count], 1e-12))
        in_common = (members[:count] * shared[n]).max(axis=1, initial=0)
        eligible = (
            (cosine >= SAME_STORY_AT)
            & (in_common >= SHARED_TERMS)
            & (when[n] - first[:count] <= STORY_SPAN.total_seconds())
        )
        key: int | str = f"new-{item.item_id}"
        for slot in sorted(map(int, np.flatnonzero(eligible)), key=lambda s: (-cosine[s], s)):
            if cosine[slot] >= SURELY_SAME or not names_unexplained(n, slot):
                key = keys[slot]
                break
        join(n, key)
        assignment[item.item_id] = key
    return assignment
