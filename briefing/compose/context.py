"""The draft as plain data: the `compose --json` contract and the templates' input (pure)."""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Sequence
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
    "unknown": "unclassified",
}


# A story carried only by these segments is flagged: the first is an early warning of a
# hostile narrative, the second a story that is not reaching the wider public.
SEGMENT_FLAGS = {
    "right-leaning-only": (
        frozenset({"right-leaning"}),
        "Only in right-leaning outlets so far",
    ),
    "not-in-wider-press": (
        frozenset({"specialist", "progressive"}),
        "Only in specialist and progressive outlets so far",
    ),
}

FLAG_TEXTS = {flag: text for flag, (_segments, text) in SEGMENT_FLAGS.items()}


@dataclass(frozen=True, slots=True)
class AlsoLink:
    outlet: str
    url: str
    paywalled: bool = False


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
    balance: dict[str, int] = dataclasses.field(default_factory=dict)  # segment -> outlets
    flag: str | None = None  # a key of SEGMENT_FLAGS
    update: bool = False  # sent in an earlier edition and grown since
    paywalled: bool = False


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
    dropped_for_size: int = 0  # lowest-scored entries the size budget left out

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["edition"] = self.edition.isoformat()
        return data

    @property
    def entries(self) -> list[DraftEntry]:
        return [entry for section in self.sections for entry in section.entries]


def segment_balance(segments: list[str], order: Sequence[str]) -> dict[str, int]:
    """Outlets per audience segment, most first (ties in the taxonomy's order)."""
    counts = Counter(segments)
    rank = {s: n for n, s in enumerate(order)}
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], rank.get(kv[0], len(rank)))))


def segment_flag(balance: dict[str, int]) -> str | None:
    """Which warning, if any, a story's segment balance deserves; an outlet whose segment
    is unknown could be any, so it prevents a flag."""
    for flag, (segments, _text) in SEGMENT_FLAGS.items():
        if balance and set(balance) <= segments:
            return flag
    return None


SUMMARY_CHARS = 220  # about two lines on a phone


def one_line(summary: str, limit: int = SUMMARY_CHARS) -> str:
    """A feed's summary cut to whole sentences within the limit (or words, with an ellipsis),
    so every entry reads in a glance."""
    text = " ".join(summary.split())
    if len(text) <= limit:
        return text
    sentences = re.split(r"(?<=[.!?])\s+", text)
    kept = ""
    for sentence in sentences:
        if len(kept) + len(sentence) + 1 > limit:
            break
        kept = f"{kept} {sentence}".strip()
    if kept:
        return kept
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"


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
