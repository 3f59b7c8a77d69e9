"""The rank stage (I/O shell): relevant items in the window -> stories -> an edition draft."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, selectinload

from briefing.config.taxonomy import UNKNOWN_SEGMENT, Taxonomy
from briefing.db.editions import SENT_STATUSES, SIZE_REASON, outlet_name
from briefing.db.engine import session_scope
from briefing.db.models import Edition, EditionEntry, EditionStatus, Item, ItemLabel, Story
from briefing.errors import UsageError
from briefing.rank.cluster import STORY_SPAN, ClusterItem, assign_stories
from briefing.rank.policy import RankPolicy
from briefing.rank.score import (
    StoryItem,
    choose_lead,
    grown_since_sent,
    primary_topic,
    score_story,
)
from briefing.rank.select import RankedStory, place_stories

LEDE_CHARS = 1500  # the opening of the article text tells two reports of one event apart


@dataclass(frozen=True, slots=True)
class RankReport:
    edition_id: int
    items: int
    stories: int
    entries: int
    repeats_left_out: int  # stories sent before that have not grown enough to come back


def run_rank(
    engine: Engine,
    taxonomy: Taxonomy,
    day: date,
    window: tuple[datetime, datetime],
    list_address: str,
    policy: RankPolicy,
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

        # The editor's changes survive a rebuild: found by story, or by item for a story
        # that has none yet; stories the editor added by hand keep their place.
        kept = edition.entries if edition else []
        edits = {(e.story_id or -e.item_id): e for e in kept}
        added = [e for e in kept if e.added_by_editor]
        for entry in added:
            by_story.pop(entry.story_id or -1, None)

        sent = _outlets_when_sent(session, day, list_address, list(by_story))
        topic_sections = policy.sections(list(taxonomy.topics))
        ranked, repeats = [], 0
        for story_id, members in by_story.items():
            update = False
            if story_id in sent:
                now = _outlets_by(session, story_id, end)
                if not grown_since_sent(sent[story_id], now):
                    repeats += 1
                    continue
                update = True
            edit = edits.get(story_id)
            ranked.append(
                _rank_story(
                    story_id,
                    members,
                    end,
                    topic_sections,
                    policy,
                    update,
                    edit.editor_section if edit else None,
                )
            )
        ranked += [_pinned(e) for e in added]
        placements = place_stories(ranked, topic_sections, policy)

        if edition is None:
            edition = Edition(
                edition_date=day, list_address=list_address, window_start=start, window_end=end
            )
            session.add(edition)
        edition.entries = []
        session.flush()
        for placement in placements:
            story = placement.story
            previous = edits.get(story.key if story.key > 0 else -story.lead_item_id)
            previous = previous or next((e for e in kept if e.item_id == story.lead_item_id), None)
            # The editor's removals stay; the size budget's are decided again at compose.
            removed = bool(previous and previous.removed and previous.removed_reason != SIZE_REASON)
            # The editor's choice of lead link stands while that report is in the story.
            reports = {m.id for m in by_story.get(story.key, [])}
            chosen = previous is not None and previous.lead_chosen and previous.item_id in reports
            edition.entries.append(
                EditionEntry(
                    item_id=previous.item_id if chosen and previous else story.lead_item_id,
                    lead_chosen=chosen,
                    story_id=story.key if story.key > 0 else None,
                    section=placement.section,
                    position=placement.position,
                    score=story.score,
                    score_parts=story.parts,
                    is_update=story.update,
                    editor_section=story.section,
                    title_override=previous.title_override if previous else None,
                    summary_override=previous.summary_override if previous else None,
                    removed=removed,
                    removed_reason=previous.removed_reason if removed and previous else None,
                    added_by_editor=previous.added_by_editor if previous else False,
                )
            )
        edition.window_start, edition.window_end = start, end
        session.flush()
        return RankReport(edition.id, len(in_window), len(ranked), len(placements), repeats)


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
                i.title,
                f"{i.summary} {(i.full_text or '')[:LEDE_CHARS]}",
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


def _outlets_when_sent(
    session: Session, day: date, list_address: str, story_ids: list[int]
) -> dict[int, int]:
    """For stories in an edition already sent: how many outlets carried them by then."""
    if not story_ids:
        return {}
    rows = session.execute(
        select(EditionEntry.story_id, func.max(Edition.window_end))
        .join(Edition)
        .where(
            Edition.list_address == list_address,
            Edition.edition_date < day,
            Edition.status.in_(SENT_STATUSES),
            EditionEntry.story_id.in_(story_ids),
            EditionEntry.removed.is_(False),
        )
        .group_by(EditionEntry.story_id)
    )
    return {
        story_id: _outlets_by(session, story_id, cutoff)
        for story_id, cutoff in rows
        if story_id is not None and cutoff is not None
    }


def _outlets_by(session: Session, story_id: int, cutoff: datetime) -> int:
    members = session.scalars(
        select(Item)
        .where(Item.story_id == story_id, Item.published_at < cutoff)
        .options(selectinload(Item.outlet))
    )
    return len({outlet_name(item) for item in members})


def story_item(item: Item) -> StoryItem:
    """A stored, labelled item as the scorer sees it."""
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
        paywalled=bool(item.outlet and item.outlet.paywalled),
    )


def _rank_story(
    story_id: int,
    members: list[Item],
    window_end: datetime,
    topic_sections: tuple[str, ...],
    policy: RankPolicy,
    update: bool,
    editor_section: str | None,
) -> RankedStory:
    items = [story_item(m) for m in members]
    topic = primary_topic(items, topic_sections)
    parts = score_story(items, window_end, topic, policy)
    lead = choose_lead(items)
    return RankedStory(
        key=story_id,
        lead_item_id=lead.item_id,
        lead_url=lead.url,
        score=round(sum(parts.values()), 3),
        parts=parts,
        topic=topic,
        region=lead.region,
        update=update,
        section=editor_section,
    )


def _pinned(entry: EditionEntry) -> RankedStory:
    """A story the editor added by hand: it stays in the section they chose."""
    return RankedStory(
        key=entry.story_id or -entry.item_id,
        lead_item_id=entry.item_id,
        lead_url=entry.item.url,
        score=entry.score,
        parts=dict(entry.score_parts),
        topic=None,
        region=None,
        section=entry.editor_section or entry.section,
    )
