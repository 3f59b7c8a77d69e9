"""The draft as plain data: the `compose --json` contract and the templates' input (pure)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date
from typing import Any

SEGMENT_LABELS = {
    "mixed-middle": "mixed middle",
    "right-leaning": "right-leaning",
    "progressive": "progressive",
    "consumer-digital": "consumer/digital",
    "local-regional": "local",
    "specialist": "specialist",
    "official": "official",
    "international": "international",
    "unknown": "outlet not yet classified",
}


@dataclass(frozen=True, slots=True)
class AlsoLink:
    outlet: str
    url: str


@dataclass(frozen=True, slots=True)
class DraftEntry:
    item_id: int
    title: str
    url: str
    outlet: str
    segment: str
    topics: tuple[str, ...]
    region: str | None
    summary: str
    score: float
    also: tuple[AlsoLink, ...]


@dataclass(frozen=True, slots=True)
class DraftSection:
    slug: str
    title: str
    entries: tuple[DraftEntry, ...]


@dataclass(frozen=True, slots=True)
class Draft:
    edition: date
    status: str
    subject: str
    intro: str
    sections: tuple[DraftSection, ...]

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["edition"] = self.edition.isoformat()
        return data

    @property
    def entries(self) -> list[DraftEntry]:
        return [entry for section in self.sections for entry in section.entries]


def date_label(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b %Y}"


def make_subject(day: date, top_headline: str | None) -> str:
    """The Subject header; no CR or LF from a headline can reach it."""
    subject = f"Migration news briefing — {date_label(day)}"
    if top_headline:
        subject += ": " + " ".join(top_headline.split())
    return subject[:250]


def section_title(slug: str, topic_labels: dict[str, str]) -> str:
    fixed = {"top-stories": "Top stories", "europe": "Europe", "international": "International"}
    return fixed.get(slug) or topic_labels.get(slug, slug)
