"""parse_feed and extract_article against the shared corpus of real feeds and article pages.

The corpus lives outside the repository (../shared/corpus, described by its MANIFEST.md) and
is never copied in; every test here skips when it is absent. Feeds are checked for sane items;
article pages are scored against their ground truth with a bag-of-words F1 and loose floors
set a little below what the current extractor measures (see benchmarks/extraction_quality.py,
which imports the helpers below so that there is one implementation of the scoring).
"""

from __future__ import annotations

import gzip
import json
import re
import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import pytest

from briefing.errors import FeedParseError
from briefing.ingest.extract import ExtractedArticle, extract_article
from briefing.ingest.parse import parse_feed
from tests.conftest import SHARED

CORPUS = SHARED / "corpus"
NO_CORPUS = f"the shared corpus is not at {CORPUS} (it is never copied into the repository)"
NOW = datetime(2026, 11, 22, tzinfo=UTC)
EARLIEST = datetime(1995, 1, 1, tzinfo=UTC)

# ---------------------------------------------------------------------------------------------
# Corpus helpers (also used by benchmarks/extraction_quality.py)
# ---------------------------------------------------------------------------------------------


def manifest_rows() -> dict[str, list[str]]:
    """The file tables of MANIFEST.md: corpus-relative path -> the row's cells."""
    path = CORPUS / "MANIFEST.md"
    if not path.exists():
        return {}
    rows: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(r"\|\s*`((?:feeds|articles)/[^`]+)`", line)
        if match:
            rows[match.group(1)] = [cell.strip() for cell in line.strip().strip("|").split("|")]
    return rows


def read_maybe_gzipped(path: Path) -> bytes:
    body = path.read_bytes()
    return gzip.decompress(body) if path.name.endswith(".gz") else body


def outlet_slug(path: Path) -> str:
    return path.name.split("__", 1)[0]


def feed_files() -> list[Path]:
    folder = CORPUS / "feeds"
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.name.endswith((".xml", ".xml.gz")))


def article_files() -> list[Path]:
    folder = CORPUS / "articles"
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.name.endswith((".html", ".html.gz")))


# Ground-truth kinds, named after the project that published the ground truth.
FULL_BODY_SOURCES = ("fundus", "zyte", "newspaper", "readability")
SNIPPET_SOURCE = "trafilatura-eval"
SOURCES = (*FULL_BODY_SOURCES, SNIPPET_SOURCE)


@dataclass(frozen=True)
class Page:
    path: Path
    source: str  # one of SOURCES
    url: str
    truth: str | None  # full article body, for full-body sources
    with_snippets: tuple[str, ...]  # trafilatura-eval: must appear in the text
    without_snippets: tuple[str, ...]  # trafilatura-eval: must not appear

    @property
    def html(self) -> bytes:
        return read_maybe_gzipped(self.path)


class _TextOnly(HTMLParser):
    """The text of an HTML fragment, with a space between text nodes so words never merge."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_text(fragment: str) -> str:
    parser = _TextOnly()
    parser.feed(fragment)
    parser.close()
    return " ".join(parser.parts)


def load_page(path: Path, manifest: dict[str, list[str]] | None = None) -> Page:
    """A corpus page with its ground truth (the JSON of the same stem)."""
    stem = path.name.removesuffix(".gz").removesuffix(".html")
    data: dict[str, Any] = json.loads((path.parent / f"{stem}.json").read_text(encoding="utf-8"))
    truth: str | None = None
    if "body_plaintext" in data:
        source, truth = "fundus", data["body_plaintext"]
    elif "articleBody" in data:
        source, truth = "zyte", data["articleBody"]
    elif "expected_text" in data:
        source, truth = "newspaper", data["expected_text"]
    elif "expected_content_html" in data:
        source, truth = "readability", html_text(data["expected_content_html"])
    elif "with" in data:
        source = SNIPPET_SOURCE
    else:
        raise ValueError(f"{path.name}: unknown ground-truth format")
    url = data.get("url")
    if not url:  # Readability pages and trafilatura's "hard" cases: the MANIFEST's URL column
        cells = (manifest if manifest is not None else manifest_rows()).get(
            f"articles/{path.name}", []
        )
        found = [c.split()[0] for c in cells if c.startswith(("http://", "https://"))]
        url = found[0] if found else f"https://{outlet_slug(path)}.example/"
    return Page(
        path=path,
        source=source,
        url=url,
        truth=truth,
        with_snippets=tuple(data.get("with", ())),
        without_snippets=tuple(data.get("without", ())),
    )


class WordScores(NamedTuple):
    precision: float
    recall: float
    f1: float


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def word_f1(extracted: str, truth: str) -> WordScores:
    """Bag-of-words agreement: overlap is the multiset intersection of lower-cased word tokens,
    precision = overlap / words extracted, recall = overlap / words in the ground truth."""
    got, want = Counter(words(extracted)), Counter(words(truth))
    overlap = sum((got & want).values())
    precision = overlap / sum(got.values()) if got else 0.0
    recall = overlap / sum(want.values()) if want else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return WordScores(precision, recall, f1)


def snippet_counts(text: str, page: Page) -> tuple[int, int]:
    """(number of "with" snippets found, number of "without" snippets absent)."""
    found = sum(snippet in text for snippet in page.with_snippets)
    absent = sum(snippet not in text for snippet in page.without_snippets)
    return found, absent


# ---------------------------------------------------------------------------------------------
# Feeds
# ---------------------------------------------------------------------------------------------

# Feeds whose only entries have no link: nothing usable, so no item is required (and the
# feed's own URL must never stand in for an article's).
LINKLESS = {"synthetic__declared-iso-8859-1-but-utf-8.xml", "synthetic__invalid-encoding-name.xml"}
# Relative links that must be resolved (xml:base, or the feed URL when there is none).
EXPECTED_URLS = {
    "example__atom-relative-links.xml": ["https://example.example/blog/2003/12/13/atom03"],
    "insanity-industries__rss2-xml-base-relative-urls.xml": [
        "https://insanity.industries/post/pareto-optimal-compression/",
        "https://insanity.industries/post/pacman-tracking-leftover-packages/",
    ],
}


def _feed_params() -> list[Any]:
    files = feed_files()
    if not files:
        return [pytest.param(None, marks=pytest.mark.skip(reason=NO_CORPUS), id="no-corpus")]
    return [pytest.param(path, id=path.name) for path in files]


def _looks_like_mojibake(text: str) -> bool:
    """U+FFFD, or UTF-8 bytes that were decoded as windows-1252 ("CafÃ©" for "Café")."""
    if "\ufffd" in text:
        return True
    if text.isascii():
        return False
    try:
        return text.encode("cp1252").decode("utf-8") != text
    except UnicodeError:
        return False


@pytest.mark.parametrize("path", _feed_params())
def test_corpus_feed_parses_to_sane_items(path: Path) -> None:
    row = " | ".join(manifest_rows().get(f"feeds/{path.name}", []))
    count = re.search(r"(\d+) items", row)
    declared = int(count.group(1)) if count else None
    well_formed = "well-formed: NO" not in row
    feed_url = f"https://{outlet_slug(path)}.example/feed.xml"

    try:
        items = parse_feed(read_maybe_gzipped(path), feed_url, "", NOW)
    except FeedParseError:
        # Only a broken feed that holds no item at all may be refused.
        assert declared == 0 and not well_formed, (
            f"parse_feed refused a feed with {declared} items, well-formed: {well_formed}"
        )
        return

    if declared == 0:
        assert items == [] or not well_formed
    elif path.name not in LINKLESS:
        assert items, "no item parsed from a feed that has some"
    if declared is not None:
        assert len(items) <= declared
    for item in items:
        assert item.title.strip(), item
        assert not _looks_like_mojibake(item.title), item.title
        parts = urlsplit(item.url)
        assert parts.scheme in ("http", "https") and parts.netloc, item.url
        assert item.url != feed_url, "an item must link to its article, not to the feed"
        assert item.published_at.utcoffset() == timedelta(0)
        if item.published_estimated:
            assert item.published_at == NOW
        else:
            assert EARLIEST <= item.published_at <= NOW + timedelta(days=1), item.published_at
    if path.name in EXPECTED_URLS:
        assert [item.url for item in items] == EXPECTED_URLS[path.name]


# ---------------------------------------------------------------------------------------------
# Article extraction
# ---------------------------------------------------------------------------------------------

# Floors a little (0.05) below what extract_article measured on this corpus (trafilatura 2.x):
# mean word F1 fundus 0.93, zyte 0.96, newspaper 0.99, readability 0.99; trafilatura-eval
# snippets: 93% of "with" found, 87% of "without" absent. See benchmarks/extraction_quality.py.
MEAN_F1_FLOOR = {"fundus": 0.88, "zyte": 0.91, "newspaper": 0.94, "readability": 0.94}
WITH_FOUND_FLOOR = 0.88
WITHOUT_ABSENT_FLOOR = 0.81
PAGE_F1_FLOOR = 0.2  # per page: the extractor found this article, not some other text


@cache
def _pages() -> tuple[Page, ...]:
    manifest = manifest_rows()
    return tuple(load_page(path, manifest) for path in article_files())


@cache
def _extracted(path: Path) -> ExtractedArticle | None:
    page = next(p for p in _pages() if p.path == path)
    return extract_article(page.html, page.url)


def _page_params() -> list[Any]:
    pages = _pages()
    if not pages:
        return [pytest.param(None, marks=pytest.mark.skip(reason=NO_CORPUS), id="no-corpus")]
    return [pytest.param(page, id=page.path.name) for page in pages]


@pytest.mark.parametrize("page", _page_params())
def test_corpus_article_is_extracted(page: Page) -> None:
    article = _extracted(page.path)
    assert article is not None, "extract_article found no article on a real article page"
    assert article.text.strip()
    if page.truth is not None:
        scores = word_f1(article.text, page.truth)
        assert scores.f1 >= PAGE_F1_FLOOR, scores
    else:
        found, absent = snippet_counts(article.text, page)
        assert found + absent > 0, "not one snippet of the ground truth came out right"


def _require_pages() -> tuple[Page, ...]:
    pages = _pages()
    if not pages:
        pytest.skip(NO_CORPUS)
    return pages


@pytest.mark.parametrize("source", FULL_BODY_SOURCES)
def test_corpus_mean_word_f1_per_source(source: str) -> None:
    pages = [p for p in _require_pages() if p.source == source]
    assert pages, f"no {source} page in the corpus"
    scores = []
    for page in pages:
        article = _extracted(page.path)
        assert page.truth is not None
        scores.append(word_f1(article.text if article else "", page.truth).f1)
    assert statistics.fmean(scores) >= MEAN_F1_FLOOR[source]


def test_corpus_trafilatura_snippets() -> None:
    pages = [p for p in _require_pages() if p.source == SNIPPET_SOURCE]
    assert pages, "no trafilatura-eval page in the corpus"
    found = absent = wanted = unwanted = 0
    for page in pages:
        article = _extracted(page.path)
        page_found, page_absent = snippet_counts(article.text if article else "", page)
        found += page_found
        absent += page_absent
        wanted += len(page.with_snippets)
        unwanted += len(page.without_snippets)
    assert found / wanted >= WITH_FOUND_FLOOR
    assert absent / unwanted >= WITHOUT_ABSENT_FLOOR


def test_word_f1() -> None:
    assert word_f1("The cat sat", "the cat sat") == WordScores(1.0, 1.0, 1.0)
    # 2 of 4 extracted words are in the truth; 2 of 2 truth words were extracted.
    assert word_f1("cat cat dog sat", "cat sat") == pytest.approx((0.5, 1.0, 2 / 3))
    assert word_f1("", "cat") == WordScores(0.0, 0.0, 0.0)
    assert words("Ça va, l'Élysée?") == ["ça", "va", "l", "élysée"]
