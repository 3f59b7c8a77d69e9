"""Read-only queries for the web pages and the CLI, returning plain views (I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Engine, func, select

from briefing.compose.context import Draft
from briefing.config.taxonomy import Taxonomy
from briefing.db.editions import find_edition, load_draft
from briefing.db.engine import session_scope
from briefing.db.models import Edition, EditionEntry


@dataclass(frozen=True, slots=True)
class EditionView:
    draft: Draft
    html: str
    text: str
    composed_at: datetime
    window: tuple[datetime, datetime]
    score_parts: dict[int, dict[str, float]]  # item id -> parts
    removed: int

    @property
    def html_bytes(self) -> int:
        return len(self.html.encode("utf-8"))


def latest_edition_date(engine: Engine, list_address: str) -> date | None:
    with session_scope(engine, write=False) as session:
        return session.scalar(
            select(func.max(Edition.edition_date)).where(Edition.list_address == list_address)
        )


def edition_view(engine: Engine, taxonomy: Taxonomy, day: date, list_address: str) -> EditionView:
    with session_scope(engine, write=False) as session:
        edition = find_edition(session, day, list_address)
        entries: list[EditionEntry] = edition.entries
        return EditionView(
            draft=load_draft(session, edition, taxonomy),
            html=edition.html,
            text=edition.text,
            composed_at=edition.composed_at,
            window=(edition.window_start, edition.window_end),
            score_parts={e.item_id: dict(e.score_parts) for e in entries},
            removed=sum(e.removed for e in entries),
        )
