"""Search on SQLite and PostgreSQL against a brute-force reading of the same generated archive."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date

import pytest

from briefing.archive import search as search_module
from briefing.archive.search import SearchQuery, parse, search
from briefing.errors import UsageError
from tests.archive.conftest import Archive
from tests.archive.fixture import LONDON, Truth


def expected(
    truths: list[Truth], query: SearchQuery, words: set[str] | frozenset[str] = frozenset()
) -> list[Truth]:
    found = [t for t in truths if t.relevant and words <= t.words]
    if query.since:
        found = [t for t in found if t.day >= query.since]
    if query.until:
        found = [t for t in found if t.day <= query.until]
    if query.topic:
        found = [t for t in found if query.topic in t.topics]
    if query.segment:
        found = [t for t in found if t.segment == query.segment]
    if query.outlet:
        found = [t for t in found if t.outlet == query.outlet]
    if query.region:
        found = [t for t in found if t.region == query.region]
    if query.sent is not None:
        found = [t for t in found if t.sent == query.sent]
    return found


CASES = [
    (SearchQuery("calais"), {"calais"}),
    (SearchQuery("Calais harbour"), {"calais", "harbour"}),
    (SearchQuery("rwanda", topic="detention"), {"rwanda"}),
    (SearchQuery("hotel", segment="right-leaning", region="uk"), {"hotel"}),
    (
        SearchQuery("barge", outlet="bbc-news", since=date(2026, 3, 1), until=date(2026, 3, 31)),
        {"barge"},
    ),
    (SearchQuery("", sent=True), set()),
    (SearchQuery("", sent=False, topic="asylum-system"), set()),
    (SearchQuery("", since=date(2026, 3, 29), until=date(2026, 3, 29)), set()),
]


@pytest.fixture(params=["walk", "index-first"])
def plan(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL walks newest first, or lists rare words' items from the GIN index first;
    the fixture's words are all rare, so the walk is forced by a threshold of none."""
    if request.param == "walk":
        monkeypatch.setattr(search_module, "INDEX_FIRST_ROWS", -1)


@pytest.mark.usefixtures("plan")
@pytest.mark.parametrize(("query", "words"), CASES, ids=[c[0].text or "filters" for c in CASES])
def test_hits_totals_and_facets_match_brute_force(
    archive: Archive, query: SearchQuery, words: set[str]
) -> None:
    want = expected(archive.truths, query, words)
    assert want, "the case must find something to be a test"
    result = search(archive.engine, replace(query, per_page=100), LONDON)
    assert result.total == len(want)
    if len(want) <= 100:
        assert {h.item_id for h in result.hits} == {t.id for t in want}
    else:  # by date, newest first: the first page is the newest hundred
        newest = sorted(want, key=lambda t: (t.published_at, t.id), reverse=True)[:100]
        assert [h.item_id for h in result.hits] == [t.id for t in newest]
    assert dict(result.facets["segment"]) == _tally(t.segment for t in want)
    assert dict(result.facets["topic"]) == _tally(topic for t in want for topic in t.topics)
    assert dict(result.facets["outlet"]) == _tally(t.outlet for t in want if t.outlet)
    assert dict(result.facets["region"]) == _tally(t.region for t in want if t.region)
    by_id = {t.id: t for t in want}
    for hit in result.hits:
        assert (hit.sent_in is not None) == by_id[hit.item_id].sent


def _tally(values: Iterable[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return counts


def test_the_query_language_on_both_engines(archive: Archive) -> None:
    truths = [t for t in archive.truths if t.relevant]

    def ids(text: str) -> set[int]:
        result = search(archive.engine, SearchQuery(text, per_page=100), LONDON)
        assert result.total <= 100, "keep the cases narrow enough for one page"
        return {h.item_id for h in result.hits}

    def having(*words: str) -> set[int]:
        return {t.id for t in truths if set(words) <= t.words}

    assert ids("manston barge") == having("manston", "barge")
    assert ids("manston OR bishop barge") == having("manston", "barge") | having("bishop", "barge")
    assert ids("manston -barge") == having("manston") - having("barge")
    assert ids('"the museum report"') == {t.id for t in truths if "The museum report" in t.text}


def test_relevance_puts_title_words_first_and_date_sort_is_newest_first(
    archive: Archive,
) -> None:
    by_relevance = search(archive.engine, SearchQuery("orchard"), LONDON).hits
    assert "orchard" in by_relevance[0].title.lower()
    assert by_relevance[0].snippet and any(marked for _, marked in by_relevance[0].snippet)
    assert any("orchard" in run.lower() for run, marked in by_relevance[0].snippet if marked)
    by_date = search(archive.engine, SearchQuery("orchard", sort="date"), LONDON).hits
    stamps = [h.published_at for h in by_date]
    assert stamps == sorted(stamps, reverse=True)


@pytest.mark.parametrize(
    "text", ["rates AND (", '"', "NEAR(a b)", "*", "title:calais", "a'b", "\\x00", "OR OR"]
)
def test_hostile_queries_never_reach_the_engine_as_syntax(archive: Archive, text: str) -> None:
    try:
        search(archive.engine, SearchQuery(text), LONDON)
    except UsageError as e:
        assert "no words" in str(e)


def test_bad_requests_are_usage_errors() -> None:
    for bad in (
        lambda: SearchQuery("x" * 501),
        lambda: SearchQuery(page=0),
        lambda: SearchQuery(since=date(2026, 3, 2), until=date(2026, 3, 1)),
        lambda: SearchQuery(sort="random"),  # type: ignore[arg-type]
    ):
        with pytest.raises(UsageError):
            bad()


def test_parse_groups_alternatives_and_keeps_negations_apart() -> None:
    groups = parse('small boats OR dinghies "Bibby Stockholm" -Rwanda asyl*')
    words = [[(t.words, t.negated, t.prefix) for t in g] for g in groups]
    assert words == [
        [(("small",), False, False)],
        [(("boats",), False, False), (("dinghies",), False, False)],
        [(("Bibby", "Stockholm"), False, False)],
        [(("Rwanda",), True, False)],
        [(("asyl",), False, True)],
    ]


def test_a_broad_search_reads_only_the_newest_candidates_and_says_so(
    archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    import briefing.archive.search as module

    monkeypatch.setattr(module, "CANDIDATES", 40)
    want = expected(archive.truths, SearchQuery("council"), {"council"})
    assert len(want) > 40
    result = search(archive.engine, SearchQuery("council", sort="date", per_page=100), LONDON)
    assert result.capped and result.total == 40
    newest = sorted(want, key=lambda t: t.id, reverse=True)[:40]  # ids follow fetch order
    assert {h.item_id for h in result.hits} == {t.id for t in newest}
    assert sum(n for _, n in result.facets["segment"]) == 40
    narrow = search(archive.engine, SearchQuery("council manston"), LONDON)
    assert not narrow.capped
