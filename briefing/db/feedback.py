"""The curator's corrections as labelled examples for training (I/O)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from briefing.classify.data import Example
from briefing.db.models import CurationEvent, Item, ItemLabel
from briefing.rank.select import REGION_SECTIONS


def feedback_examples(session: Session, weight: float) -> list[Example]:
    """Removed as not relevant -> irrelevant; moved to a section or added by URL -> relevant,
    with that section's topic (or region). The latest event about an item wins."""
    events = session.execute(
        select(CurationEvent, Item)
        .join(Item, CurationEvent.item_id == Item.id)
        .where(CurationEvent.action.in_(("remove", "move", "add")))
        .options(selectinload(Item.label).selectinload(ItemLabel.topics))
        .order_by(CurationEvent.created_at, CurationEvent.id)
    ).all()
    latest: dict[int, Example] = {}
    for event, item in events:
        label = item.label
        topics = tuple(t.topic for t in label.topics) if label else ()
        region = label.region if label else None
        section = str(event.detail.get("section") or "")
        if event.action == "remove":
            if event.detail.get("reason") != "not_relevant":
                continue  # a duplicate or a low-value story is still migration news
            relevant, topics, region = False, (), None
        else:
            relevant = True
            if section in REGION_SECTIONS:
                region = section
            elif section and section != "top-stories":
                topics = (section, *(t for t in topics if t != section))[:3]
        if relevant and not topics:
            continue  # nothing to learn a topic from
        latest[item.id] = Example(
            id=f"feedback:{item.id}",
            title=item.title,
            summary=item.summary,
            relevant=relevant,
            topics=topics,
            region=region or ("uk" if relevant else None),
            full_text=item.full_text or "",
            weight=weight,
        )
    return list(latest.values())
