from __future__ import annotations

import pytest

from briefing.ingest.normalize import (
    canonical_url,
    domain_of,
    plain_text,
    resolve_google_news,
    url_hash,
)


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
    assert plain_text("Hi <script>alert(1)</script><style>p{}</style>there") == "Hi there"


def test_domain_of() -> None:
    assert domain_of("https://www.kentonline.co.uk/dover/news/x") == "kentonline.co.uk"


@pytest.mark.parametrize(
    ("variant", "original"),
    [
        ("https://www.bbc.co.uk/news/amp/uk-123", "https://www.bbc.co.uk/news/uk-123"),
        (
            "https://amp.theguardian.com/uk-news/2026/x",
            "https://www.theguardian.com/uk-news/2026/x",
        ),
        ("https://m.mirror.co.uk/news/x.amp", "https://www.mirror.co.uk/news/x"),
        ("https://www.example.org/a/amp.html", "https://www.example.org/a"),
        ("https://example.org/a?amp=1&id=4", "https://example.org/a?id=4"),
    ],
)
def test_amp_and_mobile_variants(variant: str, original: str) -> None:
    assert canonical_url(variant) == original


def test_identity_ignores_scheme_and_www() -> None:
    assert url_hash("http://bbc.co.uk/news/uk-1") == url_hash("https://www.bbc.co.uk/news/uk-1")
    assert url_hash("https://bbc.co.uk/news/uk-1") != url_hash("https://bbc.co.uk/news/uk-2")


def test_google_news_links_resolve_to_the_publisher() -> None:
    import base64

    article = "https://www.kentonline.co.uk/news/hotel-plan-1234/"
    token = base64.urlsafe_b64encode(b"\x08\x13\x22\x2a" + article.encode() + b"\xd2\x01\x00")
    link = f"https://news.google.com/rss/articles/{token.decode().rstrip('=')}?oc=5"
    assert resolve_google_news(link) == article
    assert canonical_url(link) == article
    opaque = "https://news.google.com/rss/articles/CBMiQUFVX3lxTE5vcGFxdWU?oc=5"
    assert resolve_google_news(opaque) is None
    assert resolve_google_news("https://www.bbc.co.uk/news/articles/x") is None
