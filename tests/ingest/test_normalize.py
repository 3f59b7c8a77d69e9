from __future__ import annotations

import pytest

from briefing.ingest.normalize import canonical_url, domain_of, plain_text, url_hash


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        (
            "https://WWW.BBC.co.uk/news/uk-1?utm_source=rss&utm_medium=feed#comments",
            "https://www.bbc.co.uk/news/uk-1",
        ),
        ("https://example.org/a?b=2&a=1&fbclid=xyz", "https://example.org/a?a=1&b=2"),
        ("https://example.org", "https://example.org/"),
        ("http://example.org:8080/x", "http://example.org:8080/x"),
        ("https://example.org:443/x", "https://example.org/x"),
    ],
)
def test_canonical_url(url: str, canonical: str) -> None:
    assert canonical_url(url) == canonical


def test_tracking_variants_share_a_hash() -> None:
    assert url_hash("https://a.org/x?utm_campaign=y") == url_hash("https://A.org/x#top")


def test_plain_text() -> None:
    assert plain_text("<p>Boats &amp; <b>people</b></p>\n\n ok") == "Boats & people ok"
    assert plain_text("one two three four", limit=10) == "one two…"


def test_domain_of() -> None:
    assert domain_of("https://www.kentonline.co.uk/dover/news/x") == "kentonline.co.uk"
