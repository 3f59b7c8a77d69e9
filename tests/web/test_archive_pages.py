"""The archive pages and API over plain HTTP (in process), on the generated archive of
tests/archive/fixture.py, on both databases: search with facets, filters, pagination and
exports; the statistics page and every export format against the library's own figures; the
term list (roles, CSRF, audit, counting in the background); bad input; escaping; OpenAPI."""

from __future__ import annotations

import csv
import io
import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy import Engine, select

from briefing.archive import rollup
from briefing.archive.search import MAX_PAGE, SearchQuery, search
from briefing.archive.trends import (
    TrendQuery,
    outlet_names,
    spikes,
    term_rows,
    term_trend,
    to_csv,
    trend,
    trend_rows,
)
from briefing.config.settings import Settings, load_settings
from briefing.config.taxonomy import default_taxonomy
from briefing.db.engine import make_engine, session_scope
from briefing.db.models import AuditEntry, Item, ItemLabel, ItemTopic, TermCount, TrackedTerm
from briefing.db.users import add_user
from briefing.web.app import create_app
from briefing.web.archive_views import labels_for
from briefing.web.charts import format_value
from tests.archive.conftest import Archive, generated_archive
from tests.archive.fixture import (
    DAYS,
    FIRST_DAY,
    KEEP_DAYS,
    LONDON,
    NOW,
    SPIKE_DAY,
    SPIKE_TOPIC,
    Truth,
    phrase_pattern,
)
from tests.conftest import BACKENDS

PASSWORD = "a long passphrase"
XSS = '<script>alert(1)</script><img src=x onerror="alert(2)">'
LAST_DAY = FIRST_DAY + timedelta(days=DAYS - 1)
RANGE = {"since": FIRST_DAY.isoformat(), "until": LAST_DAY.isoformat()}
TAXONOMY = default_taxonomy()
COUNT_SECONDS = 90  # a term's count over the archive, in a background thread


@dataclass
class Site:
    settings: Settings
    engine: Engine
    truths: list[Truth]


@pytest.fixture(scope="module", params=BACKENDS)
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    """The generated archive, one hostile headline, and three accounts; tests add terms."""
    with generated_archive(request, tmp_path_factory) as archive:
        yield _site(archive)


def _site(archive: Archive) -> Site:
    engine, url = archive.engine, archive.url
    with session_scope(engine) as session:
        published = datetime(2026, 3, 5, 10, tzinfo=UTC)
        item = Item(
            outlet_id=None,
            publisher_name=f"Paper {XSS}",
            url="javascript:alert(3)",
            canonical_url="https://hostile.example/1",
            url_hash="f" * 64,
            title=f"Hostile headline {XSS}",
            summary=f"Summary zanzibar {XSS}",
            published_at=published,
            content_hash="x",
        )
        item.label = ItemLabel(
            model_version="test",
            relevant=True,
            relevance=0.9,
            region="uk",
            segment="unknown",
            topics=[ItemTopic(topic="detention", score=0.9)],
        )
        session.add(item)
        for name, role in (("ed", "editor"), ("vi", "viewer"), ("ad", "admin")):
            add_user(session, name, PASSWORD, role)
    rollup.refresh(engine, [date(2026, 3, 5)], LONDON, KEEP_DAYS, NOW)
    settings = load_settings(
        {"BRIEFING_DATABASE_URL": url, "BRIEFING_SECRET_KEY": "test-secret-key-for-sessions"}
    )
    return Site(settings, engine, archive.truths)


OPEN: list[TestClient] = []


@pytest.fixture(autouse=True)
def _close_apps() -> Iterator[None]:
    yield
    while OPEN:
        app = OPEN.pop().app
        assert app.state.term_counter.wait(COUNT_SECONDS)  # type: ignore[attr-defined]
        app.state.context.close()  # type: ignore[attr-defined]


def token(text: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', text)
    assert found is not None
    return found[1]


def client(settings: Settings, username: str | None = None) -> TestClient:
    app_client = TestClient(create_app(settings))
    OPEN.append(app_client)
    if username:
        csrf = token(app_client.get("/login").text)
        form = {"username": username, "password": PASSWORD, "csrf": csrf}
        assert app_client.post("/login", data=form, follow_redirects=False).status_code == 303
    return app_client


class Tables(HTMLParser):
    """The page's tables by id, each row a list of cell texts (a cell's `.value` when it has
    one: the figure without the fetch-gap note)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.gaps: dict[str, list[list[bool]]] = {}
        self._table: str | None = None
        self._cell: list[str] | None = None
        self._value: list[str] | None = None
        self._in_value = False
        self._gap = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        if tag == "table":
            self._table = attr.get("id") or ""
            self.tables[self._table], self.gaps[self._table] = [], []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append([])
            self.gaps[self._table].append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell, self._value = [], None
            self._gap = "gap" in (attr.get("class") or "")
        elif tag == "span" and "value" in (attr.get("class") or "").split():
            self._value, self._in_value = [], True

    def handle_endtag(self, tag: str) -> None:
        if tag == "span" and self._in_value:
            self._in_value = False
        elif tag in ("td", "th") and self._cell is not None and self._table is not None:
            text = "".join(self._value if self._value is not None else self._cell)
            self.tables[self._table][-1].append(" ".join(text.split()))
            self.gaps[self._table][-1].append(self._gap)
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._in_value and self._value is not None:
            self._value.append(data)


def links(html: str) -> list[str]:
    return [m.replace("&amp;", "&") for m in re.findall(r'href="([^"]+)"', html)]


def params(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def library(site: Site, **query: Any) -> Any:
    return search(site.engine, SearchQuery(**query), LONDON)


# --- search -------------------------------------------------------------------------------


def test_search_shows_the_total_the_hits_and_the_facets(site: Site) -> None:
    viewer = client(site.settings, "vi")
    page = viewer.get("/archive", params={"q": "calais", "topic": "detention"})
    assert page.status_code == 200
    expected = library(site, text="calais", topic="detention")
    assert expected.total > 0
    assert f"{expected.total:,} items match" in page.text
    titles = re.findall(
        r'<h3><a href="[^"]+" rel="noopener noreferrer">([^<]+)</a></h3>', page.text
    )
    assert titles == [hit.title for hit in expected.hits]
    assert "<mark>Calais</mark>" in page.text or "<mark>calais</mark>" in page.text
    for value, count in expected.facets["segment"]:
        label = {
            "mixed-middle": "mixed middle",
            "local-regional": "local",
            "unknown": "unclassified",
        }
        assert f'{label.get(value, value)}</a> <span class="count">({count:,})</span>' in page.text
    # London dates, and the briefing an item made
    first = expected.hits[0]
    local = first.published_at.astimezone(LONDON)
    assert f'<time datetime="{local.isoformat()}">' in page.text
    sent = next((hit for hit in expected.hits if hit.sent_in), None)
    if sent:
        assert f'In the briefing of <a href="/editions/{sent.sent_in}">' in page.text


def test_the_state_round_trips_through_the_url(site: Site) -> None:
    viewer = client(site.settings, "vi")
    asked = {
        "q": "calais",
        "since": "2026-02-10",
        "until": "2026-04-01",
        "segment": "progressive",
        "sent": "no",
        "sort": "date",
    }
    page = viewer.get("/archive", params=asked).text
    assert 'name="q" value="calais"' in page
    assert 'name="since" value="2026-02-10"' in page and 'name="until" value="2026-04-01"' in page
    for value in ("progressive", "no", "date"):
        assert f'<option value="{value}" selected>' in page
    facet = next(link for link in links(page) if "topic=" in link and link.startswith("/archive"))
    assert params(facet) == asked | {"topic": params(facet)["topic"]}
    narrowed = viewer.get(facet).text
    expected = library(
        site,
        text="calais",
        since=date(2026, 2, 10),
        until=date(2026, 4, 1),
        segment="progressive",
        sent=False,
        sort="date",
        topic=params(facet)["topic"],
    )
    assert f"{expected.total:,} item" in narrowed
    # Each filter in use can be removed on its own.
    removes = re.findall(r'<a href="([^"]+)" aria-label="Remove the filter ([a-z]+):', narrowed)
    assert {name for _, name in removes} == {"topic", "segment", "sent", "since", "until"}
    for href, name in removes:
        assert params(href.replace("&amp;", "&")) == {
            k: v for k, v in (asked | {"topic": params(facet)["topic"]}).items() if k != name
        }


def test_pagination_keeps_every_parameter(site: Site) -> None:
    viewer = client(site.settings, "vi")
    asked = {"q": "calais OR dinghy", "region": "europe", "sort": "date", "per_page": "10"}
    page = viewer.get("/archive", params=asked).text
    pages = [link for link in links(page) if "page=" in link and link.startswith("/archive?")]
    second = next(link for link in pages if params(link).get("page") == "2")
    assert params(second) == asked | {"page": "2"}
    expected = library(site, text="calais OR dinghy", region="europe", sort="date", per_page=10)
    assert expected.total > 20
    shown = viewer.get(second).text
    assert 'aria-current="page"><span class="vh">Page </span>2<' in shown
    page_two = library(
        site, text="calais OR dinghy", region="europe", sort="date", per_page=10, page=2
    )
    titles = re.findall(r'rel="noopener noreferrer">([^<]+)</a></h3>', shown)
    assert titles == [hit.title for hit in page_two.hits]
    assert '<ol class="hits" start="11">' in shown


def test_feed_text_and_term_labels_stay_inert(site: Site) -> None:
    editor = client(site.settings, "ed")
    found = editor.get("/archive", params={"q": "zanzibar"}).text
    stats_form = editor.get("/stats/terms").text
    added = editor.post(
        "/stats/terms",
        data={"csrf": token(stats_form), "label": XSS, "kind": "loaded", "phrases": "zanzibar"},
    )
    assert added.status_code == 200  # followed the redirect back to the list
    terms_page = editor.get("/stats/terms").text
    stats_page = editor.get("/stats", params=RANGE).text
    for html in (found, terms_page, stats_page):
        assert "<script>alert(1)</script>" not in html
        assert 'onerror="alert(2)"' not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Hostile headline" in found and 'href="javascript:' not in found
    assert "<mark>zanzibar</mark>" in found
    csv_text = editor.get("/api/search", params={"q": "zanzibar", "format": "csv"}).text
    (row,) = csv.DictReader(io.StringIO(csv_text))  # data as it came: a CSV is not HTML
    assert row["title"] == f"Hostile headline {XSS}" and row["url"] == "javascript:alert(3)"
    with session_scope(site.engine) as session:  # the next tests see the fixture's terms
        term = session.scalars(select(TrackedTerm).where(TrackedTerm.label == XSS)).one()
        term_id = term.id
    assert editor.app.state.term_counter.wait(COUNT_SECONDS)  # type: ignore[attr-defined]
    page = editor.get("/stats/terms").text
    editor.post(f"/stats/terms/{term_id}/delete", data={"csrf": token(page)})


BAD_SEARCHES = [
    ({"since": "2026-13-01"}, "since must be a date"),
    ({"until": "9999-12-31"}, "until must be a date"),
    ({"since": "2026-03-02", "until": "2026-03-01"}, "since is after until"),
    ({"since": "2000-01-01", "until": "2026-01-01"}, "at most ten years"),
    ({"page": "0"}, f"page must be between 1 and {MAX_PAGE}"),
    ({"page": str(MAX_PAGE + 1)}, f"page must be between 1 and {MAX_PAGE}"),
    ({"page": "two"}, "page must be a whole number"),
    ({"per_page": "101"}, "per_page must be between 1 and 100"),
    ({"q": "a" * 600}, "the search is too long"),
    ({"q": "-calais"}, "the search has no words to look for"),
    ({"topic": "nonsense"}, "topic must be one of"),
    ({"outlet": "no-such-outlet"}, "outlet must be one of"),
    ({"sent": "maybe"}, "sent must be one of"),
    ({"sort": "random"}, "sort must be one of"),
]
BAD_STATS = [
    ({"by": "colour"}, "by must be one of"),
    ({"period": "year"}, "period must be one of"),
    ({"since": "2026-03-02", "until": "2026-03-01"}, "since is after until"),
    ({"since": "2000-01-01", "until": "2026-01-01"}, "at most ten years"),
    ({"until": "yesterday"}, "until must be a date"),
    ({"since": "0001-01-01"}, "since must be a date"),
]


def test_bad_searches_get_a_message_and_400(site: Site) -> None:
    viewer = client(site.settings, "vi")
    for asked, message in BAD_SEARCHES:
        page = viewer.get("/archive", params=asked)
        assert page.status_code == 400, asked
        assert 'class="problem" role="alert"' in page.text and message in page.text, asked
        assert 'role="search"' in page.text  # the form is still there to fix it
        api = viewer.get("/api/search", params=asked)
        assert api.status_code == 400 and message in api.json()["detail"], asked


def test_bad_figures_get_a_message_and_400(site: Site) -> None:
    viewer = client(site.settings, "vi")
    for asked, message in BAD_STATS:
        page = viewer.get("/stats", params=asked)
        assert page.status_code == 400, asked
        assert message[1:] in page.text and 'role="alert"' in page.text, asked  # capitalised
        api = viewer.get("/api/stats", params=asked)
        assert api.status_code == 400 and message in api.json()["detail"], asked
        if "by" not in asked:
            terms = viewer.get("/api/terms", params=asked)
            assert terms.status_code == 400 and message in terms.json()["detail"], asked


def test_other_bad_input(site: Site) -> None:
    viewer = client(site.settings, "vi")
    for path, asked, message in (
        ("/stats", {"measure": "volume"}, "measure must be one of"),
        ("/stats", {"terms_segment": "nobody"}, "segment must be one of"),
        (
            "/stats",
            {"period": "day", "since": "2024-01-01", "until": "2026-01-01"},
            "days: choose a longer period",
        ),
    ):
        page = viewer.get(path, params=asked)
        assert page.status_code == 400 and message[1:] in page.text, (asked, page.text[-2000:])
    for path in ("/api/search", "/api/stats", "/api/terms"):
        response = viewer.get(path, params={"format": "xml"})
        assert response.status_code == 400 and "format must be one of" in response.json()["detail"]
    response = viewer.get("/api/terms", params={"segment": "nobody"})
    assert response.status_code == 400


def test_an_empty_archive_says_so(database_url: str) -> None:
    engine = make_engine(database_url)
    with session_scope(engine) as session:
        add_user(session, "vi", PASSWORD, "viewer")
    engine.dispose()
    settings = load_settings(
        {"BRIEFING_DATABASE_URL": database_url, "BRIEFING_SECRET_KEY": "test-secret-key"}
    )
    viewer = client(settings, "vi")
    page = viewer.get("/archive")
    assert page.status_code == 200 and "The archive is empty." in page.text
    nothing = viewer.get("/archive", params={"q": "calais"})
    assert nothing.status_code == 200 and "Nothing matches." in nothing.text
    stats = viewer.get("/stats")
    assert stats.status_code == 200 and "Nothing counted in this range." in stats.text
    assert "No data for this period" in stats.text and "No spikes in this range." in stats.text
    assert viewer.get("/api/search").json()["total"] == 0


# --- statistics ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("by", "period", "topic", "measure"),
    [
        ("topic", "week", None, "count"),
        ("outlet", "week", None, "count"),
        ("segment", "month", "detention", "share"),
        ("outlet", "day", "asylum-system", "count"),
        ("all", "week", None, "share"),
    ],
)
def test_the_stats_page_shows_the_library_figures(
    site: Site, by: str, period: str, topic: str | None, measure: str
) -> None:
    viewer = client(site.settings, "vi")
    asked = {"by": by, "period": period, "measure": measure, **RANGE} | (
        {"topic": topic} if topic else {}
    )
    page = viewer.get("/stats", params=asked)
    assert page.status_code == 200
    labels = labels_for(by, TAXONOMY, outlet_names(site.engine))
    figure = trend(site.engine, TrendQuery(FIRST_DAY, LAST_DAY, by, period, topic), labels)  # type: ignore[arg-type]
    tables = Tables(page.text)
    share = measure == "share"
    series = [s for s in figure.series if s.total]

    def shown(n: int, whole: int) -> str:
        if not share:
            return format_value(n, False)
        return format_value(n / whole, True) if whole else "\u2013"

    fetched = sum(figure.fetched)
    expected = [
        [
            s.label,
            *(shown(n, f) for n, f in zip(s.counts, figure.fetched, strict=True)),
            shown(s.total, fetched) if share else f"{s.total:,}",
        ]
        for s in series
    ]
    assert tables.tables["trend-table"][1:] == expected
    assert [row[1:-1] for row in tables.gaps["trend-table"][1:]] == [list(s.gaps) for s in series]
    if by == "outlet" and not topic:
        assert any(any(s.gaps) for s in series)  # the fixture's failing feeds show
        assert "Shaded periods" in page.text
    relevant = sum(figure.relevant)
    totals = [
        [
            s.label,
            f"{s.total:,}",
            format_value(s.total / relevant, True),
            f"{sum(s.sent):,}",
            f"{s.total - sum(s.sent):,}",
        ]
        for s in series
    ]
    assert tables.tables["totals-table"][1:] == totals
    if topic and by == "segment":
        assert "Share of Immigration detention items by segment" in page.text
    # Every line in the chart (the largest eight) has its points, formatted as in the table.
    for s in series[:8]:
        assert page.text.count(f'data-series="{escape(s.label)}"') == sum(
            1 for n, f in zip(s.counts, figure.fetched, strict=True) if not share or f
        )


def test_spikes_link_to_the_archive_for_that_topic_and_day(site: Site) -> None:
    viewer = client(site.settings, "vi")
    page = viewer.get("/stats", params=RANGE).text
    found = spikes(site.engine, FIRST_DAY, LAST_DAY)
    assert (SPIKE_TOPIC, SPIKE_DAY) in {(s.topic, s.day) for s in found}
    rows = Tables(page).tables["spikes-table"][1:]
    assert [row[0] for row in rows] == [TAXONOMY.topic_label(s.topic) for s in found]
    assert [row[2] for row in rows] == [f"{s.count:,}" for s in found]
    href = next(link for link in links(page) if f"topic={SPIKE_TOPIC}" in link and "since=" in link)
    assert params(href) == {
        "topic": SPIKE_TOPIC,
        "since": SPIKE_DAY.isoformat(),
        "until": SPIKE_DAY.isoformat(),
        "sort": "date",
    }
    items = viewer.get(href).text
    count = sum(1 for t in site.truths if t.day == SPIKE_DAY and SPIKE_TOPIC in t.topics)
    assert f"{count:,} items match" in items


def test_the_stats_page_defaults_to_twelve_weeks_to_today(site: Site) -> None:
    viewer = client(site.settings, "vi")
    page = viewer.get("/stats").text
    today = datetime.now(LONDON).date()
    monday = today - timedelta(days=today.weekday()) - timedelta(weeks=11)
    assert f'name="until" value="{today.isoformat()}"' in page
    assert f'name="since" value="{monday.isoformat()}"' in page
    assert len(Tables(page).tables["trend-table"][0]) == 1 + 12 + 1  # name, 12 weeks, total


# --- the API and its exports ----------------------------------------------------------------


def test_every_export_agrees_with_the_library(site: Site) -> None:
    viewer = client(site.settings, "vi")
    # Search, JSON: one page, the total and the facets.
    asked = {"q": "calais OR harbour", "segment": "mixed-middle", "per_page": "15", "page": "2"}
    response = viewer.get("/api/search", params=asked)
    assert (
        response.status_code == 200
        and "inline; filename=" in response.headers["content-disposition"]
    )
    got = response.json()
    expected = library(site, text="calais OR harbour", segment="mixed-middle", per_page=15, page=2)
    assert got["total"] == expected.total and got["pages"] == expected.pages
    assert [h["item_id"] for h in got["hits"]] == [h.item_id for h in expected.hits]
    assert [h["title"] for h in got["hits"]] == [h.title for h in expected.hits]
    assert {
        name: [(f["value"], f["count"]) for f in values] for name, values in got["facets"].items()
    } == expected.facets
    hit = got["hits"][0]
    assert "".join(run["text"] for run in hit["snippet_runs"]) == hit["snippet"]
    assert datetime.fromisoformat(hit["published_at"]) == expected.hits[0].published_at

    # Search, CSV: every hit in order (the link on the page), with a file name.
    page = viewer.get("/archive", params=asked).text
    csv_link = next(link for link in links(page) if "format=csv" in link)
    assert params(csv_link) == asked | {"format": "csv"}
    response = viewer.get(csv_link)
    assert response.headers["content-type"].startswith("text/csv")
    assert re.fullmatch(
        r'attachment; filename="briefing-search-\d{4}-\d\d-\d\d\.csv"',
        response.headers["content-disposition"],
    )
    rows = list(csv.DictReader(io.StringIO(response.text)))
    every = library(site, text="calais OR harbour", segment="mixed-middle", per_page=100)
    assert every.total < 100
    assert [int(r["item_id"]) for r in rows] == [h.item_id for h in every.hits]
    assert response.headers["x-total-count"] == str(every.total)

    # Stats, JSON and CSV: the trend rows, and the spikes.
    asked = {"by": "segment", "period": "week", "topic": "detention", **RANGE}
    query = TrendQuery(FIRST_DAY, LAST_DAY, "segment", "week", "detention")
    labels = labels_for("segment", TAXONOMY, outlet_names(site.engine))
    rows_expected = trend_rows(trend(site.engine, query, labels))
    got = viewer.get("/api/stats", params=asked).json()
    assert got["rows"] == rows_expected
    assert [(s["day"], s["topic"], s["items"]) for s in got["spikes"]] == [
        (s.day.isoformat(), s.topic, s.count) for s in spikes(site.engine, FIRST_DAY, LAST_DAY)
    ]
    page = viewer.get("/stats", params=asked).text
    stats_csv = next(
        link for link in links(page) if link.startswith("/api/stats") and "csv" in link
    )
    response = viewer.get(stats_csv)
    assert response.text == to_csv(rows_expected)
    assert response.headers["content-disposition"] == (
        'attachment; filename="briefing-stats-segment-week-2026-02-01-2026-04-20-detention.csv"'
    )

    # The language tracker, JSON and CSV, in one segment's outlets.
    asked_terms = {"period": "month", "segment": "right-leaning", **RANGE}
    figure = term_trend(site.engine, FIRST_DAY, LAST_DAY, "month", "right-leaning")
    got = viewer.get("/api/terms", params=asked_terms).json()
    assert got["rows"] == term_rows(figure)
    assert {t["label"]: t["items"] for t in got["terms"]} == {
        t.label: t.total for t in figure.terms
    }
    page = viewer.get(
        "/stats", params={"period": "month", "terms_segment": "right-leaning", **RANGE}
    ).text
    terms_csv = next(
        link for link in links(page) if link.startswith("/api/terms") and "csv" in link
    )
    assert params(terms_csv) == asked_terms | {"format": "csv"}
    assert viewer.get(terms_csv).text == to_csv(term_rows(figure))


def test_a_search_export_stops_at_the_cap_and_says_so(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("briefing.web.archive.SEARCH_CSV_ROWS", 150)
    viewer = client(site.settings, "vi")
    response = viewer.get("/api/search", params={"format": "csv", "sort": "date"})
    rows = list(csv.DictReader(io.StringIO(response.text)))
    everything = library(site, sort="date", per_page=100)
    assert len(rows) == 150 < everything.total
    first_two = (
        library(site, sort="date", per_page=100).hits
        + library(site, sort="date", per_page=100, page=2).hits
    )
    assert [int(r["item_id"]) for r in rows] == [h.item_id for h in first_two[:150]]
    assert f"-first-150-of-{everything.total}.csv" in response.headers["content-disposition"]
    assert response.headers["x-exported-rows"] == "150"


def test_the_api_needs_a_session_and_answers_401_not_a_redirect(site: Site) -> None:
    anonymous = client(site.settings)
    for path in ("/api/search", "/api/stats", "/api/terms", "/api/search?format=csv"):
        response = anonymous.get(path, follow_redirects=False)
        assert response.status_code == 401, path
        assert response.headers["content-type"] == "application/json"
        assert "Sign in" in response.json()["detail"]
    for path in ("/archive", "/stats", "/stats/terms", "/stats?by=segment&topic=detention"):
        response = anonymous.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == "/login?" + urlencode({"next": path})


def test_openapi_documents_the_api(site: Site) -> None:
    schema = client(site.settings).get("/openapi.json").json()  # public: no secrets in it
    paths = schema["paths"]
    assert {"/api/search", "/api/stats", "/api/terms"} <= set(paths)
    assert all(path.startswith("/api/") for path in paths)  # pages and forms are not the API
    search_doc = paths["/api/search"]["get"]
    names = {p["name"] for p in search_doc["parameters"]}
    assert {
        "q",
        "since",
        "until",
        "topic",
        "segment",
        "outlet",
        "region",
        "sent",
        "sort",
        "page",
        "per_page",
        "format",
    } <= names
    content = search_doc["responses"]["200"]["content"]
    assert content["application/json"]["schema"]["$ref"].endswith("/SearchOut")
    assert "text/csv" in content
    schemas = schema["components"]["schemas"]
    assert {
        "SearchOut",
        "HitOut",
        "StatsOut",
        "TrendRowOut",
        "SpikeOut",
        "TermsOut",
        "TermRowOut",
    } <= set(schemas)
    assert {"period", "items", "share_of_fetched", "feeds_failing"} <= set(
        schemas["TrendRowOut"]["properties"]
    )


# --- the term list ------------------------------------------------------------------------


def test_viewers_read_the_term_list_and_cannot_change_it(site: Site) -> None:
    viewer = client(site.settings, "vi")
    page = viewer.get("/stats/terms")
    assert page.status_code == 200 and "illegal migrants" in page.text
    assert "Add a term" not in page.text and "Delete" not in page.text
    csrf = token(page.text)
    with session_scope(site.engine, write=False) as session:
        term_id = session.scalars(select(TrackedTerm.id)).first()
    for path, form in (
        ("/stats/terms", {"label": "swarm", "kind": "loaded", "phrases": "swarm"}),
        (f"/stats/terms/{term_id}", {"label": "x", "kind": "loaded", "phrases": "x"}),
        (f"/stats/terms/{term_id}/delete", {}),
    ):
        assert viewer.post(path, data={"csrf": csrf, **form}).status_code == 403


def test_term_changes_need_the_csrf_token(site: Site) -> None:
    editor = client(site.settings, "ed")
    editor.get("/stats/terms")
    for sent in ("", "forged"):
        response = editor.post(
            "/stats/terms", data={"csrf": sent, "label": "swarm", "kind": "loaded", "phrases": "a"}
        )
        assert response.status_code == 403
    with session_scope(site.engine, write=False) as session:
        assert (
            session.scalars(select(TrackedTerm).where(TrackedTerm.label == "swarm")).first() is None
        )


def test_a_duplicate_or_empty_term_is_refused_with_the_form_kept(site: Site) -> None:
    editor = client(site.settings, "ed")
    csrf = token(editor.get("/stats/terms").text)
    response = editor.post(
        "/stats/terms",
        data={"csrf": csrf, "label": "Refugees", "kind": "neutral", "phrases": "refugee, asylee"},
    )
    assert response.status_code == 400
    assert 'There is already a term called "Refugees"' in response.text.replace("&#34;", '"')
    assert ">refugee, asylee</textarea>" in response.text  # what was typed is still there
    for form, message in (
        ({"label": "", "kind": "loaded", "phrases": "a"}, "needs a label"),
        ({"label": "swarm", "kind": "hostile", "phrases": "swarm"}, "kind must be one of"),
        ({"label": "swarm", "kind": "loaded", "phrases": " , "}, "at least one phrase"),
    ):
        refused = editor.post("/stats/terms", data={"csrf": csrf, **form})
        assert refused.status_code == 400 and message in refused.text.lower()
    gone = {"csrf": csrf, "label": "x", "kind": "loaded", "phrases": "x"}
    assert editor.post("/stats/terms/999999", data=gone).status_code == 404
    assert editor.post("/stats/terms/999999/delete", data={"csrf": csrf}).status_code == 404


def wait_for_counts(viewer: TestClient, label: str, asked: dict[str, str]) -> dict[str, Any]:
    """The term's entry in /api/terms once its counts are made (in bounded time)."""
    deadline = time.monotonic() + COUNT_SECONDS
    while True:
        got: dict[str, Any] = viewer.get("/api/terms", params=asked).json()
        term = next(t for t in got["terms"] if t["label"] == label)
        if not term["counting"]:
            return got
        assert time.monotonic() < deadline, f"{label} still counting after {COUNT_SECONDS}s"
        time.sleep(0.2)


def brute_force(site: Site, phrases: list[str]) -> Counter[str]:
    """Relevant items using any of the phrases, per month."""
    pattern = phrase_pattern(phrases)
    return Counter(
        t.day.replace(day=1).isoformat()
        for t in site.truths
        if t.relevant and pattern.search(t.text) and FIRST_DAY <= t.day <= LAST_DAY
    )


def test_an_editor_adds_edits_and_deletes_a_term_and_it_is_counted(site: Site) -> None:
    editor = client(site.settings, "ed")
    asked = {"period": "month", **RANGE}
    csrf = token(editor.get("/stats/terms").text)
    added = editor.post(
        "/stats/terms",
        data={"csrf": csrf, "label": "boats", "kind": "neutral", "phrases": "dinghy\nHarbour"},
        follow_redirects=False,
    )
    assert added.status_code == 303 and added.headers["location"].startswith("/stats/terms?notice=")
    assert "counting it over the archive" in editor.get(added.headers["location"]).text
    got = wait_for_counts(editor, "boats", asked)
    rows = {r["period"]: r["items"] for r in got["rows"] if r["term"] == "boats"}
    expected = brute_force(site, ["dinghy", "harbour"])
    assert sum(expected.values()) > 0
    assert rows == {period: expected.get(period, 0) for period in rows}
    assert got["rows"] == term_rows(term_trend(site.engine, FIRST_DAY, LAST_DAY, "month"))

    with session_scope(site.engine, write=False) as session:
        term_id = session.scalars(select(TrackedTerm.id).where(TrackedTerm.label == "boats")).one()
    page = editor.get("/stats/terms").text
    edited = editor.post(
        f"/stats/terms/{term_id}",
        data={"csrf": token(page), "label": "boats", "kind": "loaded", "phrases": "calais"},
    )
    assert "counting it again" in edited.text
    got = wait_for_counts(editor, "boats", asked)
    rows = {r["period"]: r["items"] for r in got["rows"] if r["term"] == "boats"}
    expected = brute_force(site, ["calais"])
    assert rows == {period: expected.get(period, 0) for period in rows}
    assert {r["kind"] for r in got["rows"] if r["term"] == "boats"} == {"loaded"}

    renamed = editor.post(
        f"/stats/terms/{term_id}",
        data={"csrf": token(page), "label": "Calais", "kind": "loaded", "phrases": "calais"},
    )
    assert 'Saved "Calais".' in renamed.text.replace("&#34;", '"')  # same phrases: no recount

    deleted = editor.post(f"/stats/terms/{term_id}/delete", data={"csrf": token(page)})
    assert "Deleted" in deleted.text
    assert "Calais" not in {
        t["label"] for t in editor.get("/api/terms", params=asked).json()["terms"]
    }
    with session_scope(site.engine, write=False) as session:
        assert (
            session.scalars(select(TermCount).where(TermCount.term_id == term_id)).first() is None
        )
        audit = [
            (a.action, a.target)
            for a in session.scalars(select(AuditEntry).where(AuditEntry.action.like("term_%")))
        ]
    assert {
        ("term_add", "boats"),
        ("term_edit", "boats"),
        ("term_edit", "Calais"),
        ("term_delete", "Calais"),
    } <= set(audit)


def test_the_stats_page_says_when_a_term_is_still_counting(site: Site) -> None:
    with session_scope(site.engine) as session:
        session.add(TrackedTerm(label="swarm", kind="loaded", phrases=["swarm"], counted_at=None))
    try:
        viewer = client(site.settings, "vi")
        page = viewer.get("/stats", params=RANGE).text
        assert "Counting swarm over the archive" in page
        row = next(r for r in Tables(page).tables["terms-table"] if r[0] == "swarm (loaded)")
        assert row[1:] == ["counting…"]
        assert 'data-series="swarm (loaded)"' not in page  # not drawn until counted
    finally:
        with session_scope(site.engine) as session:
            session.query(TrackedTerm).filter_by(label="swarm").delete()


def test_a_capped_search_says_so(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("briefing.archive.search.CANDIDATES", 40)
    monkeypatch.setattr("briefing.web.archive.SEARCH_CSV_ROWS", 40)
    viewer = client(site.settings, "vi")
    expected = library(site, text="story")
    assert expected.capped and expected.total == 40
    page = viewer.get("/archive", params={"q": "story"}).text
    assert "More than 40 items match" in page and "A search reads the newest 40 matches" in page
    got = viewer.get("/api/search", params={"q": "story"}).json()
    assert got["capped"] is True and got["total"] == 40
    response = viewer.get("/api/search", params={"q": "story", "format": "csv"})
    assert len(list(csv.DictReader(io.StringIO(response.text)))) == 40
    assert response.headers["x-total-capped"] == "true"
    assert "-newest-40-of-more.csv" in response.headers["content-disposition"]


def test_an_export_of_figures_is_bounded(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("briefing.web.archive.MAX_ROWS", 50)
    viewer = client(site.settings, "vi")
    for path in ("/api/stats", "/api/terms"):
        response = viewer.get(path, params={"period": "day", **RANGE})
        assert response.status_code == 400, path
        assert "rows, more than 50: choose a longer period" in response.json()["detail"]
        assert viewer.get(path, params={"period": "month", **RANGE}).status_code == 200
