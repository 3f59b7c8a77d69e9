from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from briefing.config.sources import load_sources, parse_sources
from briefing.config.taxonomy import default_taxonomy
from briefing.errors import SourcesError
from tests.conftest import ROOT

GOOD = """\
outlets:
  - slug: bbc-news
    name: BBC News
    segment: mixed-middle
    country: GB
    language: en
    domains: [bbc.co.uk, bbc.com]
    feeds:
      - url: https://feeds.bbci.co.uk/news/uk/rss.xml
        name: UK
        every: 15m
  - slug: kent-online
    name: Kent Online
    segment: local-regional
    country: GB
    language: en
    domains: [kentonline.co.uk]
    feeds:
      - url: https://www.kentonline.co.uk/news/rss/
        name: News
aggregators:
  - slug: google-news
    name: Google News
    feeds:
      - url: https://news.google.com/rss/search?q=asylum
        name: UK migration search
"""


def parse(text: str):  # type: ignore[no-untyped-def]
    return parse_sources(textwrap.dedent(text), "sources.yaml", default_taxonomy())


def test_a_good_file() -> None:
    sources = parse(GOOD)
    assert [o.slug for o in sources.outlets] == ["bbc-news", "kent-online"]
    assert sources.outlets[0].feeds[0].every_seconds == 900
    assert len(list(sources.iter_feeds())) == 3


def test_outlet_of_any_url() -> None:
    sources = parse(GOOD)
    assert sources.outlet_for_url("https://www.bbc.co.uk/news/uk-1").slug == "bbc-news"  # type: ignore[union-attr]
    assert sources.outlet_for_url("https://BBC.COM/news").slug == "bbc-news"  # type: ignore[union-attr]
    assert sources.outlet_for_url("https://notbbc.co.uk/x") is None
    assert sources.outlet_for_url("not a url") is None


@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        ("segment: mixed-middle", "segment: lefty", 4, r"outlets\[0\]\.segment 'lefty' is not a"),
        ("slug: kent-online", "slug: bbc-news", 12, r"outlets\[1\]\.slug 'bbc-news' is already"),
        ("slug: kent-online", "slug: Kent Online", 12, r"outlets\[1\]\.slug .*not a slug"),
        (
            "    country: GB\n    language: en\n    domains: [bbc",
            "    language: en\n    domains: [bbc",
            2,
            r"outlets\[0\]\.country is required",
        ),
        ("name: UK\n", "name: UK\n        colour: red\n", 11, r"feeds\[0\]\.colour is not a known"),
        ("every: 15m", "every: often", 11, r"every 'often' is not a duration"),
        (
            "url: https://www.kentonline.co.uk/news/rss/",
            "url: ftp://kentonline.co.uk/rss",
            19,
            r"feeds\[0\]\.url 'ftp://kentonline.co.uk/rss' is not an http",
        ),
        (
            "url: https://www.kentonline.co.uk/news/rss/",
            "url: https://feeds.bbci.co.uk/news/uk/rss.xml",
            19,
            r"feed already listed by bbc-news",
        ),
        (
            "domains: [kentonline.co.uk]",
            "domains: [bbc.com]",
            17,
            r"domains\[0\] 'bbc.com' already belongs to outlet 'bbc-news'",
        ),
        (
            "domains: [kentonline.co.uk]",
            "domains: [https://kentonline.co.uk]",
            17,
            r"not a bare domain",
        ),
        ("domains: [kentonline.co.uk]", "domains: []", 17, r"domains .*at least 1 item"),
        (
            "country: GB\n    language: en\n    domains: [kentonline",
            "country: UK1\n    language: en\n    domains: [kentonline",
            15,
            r"outlets\[1\]\.country 'UK1' is not an ISO 3166",
        ),
        (
            "language: en\n    domains: [kentonline",
            "language: english\n    domains: [kentonline",
            16,
            r"language 'english' is not an ISO 639-1",
        ),
        (
            "    feeds:\n      - url: https://news",
            "    feeds: []\n    x:\n      - url: https://news",
            24,
            r"aggregators\[0\]\.feeds .*at least 1 item",
        ),
        ("name: BBC News", "name: [BBC, News]", 3, r"outlets\[0\]\.name .*valid string"),
        ("    segment: mixed-middle", "   segment: mixed-middle", 4, r"line 4: "),
    ],
)
def test_each_problem_has_its_line_and_field(old: str, new: str, line: int, message: str) -> None:
    assert old in GOOD
    with pytest.raises(SourcesError) as caught:
        parse(GOOD.replace(old, new, 1))
    assert any(p.startswith(f"line {line}: ") for p in caught.value.problems), caught.value.problems
    assert any(__import__("re").search(message, p) for p in caught.value.problems), (
        caught.value.problems
    )


@pytest.mark.parametrize("text", ["", "- just\n- a list\n", "outlets: 3\n"])
def test_wrong_shapes(text: str) -> None:
    with pytest.raises(SourcesError, match="line 1: "):
        parse(text)


def test_every_problem_is_reported_at_once() -> None:
    bad = GOOD.replace("segment: mixed-middle", "segment: lefty").replace(
        "segment: local-regional", "segment: righty"
    )
    with pytest.raises(SourcesError) as caught:
        parse(bad)
    assert len(caught.value.problems) == 2


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(SourcesError, match="cannot read the file"):
        load_sources(tmp_path / "missing.yaml")


def test_the_real_sources_file() -> None:
    sources = load_sources(ROOT / "sources.yaml")
    feeds = list(sources.iter_feeds())
    assert len(feeds) >= 80 and len(sources.outlets) >= 50
    assert {o.segment for o in sources.outlets} == set(default_taxonomy().segments)


def test_the_demo_sources_file() -> None:
    sources = load_sources(ROOT / "briefing" / "demo" / "sources.yaml")
    assert sources.aggregators and len(list(sources.iter_feeds())) >= 8
