from __future__ import annotations

from datetime import UTC, datetime

import pytest

from briefing.errors import FeedParseError
from briefing.ingest.parse import parse_feed
from tests.conftest import FIXTURES

NOW = datetime(2026, 3, 10, 6, 0, tzinfo=UTC)


def test_quirks_are_smoothed() -> None:
    body = (FIXTURES / "feeds" / "quirks.rss").read_bytes()
    items = parse_feed(body, "https://quirks.example/feed.xml", "application/rss+xml", NOW)
    first, undated, future = items  # the mailto: item is dropped
    assert first.title == "Council opens new welcome centre & café"
    assert first.url == "https://quirks.example/news/welcome-centre?utm_source=rss"
    assert first.guid == "quirks-1"
    assert "script" not in first.summary and "alert" not in first.summary
    assert first.published_at == datetime(2026, 3, 9, 8, 15, tzinfo=UTC)
    assert not first.published_estimated
    assert undated.published_at == NOW and undated.published_estimated
    assert future.published_at == NOW and future.published_estimated


def test_aggregator_items_name_their_publisher() -> None:
    body = (FIXTURES / "feeds" / "aggregator.rss").read_bytes()
    items = parse_feed(body, "https://news.google.com/rss/search?q=asylum", "", NOW)
    assert [i.source_url for i in items] == [
        "https://www.kentonline.co.uk",
        "https://www.somewhere-echo.example",
    ]


def test_an_html_page_is_not_a_feed() -> None:
    page = b"<html><head><title>Error</title></head><body><p>Service unavailable</body></html>"
    with pytest.raises(FeedParseError):
        parse_feed(page, "https://x.example/feed", "text/html", NOW)


def test_one_large_entity_referenced_many_times_is_defused() -> None:
    entity = "A" * 50_000
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY big "{entity}">]>'
        '<rss version="2.0"><channel><title>t</title><item><title>'
        + "&big;" * 20_000
        + "</title><link>https://x.example/a</link></item></channel></rss>"
    ).encode()
    items = parse_feed(body, "https://x.example/feed", "application/xml", NOW)
    assert all(len(i.title) < 1000 for i in items)


def test_latin1_feed_without_declared_charset() -> None:
    body = (
        '<?xml version="1.0" encoding="iso-8859-1"?><rss version="2.0"><channel><title>t</title>'
        "<item><title>Caf\xe9 for refugees</title><link>https://x.example/a</link></item>"
        "</channel></rss>"
    ).encode("latin-1")
    (item,) = parse_feed(body, "https://x.example/feed", "", NOW)
    assert item.title == "Café for refugees"
