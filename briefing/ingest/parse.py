"""Feed bytes to ParsedItems with feedparser (pure; never lets feedparser fetch anything)."""

from __future__ import annotations

import calendar
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser

from briefing.errors import FeedParseError
from briefing.ingest.normalize import plain_text

TITLE_LIMIT = 500
SUMMARY_LIMIT = 600
# A large internal entity referenced many times blows up feedparser's lenient fallback
# parser (ENGINEERING-NOTES §2.4); feeds have no business declaring entities, so drop them.
_INTERNAL_SUBSET = re.compile(rb"<!DOCTYPE[^>\[]*\[.*?\]\s*>", re.DOTALL | re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ParsedItem:
    url: str
    guid: str | None
    title: str
    summary: str
    published_at: datetime
    published_estimated: bool  # the feed gave no usable date: the fetch time stands in
    source_url: str | None  # an aggregator's <source url=...>: the real publisher
    source_name: str | None
    author: str | None


def parse_feed(body: bytes, feed_url: str, content_type: str, now: datetime) -> list[ParsedItem]:
    if b"<!ENTITY" in body[:65536]:
        body = _INTERNAL_SUBSET.sub(b"", body, count=1)
    try:
        parsed = feedparser.parse(
            io.BytesIO(body),
            response_headers={"content-type": content_type, "content-location": feed_url},
        )
    except Exception as e:  # a parser crash on untrusted bytes is a property of the input
        raise FeedParseError(feed_url, "feed parser crashed") from e
    if not parsed.entries:
        # A document feedparser recognised as a feed is an empty feed, whatever bozo says
        # (a charset header that disagrees with the XML declaration sets bozo too).
        if parsed.bozo and not parsed.get("version"):
            reason = type(parsed.bozo_exception).__name__
            raise FeedParseError(feed_url, f"not a feed ({reason})")
        return []
    items = (_to_item(entry, feed_url, now) for entry in parsed.entries)
    return [item for item in items if item is not None]


def _to_item(entry: Any, feed_url: str, now: datetime) -> ParsedItem | None:
    href = (entry.get("link") or "").strip()
    if not href and entry.get("guidislink"):
        href = (entry.get("id") or "").strip()
    if not href:
        return None  # an entry with no link has no article to point to
    link = urljoin(feed_url, href)
    if urlsplit(link).scheme not in ("http", "https"):
        return None
    title = plain_text(entry.get("title") or "", TITLE_LIMIT)
    summary = plain_text(entry.get("summary") or "", SUMMARY_LIMIT)
    if not title:
        if not summary:
            return None
        title = plain_text(summary, 120)
    published, estimated = _published(entry, now)
    source = entry.get("source") or {}
    source_name = plain_text(source.get("title") or "", 200) or None
    if source_name:
        # Aggregators append " - Publisher" to the headline and repeat it in the summary.
        title = title.removesuffix(f" - {source_name}").strip() or title
        if summary.startswith(title):
            summary = ""
    return ParsedItem(
        url=link,
        guid=(entry.get("id") or None),
        title=title,
        summary=summary,
        published_at=published,
        published_estimated=estimated,
        source_url=source.get("href") or source.get("url") or None,
        source_name=source_name,
        author=plain_text(entry.get("author") or "", 200) or None,
    )


def _published(entry: Any, now: datetime) -> tuple[datetime, bool]:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        struct = dict.get(entry, key)  # plain lookup: feedparser's aliasing warns
        if struct:
            when = datetime.fromtimestamp(calendar.timegm(struct), tz=UTC)
            if datetime(2000, 1, 1, tzinfo=UTC) < when <= now + timedelta(days=1):
                return when, False
    return now, True
