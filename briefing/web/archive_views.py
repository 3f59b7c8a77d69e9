"""What the archive pages and the API show, built from briefing.archive's results: the query
parameters' parsers, the search page's filters, facets and links, the statistics page's charts
and tables with every number formatted once, and the API's documents and exports. Pure, apart
from `stats_figures`, which reads the archive (I/O).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from briefing.archive.search import (
    PER_PAGE,
    SearchQuery,
    SearchResult,
    hit_rows,
)
from briefing.archive.trends import (
    Spike,
    TermTrend,
    Trend,
    TrendQuery,
    outlet_names,
    period_start,
    spikes,
    term_rows,
    term_trend,
    trend,
)
from briefing.compose.context import SEGMENT_LABELS, date_label
from briefing.config.taxonomy import UNKNOWN_SEGMENT, Taxonomy
from briefing.errors import UsageError
from briefing.web.charts import bar_chart, format_value, line_chart

CHART_SERIES = 8  # lines in one chart (the largest); the table lists them all
CHART_BARS = 15
REGION_LABELS = {"uk": "UK", "europe": "Europe", "international": "International"}


# --- query parameters ----------------------------------------------------------------------


def parse_day(name: str, raw: str | None) -> date | None:
    text = (raw or "").strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        day = None
    if day is None or not 1900 <= day.year <= 2999:  # and no date arithmetic overflows
        raise UsageError(f"{name} must be a date like 2026-03-20")
    return day


def parse_int(name: str, raw: str | None, default: int) -> int:
    text = (raw or "").strip()
    if not text:
        return default
    if not text.isdigit() or len(text) > 6:
        raise UsageError(f"{name} must be a whole number")
    return int(text)


def parse_choice(name: str, raw: str | None, allowed: Collection[str]) -> str | None:
    text = (raw or "").strip()
    if text and text not in allowed:
        shown = ", ".join(list(allowed)[:12]) + (", …" if len(allowed) > 12 else "")
        raise UsageError(f"{name} must be one of {shown}")
    return text or None


def parse_format(raw: str | None) -> str:
    return parse_choice("format", raw, ("json", "csv")) or "json"


def date_range(raw_since: str | None, raw_until: str | None, today: date) -> tuple[date, date]:
    """The days asked for; by default twelve weeks (from a Monday) up to today."""
    until = parse_day("until", raw_until) or today
    since = parse_day("since", raw_since) or period_start(until, "week") - timedelta(weeks=11)
    return since, until


def segment_names(taxonomy: Taxonomy) -> dict[str, str]:
    return {s: SEGMENT_LABELS.get(s, s) for s in (*taxonomy.segments, UNKNOWN_SEGMENT)}


def labels_for(by: str, taxonomy: Taxonomy, outlets: Mapping[str, str]) -> dict[str, str]:
    """What each key of a trend is called, on the page and in the exports."""
    if by == "topic":
        return dict(taxonomy.topics)
    if by == "segment":
        return {**segment_names(taxonomy), "": "(no segment)"}
    if by == "outlet":
        return {**outlets, "": "(publishers with no outlet)"}
    if by == "region":
        return {**REGION_LABELS, "": "(no region)"}
    return {"": "All relevant items"}


# --- the search page and its JSON ----------------------------------------------------------


def query_params(query: SearchQuery) -> dict[str, str]:
    """The query as the shortest URL that means it."""
    values = {
        "q": query.text,
        "since": query.since.isoformat() if query.since else "",
        "until": query.until.isoformat() if query.until else "",
        "topic": query.topic or "",
        "segment": query.segment or "",
        "outlet": query.outlet or "",
        "region": query.region or "",
        "sent": {True: "yes", False: "no", None: ""}[query.sent],
        "sort": "" if query.sort == "relevance" else query.sort,
        "page": "" if query.page == 1 else str(query.page),
        "per_page": "" if query.per_page == PER_PAGE else str(query.per_page),
    }
    return {key: value for key, value in values.items() if value}


@dataclass(frozen=True, slots=True)
class Links:
    """URLs that change one thing about the current query and keep the rest."""

    params: dict[str, str]

    def to(self, path: str = "/archive", /, **changes: object) -> str:
        """Another filter is another result: back to its first page unless told."""
        values = {k: v for k, v in self.params.items() if k != "page"}
        for key, value in changes.items():
            if value is None:
                values.pop(key, None)
            else:
                values[key] = str(value)
        if values.get("page") == "1":
            del values["page"]
        return f"{path}?{urlencode(values)}" if values else path

    def without(self, name: str) -> str:
        return self.to(**{name: None})

    def page(self, number: int) -> str:
        return self.to(page=number)

    def export(self, fmt: str) -> str:
        return f"/api/search?{urlencode(self.params | {'format': fmt})}"


def facet_names(taxonomy: Taxonomy, outlets: Mapping[str, str]) -> dict[str, dict[str, str]]:
    return {
        "topic": dict(taxonomy.topics),
        "segment": segment_names(taxonomy),
        "outlet": dict(outlets),
        "region": REGION_LABELS,
    }


def search_view(
    query: SearchQuery, result: SearchResult, taxonomy: Taxonomy, outlets: Mapping[str, str]
) -> dict[str, Any]:
    """The names the page shows for the query's filters and its facets, with their links."""
    links, names = Links(query_params(query)), facet_names(taxonomy, outlets)
    active = {"topic": query.topic, "segment": query.segment, "outlet": query.outlet}
    active |= {"region": query.region}
    filters = [
        (name, names[name].get(value, value), links.without(name))
        for name, value in active.items()
        if value
    ]
    if query.sent is not None:
        shown = "made the briefing" if query.sent else "did not make it"
        filters.append(("sent", shown, links.without("sent")))
    for name in ("since", "until"):
        if day := getattr(query, name):
            filters.append((name, date_label(day), links.without(name)))
    facets = {
        name: [
            (names[name].get(value, value), count, links.to(**{name: value}), value == active[name])
            for value, count in result.facets.get(name, [])
        ]
        for name in ("topic", "segment", "region", "outlet")
    }
    first = (query.page - 1) * query.per_page + 1
    return {
        "result": result,
        "links": links,
        "filters": filters,
        "facets": facets,
        "shown": (first, first + len(result.hits) - 1),
        "window": [n for n in range(query.page - 3, query.page + 4) if 1 <= n <= result.pages],
        "filtered": bool(query.text or filters),
    }


def search_json(
    result: SearchResult, taxonomy: Taxonomy, tz: ZoneInfo, outlets: Mapping[str, str]
) -> dict[str, Any]:
    names = facet_names(taxonomy, outlets)
    return {
        "query": result.query.filters() | {"per_page": result.query.per_page},
        "total": result.total,
        "capped": result.capped,
        "page": result.query.page,
        "per_page": result.query.per_page,
        "pages": result.pages,
        "hits": [
            row | {"snippet_runs": [{"text": t, "highlighted": m} for t, m in hit.snippet]}
            for row, hit in zip(hit_rows(result, tz), result.hits, strict=True)
        ],
        "facets": {
            name: [
                {"value": v, "label": names.get(name, {}).get(v, v), "count": n} for v, n in counts
            ]
            for name, counts in result.facets.items()
        },
    }


# --- the statistics page -------------------------------------------------------------------


def period_label(start: date, period: str, years: bool) -> str:
    if period == "month":
        return f"{start:%b %Y}"
    return f"{start.day} {start:%b}" + (f" {start:%Y}" if years else "")


def _cell(value: float, percent: bool) -> str:
    return "\u2013" if math.isnan(value) else format_value(value, percent)


def _partial(query: TrendQuery) -> bool:
    """Whether the first or the last period is cut short by the range."""
    after = query.until + timedelta(days=1)
    return period_start(query.since, query.period) != query.since or (
        period_start(after, query.period) != after
    )


@dataclass(frozen=True, slots=True)
class Row:
    """One line of a figure's table: its name and its cells, as the chart shows them."""

    name: str
    cells: tuple[tuple[str, bool], ...]  # (text, feeds were failing)
    total: str
    counting: bool = False


def stats_view(
    figure: Trend, measure: str, found: list[Spike], terms: TermTrend, taxonomy: Taxonomy
) -> dict[str, Any]:
    """The charts and tables of the statistics page, every number formatted once."""
    query, percent = figure.query, measure == "share"
    years = query.since.year != query.until.year
    x = [period_label(p, query.period, years) for p in figure.periods]
    series = [s for s in figure.series if s.total]
    fetched, relevant = sum(figure.fetched), sum(figure.relevant)

    def values(counts: tuple[int, ...]) -> list[float]:
        if not percent:
            return [float(n) for n in counts]
        return [n / f if f else math.nan for n, f in zip(counts, figure.fetched, strict=True)]

    def total(n: int) -> str:
        return _cell(n / fetched if fetched else math.nan, True) if percent else f"{n:,}"

    rows = [
        Row(
            s.label,
            tuple(
                (_cell(v, percent), gap) for v, gap in zip(values(s.counts), s.gaps, strict=True)
            ),
            total(s.total),
        )
        for s in series
    ]
    charted = series[:CHART_SERIES]
    marked = {i for s in charted for i, gap in enumerate(s.gaps) if gap}
    topic = taxonomy.topic_label(query.topic) if query.topic else ""
    what = (f"{topic} items" if topic else "Relevant items") + (
        f" by {query.by}" if query.by != "all" else ""
    )
    title = f"{what}{' as a share of all items fetched' if percent else ''}, per {query.period}"
    line = line_chart(
        title,
        x,
        [(s.label, values(s.counts)) for s in charted],
        chart_id="trend-chart",
        percent=percent,
        marked=marked,
    )
    shares = [(s, s.total / relevant if relevant else math.nan) for s in series]
    if query.by == "outlet" and topic:
        bar_title = f"Top outlets for {topic}: share of its items"
    else:
        bar_title = f"Share of {topic or 'relevant'} items by {query.by}"
    bars = bar_chart(
        bar_title,
        [(s.label, share) for s, share in shares[:CHART_BARS] if not math.isnan(share)],
        chart_id="totals-chart",
        percent=True,
    )
    return {
        "x": x,
        "title": title,
        "rows": rows,
        "line": line,
        "marked": any(gap for s in series for gap in s.gaps),
        "charted": len(charted),
        "bar_title": bar_title,
        "bars": bars if query.by != "all" else None,
        "totals": [
            (
                s.label,
                f"{s.total:,}",
                _cell(share, True),
                f"{sum(s.sent):,}",
                f"{s.total - sum(s.sent):,}",
            )
            for s, share in shares
        ],
        "relevant": f"{relevant:,}",
        "fetched": f"{fetched:,}",
        "partial": _partial(query),
        "spikes": [
            (
                taxonomy.topic_label(s.topic),
                date_label(s.day),
                f"{s.count:,}",
                format_value(round(s.baseline, 1), False),
                Links({}).to(topic=s.topic, since=s.day, until=s.day, sort="date"),
            )
            for s in found
        ],
        **terms_view(terms, x, taxonomy),
    }


def terms_view(figure: TermTrend, x: list[str], taxonomy: Taxonomy) -> dict[str, Any]:
    """The language tracker: loaded and neutral terms named as such in chart and tables."""
    counted = [t for t in figure.terms if not t.counting]
    charted = sorted(counted, key=lambda t: -t.total)[:CHART_SERIES]
    charted.sort(key=lambda t: (t.kind, t.label.lower()))  # loaded first, as in the table
    segment = SEGMENT_LABELS.get(figure.segment or "", figure.segment)
    where = f" in {segment} outlets" if figure.segment else ""
    title = f"Items using each tracked term{where}, per {figure.period}"
    chart = line_chart(
        title,
        x,
        [(f"{t.label} ({t.kind})", [float(n) for n in t.counts]) for t in charted],
        chart_id="terms-chart",
    )
    columns = segment_names(taxonomy)
    rows, by_segment = [], []
    for t in figure.terms:
        name = f"{t.label} ({t.kind})"
        if t.counting:
            rows.append(Row(name, (), "", counting=True))
            by_segment.append(Row(name, (), "", counting=True))
            continue
        rows.append(Row(name, tuple((f"{n:,}", False) for n in t.counts), f"{t.total:,}"))
        cells = tuple((f"{t.by_segment.get(s, 0):,}", False) for s in columns)
        by_segment.append(Row(name, cells, f"{sum(t.by_segment.values()):,}"))
    return {
        "terms_title": title,
        "terms_chart": chart,
        "term_rows": rows,
        "term_segments": list(columns.values()),
        "term_by_segment": by_segment,
        "counting": [t.label for t in figure.terms if t.counting],
    }


def stats_figures(
    engine: Engine, query: TrendQuery, measure: str, segment: str | None, taxonomy: Taxonomy
) -> dict[str, Any]:
    """Everything the statistics page shows, from the archive's figures."""
    figure = trend(engine, query, labels_for(query.by, taxonomy, outlet_names(engine)))
    found = [s for s in spikes(engine, query.since, query.until) if query.topic in (None, s.topic)]
    terms = term_trend(engine, query.since, query.until, query.period, segment)
    common = {"since": str(query.since), "until": str(query.until), "period": query.period}
    exports = {
        "stats": Links({**common, "by": query.by, "topic": query.topic or ""}),
        "terms": Links({**common, "segment": segment or ""}),
    }
    return {"measure": measure, "exports": exports} | stats_view(
        figure, measure, found, terms, taxonomy
    )


# --- the API's documents -------------------------------------------------------------------


def spike_rows(found: list[Spike], taxonomy: Taxonomy) -> list[dict[str, Any]]:
    return [
        {
            "day": s.day.isoformat(),
            "topic": s.topic,
            "label": taxonomy.topic_label(s.topic),
            "items": s.count,
            "daily_average_4_weeks": round(s.baseline, 2),
        }
        for s in found
    ]


def term_summaries(figure: TermTrend) -> list[dict[str, Any]]:
    return [
        {
            "id": t.term_id,
            "label": t.label,
            "kind": t.kind,
            "phrases": list(t.phrases),
            "counting": t.counting,
            "items": t.total,
            "by_segment": t.by_segment,
        }
        for t in figure.terms
    ]


def stats_json(
    query: TrendQuery, rows: list[dict[str, Any]], found: list[Spike], taxonomy: Taxonomy
) -> dict[str, Any]:
    """/api/stats as JSON: the query, its rows and the spikes in its range."""
    return {
        "query": {
            "since": query.since,
            "until": query.until,
            "by": query.by,
            "period": query.period,
            "topic": query.topic,
        },
        "rows": rows,
        "spikes": spike_rows(found, taxonomy),
    }


def terms_json(
    figure: TermTrend, since: date, until: date, period: str, segment: str | None
) -> dict[str, Any]:
    """/api/terms as JSON: the query, its rows and each term's totals."""
    return {
        "query": {"since": since, "until": until, "period": period, "segment": segment},
        "rows": term_rows(figure),
        "terms": term_summaries(figure),
    }
