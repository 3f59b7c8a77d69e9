"""Edition queries shared by compose, the web app and the CLI (I/O)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from briefing.compose.context import (
    AlsoLink,
    Draft,
    DraftEntry,
    DraftSection,
    make_subject,
    section_title,
)
from briefing.config.taxonomy import UNKNOWN_SEGMENT, Taxonomy
from briefing.db.models import Edition, EditionEntry, Item, ItemLabel
from briefing.errors import NotFoundError


def find_edition(session: Session, day: date, list_address: str) -> Edition:
    edition = session.scalar(
        select(Edition)
        .where(Edition.edition_date == day, Edition.list_address == list_address)
        .options(
            selectinload(Edition.entries)
            .selectinload(EditionEntry.item)
            .selectinload(Item.label)
            .selectinload(ItemLabel.topics),
            selectinload(Edition.entries).selectinload(EditionEntry.item).selectinload(Item.outlet),
        )
    )
    if edition is None:
        raise NotFoundError("edition", day.isoformat())
    return edition


def outlet_name(item: Item) -> str:
    """The outlet's name; for a publisher not in sources.yaml, what the aggregator called it."""
    if item.outlet:
        return item.outlet.name
    return item.publisher_name or item.publisher_domain


def load_draft(session: Session, edition: Edition, taxonomy: Taxonomy) -> Draft:
    sections: dict[str, list[DraftEntry]] = {}
    for entry in edition.entries:
        if entry.removed:
            continue
        sections.setdefault(entry.section, []).append(_draft_entry(session, edition, entry))
    draft_sections = tuple(
        DraftSection(slug, section_title(slug, taxonomy.topics), tuple(entries))
        for slug, entries in sections.items()
    )
    top = draft_sections[0].entries[0].title if draft_sections else None
    return Draft(
        edition.edition_date,
        edition.status,
        make_subject(edition.edition_date, top),
        edition.intro,
        draft_sections,
    )


def _draft_entry(session: Session, edition: Edition, entry: EditionEntry) -> DraftEntry:
    item = entry.item
    label = item.label
    outlet = outlet_name(item)
    also: list[AlsoLink] = []
    if entry.story_id is not None:
        seen = {outlet}
        others = session.scalars(
            select(Item)
            .where(
                Item.story_id == entry.story_id,
                Item.id != item.id,
                Item.published_at < edition.window_end,
            )
            .options(selectinload(Item.outlet))
            .order_by(Item.published_at, Item.canonical_url)
        )
        for other in others:
            name = outlet_name(other)
            if name not in seen:
                seen.add(name)
                also.append(AlsoLink(name, other.canonical_url))
    return DraftEntry(
        item_id=item.id,
        title=entry.title_override or item.title,
        url=item.canonical_url,
        outlet=outlet,
        segment=label.segment if label else UNKNOWN_SEGMENT,
        topics=tuple(t.topic for t in label.topics) if label else (),
        region=label.region if label else None,
        summary=entry.summary_override if entry.summary_override is not None else item.summary,
        score=entry.score,
        also=tuple(also),
    )
