"""Article text from a page with trafilatura (pure given the HTML)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

import trafilatura

MIN_TEXT_CHARS = 200  # shorter than this is a paywall stub or a video page, not an article


@dataclass(frozen=True, slots=True)
class ExtractedArticle:
    text: str
    title: str | None
    author: str | None
    language: str | None
    image: str | None
    published_at: datetime | None  # None when the page's date is missing or untrustworthy


def extract_article(html: bytes | str, url: str) -> ExtractedArticle | None:
    """The article's text and metadata, or None when the page holds no usable article.

    Bytes are best: trafilatura then finds the encoding from the page itself."""
    try:
        raw = trafilatura.extract(
            html,
            url=url,
            output_format="json",
            with_metadata=True,
            include_comments=False,
            include_tables=False,
            deduplicate=False,
            fast=True,
        )
    except Exception:  # third-party parser on untrusted HTML: treat a crash as "no article"
        return None
    if not raw:
        return None
    doc = json.loads(raw)
    text = (doc.get("text") or "").strip()
    if len(text) < MIN_TEXT_CHARS:
        return None
    image = doc.get("image") or None
    return ExtractedArticle(
        text=text,
        title=doc.get("title") or None,
        author=doc.get("author") or None,
        language=doc.get("language") or None,
        image=image if image and image.startswith(("http://", "https://")) else None,
        published_at=_page_date(doc.get("date")),
    )


def _page_date(value: str | None) -> datetime | None:
    """The page's own date, at noon UTC since pages rarely give the hour. A 1 January date is
    distrusted: htmldate turns a bare "Copyright 2026" into 2026-01-01."""
    try:
        day = date.fromisoformat((value or "")[:10])
    except ValueError:
        return None
    if (day.month, day.day) == (1, 1):
        return None
    return datetime.combine(day, time(12), tzinfo=UTC)
