"""Story grouping against a fixture with known stories (tests/fixtures/stories.jsonl: 220
reports of 57 events from 5 days, written for this project, with wire copy reprinted under
several titles and look-alike events that must stay apart)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from datetime import datetime, timedelta

import pytest

from briefing.rank.cluster import ClusterItem, assign_stories, names
from tests.conftest import FIXTURES

Assignment = Mapping[int, object]


def load() -> tuple[list[ClusterItem], dict[int, str]]:
    items, truth = [], {}
    for n, line in enumerate((FIXTURES / "stories.jsonl").read_text(encoding="utf-8").splitlines()):
        row = json.loads(line)
        published = datetime.fromisoformat(row["published"].replace("Z", "+00:00"))
        body = f"{row['summary']} {row['lede']}"
        items.append(ClusterItem(n, row["title"], body, published, None))
        truth[n] = row["story"]
    return items, truth


def same_story_pairs(assignment: Assignment) -> set[tuple[int, int]]:
    return {
        (a, b)
        for a, b in itertools.combinations(sorted(assignment), 2)
        if assignment[a] == assignment[b]
    }


def pairwise(found: Assignment, truth: Assignment) -> tuple[float, float]:
    predicted, actual = same_story_pairs(found), same_story_pairs(truth)
    hits = len(predicted & actual)
    return hits / len(predicted), hits / len(actual)


def test_pairwise_precision_and_recall_on_known_stories() -> None:
    items, truth = load()
    precision, recall = pairwise(assign_stories(items), truth)
    print(f"pairwise precision {precision:.3f}, recall {recall:.3f}")
    assert precision >= 0.9 and recall >= 0.9


def test_items_arriving_in_fetch_cycles_keep_their_stories_and_group_as_well() -> None:
    """As in production: every few hours the new items are grouped, and the stories that
    exist already never change."""
    items, truth = load()
    items.sort(key=lambda i: i.published_at)
    assigned: dict[int, int] = {}
    story_ids = itertools.count(1)
    cycle_end = items[0].published_at
    while len(assigned) < len(items):
        cycle_end += timedelta(hours=6)
        batch = [
            ClusterItem(i.item_id, i.title, i.body, i.published_at, assigned.get(i.item_id))
            for i in items
            if i.published_at < cycle_end and cycle_end - i.published_at <= timedelta(hours=96)
        ]
        before = {i.item_id: i.story_id for i in batch if i.story_id is not None}
        result = assign_stories(batch)
        assert {k: result[k] for k in before} == before  # nothing already grouped moves
        new_keys: dict[object, int] = {}
        for item_id, key in result.items():
            if item_id not in assigned:
                assigned[item_id] = (
                    key if isinstance(key, int) else new_keys.setdefault(key, next(story_ids))
                )
    precision, recall = pairwise(assigned, truth)
    print(f"in 6-hour cycles: pairwise precision {precision:.3f}, recall {recall:.3f}")
    assert precision >= 0.9 and recall >= 0.9


def test_wire_copy_under_different_addresses_is_one_story() -> None:
    items, _truth = load()
    found = assign_stories(items)
    by_title: dict[str, set[object]] = {}
    for item in items:
        by_title.setdefault(item.title, set()).add(found[item.item_id])
    assert max(len(found) for found in by_title.values()) == 1  # one headline, one story
    assert len(by_title) < len(items)  # the fixture does reprint headlines


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("Police in Wakefield said the protest outside the hotel was peaceful.", {"wakefield"}),
        ("Five died off Wimereux. The Home Office said so.", {"wimereux", "home", "office"}),
        ("Nobody was named.", set()),
    ],
)
def test_names_are_words_capitalised_inside_a_sentence(body: str, expected: set[str]) -> None:
    assert names(body) == expected
