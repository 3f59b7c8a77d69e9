"""What an editor does to a draft (I/O: one transaction each, called by the web layer).

Every action names the edition version the editor was looking at; if someone else changed
the edition since, it is refused with a message instead of silently overwriting their work.
Each one is written to the audit log, and those that say something about the news (removed
as not relevant, moved to a section) become training feedback (db/feedback.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from briefing.db.editions import find_edition
from briefing.db.models import CurationEvent, Edition, EditionEntry, EditionStatus, Item
from briefing.db.users import Account, audit
from briefing.errors import BriefingError, UsageError

REMOVE_REASONS = {
    "not_relevant": "not relevant",
    "duplicate": "duplicate",
    "low_value": "low value",
}
EDITABLE = (EditionStatus.DRAFT, EditionStatus.APPROVED)


class ConflictError(BriefingError):
    exit_code = 1
    default_message = (
        "someone else changed this edition since you opened it; reload to see their changes"
    )


def editable(session: Session, day: date, list_address: str, version: int) -> Edition:
    """The edition, if it may still change and nobody changed it since `version`."""
    edition = find_edition(session, day, list_address)
    if edition.status not in EDITABLE:
        raise UsageError(f"the {day} edition is {edition.status}: it can no longer change")
    if edition.version != version:
        raise ConflictError()
    return edition


def _entry(edition: Edition, entry_id: int) -> EditionEntry:
    for entry in edition.entries:
        if entry.id == entry_id:
            return entry
    raise UsageError("that story is not in this edition (reload the page)")


def _changed(
    session: Session,
    edition: Edition,
    user: Account,
    action: str,
    entry: EditionEntry | None = None,
    detail: dict[str, Any] | None = None,
    *,
    feedback: bool = True,
) -> None:
    """Bump the edition's version (so other editors' stale pages are refused) and record."""
    flag_modified(edition, "intro")
    detail = detail or {}
    if feedback:
        session.add(
            CurationEvent(
                edition_id=edition.id,
                item_id=entry.item_id if entry else None,
                user_id=user.id,
                action=action,
                detail=detail,
            )
        )
    target = f"{edition.edition_date}" + (f" entry {entry.id}" if entry else "")
    audit(session, user.id, action, target, detail)


def _renumber(edition: Edition, section_order: Sequence[str]) -> None:
    """Positions run through the edition: sections in their order, entries as they stand."""
    rank = {slug: n for n, slug in enumerate(section_order)}
    entries = sorted(edition.entries, key=lambda e: (rank.get(e.section, len(rank)), e.position))
    for position, entry in enumerate(entries):
        entry.position = position


def sections_in_order(edition: Edition) -> list[str]:
    seen: list[str] = []
    for entry in sorted(edition.entries, key=lambda e: e.position):
        if entry.section not in seen:
            seen.append(entry.section)
    return seen


def move(session: Session, edition: Edition, user: Account, entry_id: int, direction: int) -> None:
    """One place up (-1) or down (+1) within its section."""
    entry = _entry(edition, entry_id)
    siblings = sorted(
        (e for e in edition.entries if e.section == entry.section), key=lambda e: e.position
    )
    n = siblings.index(entry)
    other = n + direction
    if not 0 <= other < len(siblings):
        return
    entry.position, siblings[other].position = siblings[other].position, entry.position
    _changed(session, edition, user, "reorder", entry, {"direction": direction}, feedback=False)


def reorder(
    session: Session, edition: Edition, user: Account, section: str, entry_ids: Sequence[int]
) -> None:
    """A section's stories in the order dragged into."""
    current = [e for e in edition.entries if e.section == section]
    if sorted(e.id for e in current) != sorted(entry_ids):
        raise UsageError("the stories of that section have changed; reload the page")
    slots = sorted(e.position for e in current)
    by_id = {e.id: e for e in current}
    for position, entry_id in zip(slots, entry_ids, strict=True):
        by_id[entry_id].position = position
    _changed(session, edition, user, "reorder", None, {"section": section}, feedback=False)


def move_to_section(
    session: Session,
    edition: Edition,
    user: Account,
    entry_id: int,
    section: str,
    valid: Sequence[str],
) -> None:
    if section not in valid:
        raise UsageError(f"there is no section {section!r}")
    entry = _entry(edition, entry_id)
    order = sections_in_order(edition)
    if section not in order:
        order = [s for s in valid if s in order or s == section]
    entry.section = entry.editor_section = section
    entry.position = max((e.position for e in edition.entries), default=0) + 1
    _renumber(edition, order)
    _changed(session, edition, user, "move", entry, {"section": section})


def remove(session: Session, edition: Edition, user: Account, entry_id: int, reason: str) -> None:
    if reason not in REMOVE_REASONS:
        raise UsageError(f"a reason is needed: {', '.join(REMOVE_REASONS)}")
    entry = _entry(edition, entry_id)
    entry.removed, entry.removed_reason = True, reason
    _changed(session, edition, user, "remove", entry, {"reason": reason})


def restore(session: Session, edition: Edition, user: Account, entry_id: int) -> None:
    entry = _entry(edition, entry_id)
    entry.removed, entry.removed_reason = False, None
    _changed(session, edition, user, "restore", entry)


def edit(
    session: Session, edition: Edition, user: Account, entry_id: int, title: str, summary: str
) -> None:
    """New headline and summary; left empty, the outlet's own words come back."""
    entry = _entry(edition, entry_id)
    title, summary = " ".join(title.split())[:300], " ".join(summary.split())[:1000]
    entry.title_override = title or None
    entry.summary_override = summary or None
    detail = {"title": title, "summary": summary}
    _changed(session, edition, user, "edit", entry, detail, feedback=False)


def choose_lead(
    session: Session, edition: Edition, user: Account, entry_id: int, item_id: int
) -> None:
    """Another report of the same story leads (e.g. one readers can open without a paywall)."""
    entry = _entry(edition, entry_id)
    item = session.get(Item, item_id)
    if item is None or entry.story_id is None or item.story_id != entry.story_id:
        raise UsageError("that report is not part of this story")
    entry.item_id, entry.lead_chosen = item_id, True
    _changed(session, edition, user, "choose_lead", entry, {"item_id": item_id}, feedback=False)


def set_intro(session: Session, edition: Edition, user: Account, text: str) -> None:
    edition.intro = text.strip()[:2000]
    _changed(session, edition, user, "intro", None, {"intro": edition.intro}, feedback=False)


def approve(
    session: Session, edition: Edition, user: Account, now: datetime, send_now: bool
) -> None:
    """Approved for the scheduled time, or for now: the scheduler sends it within a minute
    (never the web request itself)."""
    edition.status = EditionStatus.APPROVED
    edition.approved_by, edition.approved_at = user.id, now
    edition.send_requested_at = now if send_now else None
    _changed(session, edition, user, "approve", None, {"send_now": send_now}, feedback=False)


def unapprove(session: Session, edition: Edition, user: Account) -> None:
    edition.status = EditionStatus.DRAFT
    edition.approved_by = edition.approved_at = edition.send_requested_at = None
    _changed(session, edition, user, "unapprove", None, feedback=False)


def stories_of(session: Session, entry: EditionEntry, before: datetime) -> list[Item]:
    """Every report of the entry's story, for the choice of lead link."""
    if entry.story_id is None:
        return [entry.item]
    return list(
        session.scalars(
            select(Item)
            .where(Item.story_id == entry.story_id, Item.published_at < before)
            .order_by(Item.published_at)
        )
    )
