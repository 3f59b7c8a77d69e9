"""The rank stage (I/O shell): relevant items in the window -> stories -> an edition draft."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, selectinload

from briefing.config.taxonomy import UNKNOWN_SEGMENT, Taxonomy
from briefing.db.editions import outlet_name
from briefing.db.engine import session_scope
from briefing.db.models import Edition, EditionEntry, EditionStatus, Item, ItemLabel, Story
from briefing.errors import UsageError
from briefing.rank.cluster import STORY_SPAN, ClusterItem, assign_stories
from briefing.rank.score import StoryItem, choose_lead, primary_topic, score_story
from briefing.rank.select import RankedStory, place_stories

LEDE_CHARS = 1500  # the opening of the article text tells two reports of one event apart


@dataclass(frozen=True, slots=True)
class RankReport:
    edition_id: int
    items: int
    stories: int
    entries: int


def run_rank(
    engine: Engine,
    taxonomy: Taxonomy,
    day: date,
    window: tuple[datetime, datetime],
    list_address: str,
) -> RankReport:
    start, end = window
    with session_scope(engine) as session:
        edition = session.scalar(
            select(Edition).where(Edition.edition_date == day, Edition.list_address == list_address)
        )
        if edition is not None and edition.status != EditionStatus.DRAFT:
            raise UsageError(f"the {day} edition is {edition.status}; it is not rebuilt")
        items = _relevant_items(session, start - STORY_SPAN, end)
        _assign_stories(session, items)
        in_window = [i for i in items if start <= i.published_at < end]
        by_story: dict[int, list[Item]] = defaultdict(list)
        for item in in_window:
            assert item.story_id is not None
            by_story[item.story_id].append(item)
        topic_order = list(taxonomy.topics)
        ranked = [
            _rank_story(story_id, members, end, topic_order)
            for story_id, members in by_story.items()
        ]
        placements = place_stories(ranked, topic_order)

        if edition is None:
            edition = Edition(
                edition_date=day, list_address=list_address, window_start=start, window_end=end
            )
            session.add(edition)
        kept = {e.item_id: e for e in edition.entries}  # the editor's changes survive a rebuild
        edition.entries = []
        session.flush()
        for placement in placements:
            story = placement.story
            previous = kept.get(story.lead_item_id)
            edition.entries.append(
                EditionEntry(
                    item_id=story.lead_item_id,
                    story_id=story.key,
                    section=placement.section,
                    position=placement.position,
                    score=story.score,
                    score_parts=story.parts,
                    title_override=previous.title_override if previous else None,
                    summary_override=previous.summary_override if previous else None,
                    removed=previous.removed if previous else False,
                    removed_reason=previous.removed_reason if previous else None,
                )
            )
        edition.window_start, edition.window_end = start, end
        session.flush()
        return RankReport(edition.id, len(in_window), len(ranked), len(placements))


def _relevant_items(session: Session, since: datetime, until: datetime) -> list[Item]:
    query = (
        select(Item)
        .join(ItemLabel)
        .where(ItemLabel.relevant, Item.published_at >= since, Item.published_at < until)
        .options(selectinload(Item.label).selectinload(ItemLabel.topics), selectinload(Item.outlet))
        .order_by(Item.published_at, Item.id)
    )
    return list(session.scalars(query))


def _assign_stories(session: Session, items: list[Item]) -> None:
    assignment = assign_stories(
        [
            ClusterItem(
                i.id,
                f"{i.title}. {i.summary} {(i.full_text or '')[:LEDE_CHARS]}",
                i.published_at,
                i.story_id,
            )
            for i in items
        ]
    )
    new_stories: dict[str, Story] = {}
    by_id = {i.id: i for i in items}
    for item_id, key in assignment.items():
        item = by_id[item_id]
        if isinstance(key, int):
            item.story_id = key
            continue
        if key not in new_stories:
            new_stories[key] = Story(first_published_at=item.published_at)
            session.add(new_stories[key])
            session.flush()
        item.story_id = new_stories[key].id
    session.flush()


def _story_item(item: Item) -> StoryItem:
    label = item.label
    assert label is not None
    return StoryItem(
        item_id=item.id,
        title=item.title,
        url=item.url,
        summary=item.summary,
        outlet=outlet_name(item),
        segment=label.segment or UNKNOWN_SEGMENT,
        relevance=label.relevance,
        topics=tuple(t.topic for t in label.topics),
        region=label.region,
        published_at=item.published_at,
    )


def _rank_story(
    story_id: int, members: list[Item], window_end: datetime, topic_order: list[str]
) -> RankedStory:
    items = [_story_item(m) for m in members]
    parts = score_story(items, window_end)
    lead = choose_lead(items)
    return RankedStory(
        key=story_id,
        lead_item_id=lead.item_id,
        lead_url=lead.url,
        score=round(sum(parts.values()), 3),
        parts=parts,
        topic=primary_topic(items, topic_order),
        region=lead.region,
    )
