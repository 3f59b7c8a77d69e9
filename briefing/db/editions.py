"""Edition queries shared by compose, the web app and the CLI (I/O)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from briefing.compose.context import (
    AlsoLink,
    Draft,
    DraftEntry,
    DraftSection,
    make_subject,
    one_line,
    section_title,
    segment_balance,
    segment_flag,
)
from briefing.config.taxonomy import UNKNOWN_SEGMENT, Taxonomy
from briefing.db.models import Edition, EditionEntry, EditionStatus, Item, ItemLabel
from briefing.errors import NotFoundError

# Editions that went (or may have gone) to the list: their stories are not repeated.
SENT_STATUSES = (EditionStatus.SENDING, EditionStatus.SENT, EditionStatus.UNKNOWN)


# Why an entry is out of the email when the size budget, not the editor, removed it.
SIZE_REASON = "size"


def previous_cutoff(session: Session, day: date, list_address: str) -> datetime | None:
    """Where the last edition before `day` stopped: the next one starts there."""
    return session.scalar(
        select(Edition.window_end)
        .where(Edition.edition_date < day, Edition.list_address == list_address)
        .order_by(Edition.edition_date.desc())
        .limit(1)
    )


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
    segment_order = list(taxonomy.segments)
    shown = [entry for entry in edition.entries if not entry.removed]
    reports = _story_reports(session, edition, [e.story_id for e in shown if e.story_id])
    for entry in shown:
        others = [i for i in reports.get(entry.story_id or 0, []) if i.id != entry.item_id]
        sections.setdefault(entry.section, []).append(_draft_entry(entry, others, segment_order))
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
        edition.dropped_for_size,
    )


def _story_reports(
    session: Session, edition: Edition, story_ids: list[int]
) -> dict[int, list[Item]]:
    """Every report of the edition's stories up to its cut-off, in one query."""
    if not story_ids:
        return {}
    items = session.scalars(
        select(Item)
        .where(Item.story_id.in_(set(story_ids)), Item.published_at < edition.window_end)
        .options(selectinload(Item.outlet), selectinload(Item.label))
        .order_by(Item.published_at, Item.canonical_url)
    )
    grouped: dict[int, list[Item]] = {}
    for item in items:
        grouped.setdefault(item.story_id or 0, []).append(item)
    return grouped


def _segment(item: Item) -> str:
    if item.label and item.label.segment:
        return item.label.segment
    return item.outlet.segment if item.outlet and item.outlet.segment else UNKNOWN_SEGMENT


def _draft_entry(entry: EditionEntry, others: list[Item], segment_order: list[str]) -> DraftEntry:
    item = entry.item
    label = item.label
    outlet = outlet_name(item)
    also: list[AlsoLink] = []
    segments = {outlet: _segment(item)}
    for other in others:
        name = outlet_name(other)
        if name not in segments:
            segments[name] = _segment(other)
            paywalled = bool(other.outlet and other.outlet.paywalled)
            also.append(AlsoLink(name, other.canonical_url, paywalled))
    balance = segment_balance(list(segments.values()), segment_order)
    return DraftEntry(
        item_id=item.id,
        title=entry.title_override or item.title,
        url=item.canonical_url,
        outlet=outlet,
        segment=segments[outlet],
        topics=tuple(t.topic for t in label.topics) if label else (),
        region=label.region if label else None,
        summary=(
            entry.summary_override if entry.summary_override is not None else one_line(item.summary)
        ),
        score=entry.score,
        also=tuple(also),
        balance=balance,
        flag=segment_flag(balance),
        update=entry.is_update,
        paywalled=bool(item.outlet and item.outlet.paywalled),
    )
