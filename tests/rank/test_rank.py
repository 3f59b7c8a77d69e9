from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from briefing.rank.cluster import ClusterItem, assign_stories
from briefing.rank.score import StoryItem, choose_lead, score_story
from briefing.rank.select import RankedStory, place_stories
from briefing.rank.window import edition_window

LONDON = ZoneInfo("Europe/London")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
T0 = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)


def test_monday_covers_the_weekend() -> None:
    start, end = edition_window(date(2026, 3, 9), time(6, 30), LONDON, WEEKDAYS)
    assert start == datetime(2026, 3, 6, 6, 30, tzinfo=UTC)
    assert end == datetime(2026, 3, 9, 6, 30, tzinfo=UTC)


def test_window_in_british_summer_time() -> None:
    start, end = edition_window(date(2026, 3, 31), time(6, 30), LONDON, WEEKDAYS)
    assert (start, end) == (
        datetime(2026, 3, 30, 5, 30, tzinfo=UTC),
        datetime(2026, 3, 31, 5, 30, tzinfo=UTC),
    )


def test_same_event_groups_and_old_assignments_stay() -> None:
    items = [
        ClusterItem(1, "Record number of small boats cross the Channel in one day", T0, None),
        ClusterItem(2, "Small boats: record number cross Channel in a single day", T0, None),
        ClusterItem(3, "Bank of England holds interest rates", T0, None),
        ClusterItem(4, "Channel crossings record: small boats day", T0 + timedelta(hours=1), 77),
    ]
    stories = assign_stories(items)
    assert stories[1] == stories[2] != stories[3]
    assert stories[4] == 77


def test_items_more_than_48_hours_apart_are_different_stories() -> None:
    text = "Record number of small boats cross the Channel"
    stories = assign_stories(
        [ClusterItem(1, text, T0, None), ClusterItem(2, text, T0 + timedelta(hours=49), None)]
    )
    assert stories[1] != stories[2]


def story_item(n: int, segment: str, outlet: str) -> StoryItem:
    return StoryItem(
        n, "t", f"https://x/{n}", "", outlet, segment, 0.8, ("channel-crossings",), "uk", T0
    )


def test_lead_prefers_a_link_a_general_reader_can_open() -> None:
    items = [story_item(1, "right-leaning", "Mail"), story_item(2, "progressive", "Guardian")]
    assert choose_lead(items).item_id == 2


def test_score_parts_reward_breadth() -> None:
    one = score_story([story_item(1, "mixed-middle", "BBC")], T0)
    three = score_story(
        [
            story_item(1, "mixed-middle", "BBC"),
            story_item(2, "progressive", "G"),
            story_item(3, "right-leaning", "Mail"),
        ],
        T0,
    )
    assert sum(three.values()) > sum(one.values())
    assert three["outlets"] == 0.5


def test_sections_in_order_and_each_story_once() -> None:
    topics = ["channel-crossings", "asylum-system"]
    stories = [
        RankedStory(n, n, f"https://x/{n}", 10 - n, {}, topics[n % 2], "europe" if n == 8 else "uk")
        for n in range(9)
    ]
    placed = place_stories(stories, topics, top=3)
    sections = [p.section for p in placed]
    assert sections[:3] == ["top-stories"] * 3
    assert sections[-1] == "europe"
    assert sections == sorted(sections, key=["top-stories", *topics, "europe"].index)
    assert sorted(p.story.key for p in placed) == list(range(9))
    assert [p.position for p in placed] == list(range(9))
