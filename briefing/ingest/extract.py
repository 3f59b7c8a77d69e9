"""Article text from a page with trafilatura (pure given the HTML)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import trafilatura

MIN_TEXT_CHARS = 200  # shorter than this is a paywall stub or a video page, not an article


@dataclass(frozen=True, slots=True)
class ExtractedArticle:
    text: str
    title: str | None
    author: str | None
    language: str | None


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
    return ExtractedArticle(
        text=text,
        title=doc.get("title") or None,
        author=doc.get("author") or None,
        language=doc.get("language") or None,
    )
