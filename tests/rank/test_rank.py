from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from briefing.config.settings import load_settings
from briefing.config.taxonomy import default_taxonomy
from briefing.rank.cluster import ClusterItem, assign_stories
from briefing.rank.policy import DEFAULT_WEIGHTS, RankPolicy
from briefing.rank.score import (
    StoryItem,
    choose_lead,
    grown_since_sent,
    primary_topic,
    score_story,
)
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
        ClusterItem(1, "Record number of small boats cross the Channel in one day", "", T0, None),
        ClusterItem(2, "Small boats: record number cross Channel in a single day", "", T0, None),
        ClusterItem(3, "Bank of England holds interest rates", "", T0, None),
        ClusterItem(4, "Channel crossings record: small boats", "", T0 + timedelta(hours=1), 77),
    ]
    stories = assign_stories(items)
    assert stories[1] == stories[2] != stories[3]
    assert stories[4] == 77


def test_items_more_than_48_hours_apart_are_different_stories() -> None:
    text = "Record number of small boats cross the Channel"
    stories = assign_stories(
        [
            ClusterItem(1, text, "", T0, None),
            ClusterItem(2, text, "", T0 + timedelta(hours=49), None),
        ]
    )
    assert stories[1] != stories[2]


def story_item(
    n: int, segment: str, outlet: str, *, paywalled: bool = False, hours_old: float = 0
) -> StoryItem:
    return StoryItem(
        n,
        "t",
        f"https://x/{n}",
        "",
        outlet,
        segment,
        0.8,
        ("channel-crossings",),
        "uk",
        T0 - timedelta(hours=hours_old),
        paywalled,
    )


def test_lead_prefers_a_link_a_general_reader_can_open() -> None:
    items = [story_item(1, "right-leaning", "Mail"), story_item(2, "progressive", "Guardian")]
    assert choose_lead(items).item_id == 2


def test_a_paywalled_lead_gives_way_to_a_free_copy() -> None:
    times = story_item(1, "mixed-middle", "The Times", paywalled=True)
    wire_copy = story_item(2, "local-regional", "Yorkshire Post")
    assert choose_lead([times, wire_copy]).item_id == 2
    assert choose_lead([times]).item_id == 1  # no free copy: the paywalled one still leads


def test_score_parts_reward_breadth() -> None:
    policy = RankPolicy()
    one = score_story([story_item(1, "mixed-middle", "BBC")], T0, "channel-crossings", policy)
    three = score_story(
        [
            story_item(1, "mixed-middle", "BBC"),
            story_item(2, "progressive", "G"),
            story_item(3, "right-leaning", "Mail"),
        ],
        T0,
        "channel-crossings",
        policy,
    )
    assert sum(three.values()) > sum(one.values())
    assert one["outlets"] == 0 and three["outlets"] == round(0.35 * math.log2(3), 3)
    assert three["reach"] == 0.4  # mixed middle and right-leaning, 0.2 each
    assert set(one) == set(DEFAULT_WEIGHTS)  # every part the settings can weigh, and no other


def test_weights_from_the_settings_change_the_score() -> None:
    items = [story_item(1, "official", "GOV.UK", hours_old=30)]
    default = score_story(items, T0, "detention", RankPolicy())
    policy = load_settings({"BRIEFING_RANK_WEIGHTS": "official=2,confidence=0"}).rank_policy
    weighted = score_story(items, T0, "detention", policy)
    assert default["official"] == 0.1 and weighted["official"] == 2.0
    assert weighted["confidence"] == 0 and weighted["recency"] == 0  # 30 hours old
    not_priority = score_story(items, T0, "community-tensions", RankPolicy())
    assert default["priority_topic"] == 0.3 and not_priority["priority_topic"] == 0


def test_primary_topic_is_what_most_items_lead_with() -> None:
    def with_topics(n: int, *topics: str) -> StoryItem:
        return replace(story_item(n, "mixed-middle", f"o{n}"), topics=topics)

    items = [
        with_topics(1, "detention", "asylum-system"),
        with_topics(2, "asylum-system"),
        with_topics(3, "asylum-system", "detention"),
    ]
    assert primary_topic(items, ["detention", "asylum-system"]) == "asylum-system"
    tie = [with_topics(1, "asylum-system"), with_topics(2, "detention")]
    assert primary_topic(tie, ["detention", "asylum-system"]) == "detention"
    assert primary_topic([with_topics(1)], ["detention"]) is None


def test_a_story_sent_before_returns_only_when_it_has_grown() -> None:
    assert not grown_since_sent(4, 5)
    assert not grown_since_sent(4, 6)
    assert grown_since_sent(4, 7)
    assert grown_since_sent(1, 3)  # two more outlets that treble it
    assert not grown_since_sent(1, 2)


def ranked(n: int, topic: str = "channel-crossings", **changes: object) -> RankedStory:
    story = RankedStory(n, n, f"https://x/{n}", 100 - n, {}, topic, "uk")
    return replace(story, **changes)  # type: ignore[arg-type]


def test_sections_in_order_and_each_story_once() -> None:
    topics = ["channel-crossings", "asylum-system"]
    stories = [ranked(n, topics[n % 2], region="europe" if n == 8 else "uk") for n in range(9)]
    placed = place_stories(stories, topics, RankPolicy(top_stories=3))
    sections = [p.section for p in placed]
    assert sections[:3] == ["top-stories"] * 3
    assert sections[-1] == "europe"
    assert sections == sorted(sections, key=["top-stories", *topics, "europe"].index)
    assert sorted(p.story.key for p in placed) == list(range(9))
    assert [p.position for p in placed] == list(range(9))


def test_caps_leave_out_the_lowest_scored_stories() -> None:
    stories = [ranked(n) for n in range(20)]
    placed = place_stories(stories, ["channel-crossings"], RankPolicy(top_stories=2, section_max=3))
    assert [p.story.key for p in placed] == [0, 1, 2, 3, 4]
    overall = place_stories(stories, ["channel-crossings"], RankPolicy(max_entries=7))
    assert [p.story.key for p in overall] == list(range(7))


def test_the_editors_section_wins_and_is_never_capped() -> None:
    stories = [ranked(n) for n in range(6)]
    stories.append(ranked(99, section="detention"))  # moved there by the editor, lowest score
    placed = place_stories(
        stories, ["channel-crossings", "detention"], RankPolicy(top_stories=1, max_entries=3)
    )
    assert [(p.story.key, p.section) for p in placed] == [
        (0, "top-stories"),
        (1, "channel-crossings"),
        (99, "detention"),
    ]


def test_section_order_from_the_settings() -> None:
    policy = load_settings({"BRIEFING_SECTION_ORDER": "detention,asylum-system"}).rank_policy
    topics = list(default_taxonomy().topics)
    order = policy.sections(topics)
    assert order[:2] == ("detention", "asylum-system")
    assert sorted(order) == sorted(topics)
