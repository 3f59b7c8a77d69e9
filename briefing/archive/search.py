"""Full-text search over relevant items, one interface over two engines (I/O).

SQLite uses the FTS5 table `items_fts` (porter stemming, bm25 ranking); PostgreSQL the
generated `items.search_vector` with its GIN index (english stemming, ts_rank). Both read the
same query language, the one people type into web search boxes: words (all must match),
"quoted phrases", `OR` between alternatives and `-word` to exclude. Nothing a user types can
be a syntax error: it is parsed here and handed to the engine as quoted terms.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, text

from briefing.db.engine import session_scope
from briefing.errors import UsageError

Sort = Literal["relevance", "date"]
MAX_QUERY_CHARS = 500
PER_PAGE = 20
CANDIDATES = 2000  # matches read per search, newest first (see `search`)
MAX_PAGE = CANDIDATES // PER_PAGE
# Snippet highlight markers: control characters that text extraction never leaves in.
MARK_START, MARK_END = "\x02", "\x03"


@dataclass(frozen=True, slots=True)
class SearchQuery:
    text: str = ""
    since: date | None = None  # London days, both ends included
    until: date | None = None
    topic: str | None = None
    segment: str | None = None
    outlet: str | None = None  # outlet slug
    region: str | None = None
    sent: bool | None = None  # True: the item's story made a sent edition; False: it did not
    sort: Sort = "relevance"
    page: int = 1
    per_page: int = PER_PAGE

    def __post_init__(self) -> None:
        if len(self.text) > MAX_QUERY_CHARS:
            raise UsageError(f"the search is too long (at most {MAX_QUERY_CHARS} characters)")
        if not 1 <= self.page <= MAX_PAGE:
            raise UsageError(f"page must be between 1 and {MAX_PAGE}")
        if not 1 <= self.per_page <= 100:
            raise UsageError("per_page must be between 1 and 100")
        if self.since and self.until and self.since > self.until:
            raise UsageError("since is after until")
        if self.sort not in ("relevance", "date"):
            raise UsageError("sort must be relevance or date")

    def filters(self) -> dict[str, Any]:
        """The query as plain values (for URLs, exports and the API)."""
        return {
            "q": self.text,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "topic": self.topic,
            "segment": self.segment,
            "outlet": self.outlet,
            "region": self.region,
            "sent": self.sent,
            "sort": self.sort,
            "page": self.page,
        }


@dataclass(frozen=True, slots=True)
class Hit:
    item_id: int
    title: str
    url: str
    outlet: str  # the outlet's name, or the publisher an aggregator named
    outlet_slug: str | None
    segment: str
    region: str | None
    topics: tuple[str, ...]
    published_at: datetime
    snippet: tuple[tuple[str, bool], ...]  # (text, highlighted) runs; escape when rendering
    sent_in: date | None  # the first sent edition that carried the item's story

    @property
    def snippet_text(self) -> str:
        return "".join(run for run, _ in self.snippet)


@dataclass(frozen=True, slots=True)
class SearchResult:
    query: SearchQuery
    hits: list[Hit]
    total: int  # a lower bound when `capped`
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # most first
    capped: bool = False  # more than CANDIDATES matched: total and facets are of the newest

    @property
    def pages(self) -> int:
        return min(MAX_PAGE, max(1, -(-self.total // self.query.per_page)))


def hit_rows(result: SearchResult, tz: ZoneInfo) -> list[dict[str, Any]]:
    """One row per hit: the shape of the CSV exports and of the JSON hits, in the CLI and the
    web API. Times are in `tz` (London), with their UTC offset: the time staff expect."""
    return [
        {
            "item_id": hit.item_id,
            "published_at": hit.published_at.astimezone(tz).isoformat(),
            "title": hit.title,
            "url": hit.url,
            "outlet": hit.outlet,
            "outlet_slug": hit.outlet_slug,
            "segment": hit.segment,
            "region": hit.region,
            "topics": list(hit.topics),
            "sent_in": hit.sent_in.isoformat() if hit.sent_in else None,
            "snippet": hit.snippet_text,
        }
        for hit in result.hits
    ]


def result_json(result: SearchResult, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "query": result.query.filters(),
        "total": result.total,
        "capped": result.capped,
        "pages": result.pages,
        "hits": hit_rows(result, tz),
        "facets": {name: dict(counts) for name, counts in result.facets.items()},
    }


# --- the query language -----------------------------------------------------------------

_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')


@dataclass(frozen=True, slots=True)
class _Term:
    words: tuple[str, ...]  # one word, or a phrase
    negated: bool = False
    prefix: bool = False


def parse(query: str) -> list[list[_Term]]:
    """Words and phrases as groups of alternatives: `a b OR c "d e" -f` is
    [[a], [b, c], [d e], [-f]]; every group must match."""
    groups: list[list[_Term]] = []
    join_next = False
    for match in _TOKEN.finditer(query):
        minus, phrase, bare = match.groups()
        if bare is not None:
            if bare == "OR":
                join_next = bool(groups)
                continue
            minus, bare = ("-", bare[1:]) if bare.startswith("-") else ("", bare)
        words = tuple(re.findall(r"\w+", phrase if phrase is not None else str(bare)))
        if not words:
            continue
        prefix = bare is not None and bare.endswith("*") and len(words) == 1
        term = _Term(words, negated=bool(minus), prefix=prefix)
        if join_next and not term.negated and not groups[-1][0].negated:
            groups[-1].append(term)
        else:
            groups.append([term])
        join_next = False
    return groups


def _fts5(groups: list[list[_Term]]) -> str:
    def quoted(term: _Term) -> str:
        return '"' + " ".join(term.words) + '"' + ("*" if term.prefix else "")

    positive = [" OR ".join(quoted(t) for t in group) for group in groups if not group[0].negated]
    negative = [quoted(group[0]) for group in groups if group[0].negated]
    expression = " AND ".join(f"({p})" for p in positive)
    return expression + "".join(f" NOT {n}" for n in negative)


def _tsquery(groups: list[list[_Term]]) -> tuple[str, dict[str, str]]:
    """A tsquery expression with every word a bound parameter: (a | b) & "c d" & !e."""
    params: dict[str, str] = {}

    def one(term: _Term) -> str:
        name = f"w{len(params)}"
        params[name] = " ".join(term.words)
        if term.prefix:  # a single \w+ word, so nothing in it is tsquery syntax
            return f"to_tsquery('english', :{name} || ':*')"
        return f"phraseto_tsquery('english', :{name})"

    parts = [
        ("!!" if group[0].negated else "") + "(" + " || ".join(one(t) for t in group) + ")"
        for group in groups
    ]
    return "(" + " && ".join(parts) + ")", params


# --- running it -------------------------------------------------------------------------


def _day_start(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tz)


def _filters(query: SearchQuery, tz: ZoneInfo) -> tuple[list[str], dict[str, Any]]:
    where = ["l.relevant"]
    params: dict[str, Any] = {}
    if query.since:
        where.append("i.published_at >= :since")
        params["since"] = _day_start(query.since, tz)
    if query.until:
        where.append("i.published_at < :until")
        params["until"] = _day_start(query.until + timedelta(days=1), tz)
    if query.topic:
        where.append(
            "EXISTS (SELECT 1 FROM item_topics t WHERE t.item_id = i.id AND t.topic = :topic)"
        )
        params["topic"] = query.topic
    if query.segment:
        where.append("l.segment = :segment")
        params["segment"] = query.segment
    if query.region:
        where.append("l.region = :region")
        params["region"] = query.region
    if query.outlet:
        where.append("i.outlet_id = (SELECT id FROM outlets WHERE slug = :outlet)")
        params["outlet"] = query.outlet
    if query.sent is not None:
        where.append("l.sent" if query.sent else "NOT l.sent")
    return where, params


def _convert(params: dict[str, Any], dialect: str) -> dict[str, Any]:
    if dialect != "sqlite":
        return params
    # SQLite stores UTC datetimes without an offset (see UTCDateTime); compare alike.
    return {
        k: v.astimezone(UTC).replace(tzinfo=None) if isinstance(v, datetime) else v
        for k, v in params.items()
    }


def search(
    engine: Engine, query: SearchQuery, tz: ZoneInfo, *, all_hits: bool = False
) -> SearchResult:
    """One page of hits (every hit read, with `all_hits`, for exports), the total and the
    facet counts for `query`.

    The work is bounded whatever the archive's size: the newest CANDIDATES matching items are
    read once (the FTS index walks them newest first), and the total, the facets and the
    ranking are made from those. A search that matches more says so (`capped`): its total is
    a lower bound, and relevance ranks the newest CANDIDATES matches."""
    groups = parse(query.text)
    if query.text.strip() and not any(not g[0].negated for g in groups):
        raise UsageError("the search has no words to look for")
    dialect = engine.dialect.name
    where, params = _filters(query, tz)
    words: dict[str, str] = {}
    if not groups:
        match, rank, snippet = "", "0", "substr(i.summary, 1, 240)"
        query = replace(query, sort="date")
    elif dialect == "sqlite":
        words = {"match": _fts5(groups)}
        match = "items_fts MATCH :match"
        rank = "bm25(items_fts, 10.0, 4.0, 1.0)"  # title, summary, text; lower is better
        snippet = (
            f"(SELECT snippet(items_fts, -1, '{MARK_START}', '{MARK_END}', '…', 24) "
            "FROM items_fts WHERE items_fts MATCH :match AND rowid = i.id)"
        )
    else:
        tsquery, words = _tsquery(groups)
        match = f"search_vector @@ {tsquery}"
        rank = f"-ts_rank(i.search_vector, {tsquery})"
        snippet = (
            "ts_headline('english', i.title || '. ' || i.summary || ' ' "
            f"|| left(coalesce(i.full_text, ''), 20000), {tsquery}, "
            f"'StartSel={MARK_START}, StopSel={MARK_END}, MaxWords=30, MinWords=12, "
            'MaxFragments=2, FragmentDelimiter=" … "\')'
        )
    params = _convert({**params, **words}, dialect)
    in_range = (" AND published_at >= :since" if query.since else "") + (
        " AND published_at < :until" if query.until else ""
    )
    with session_scope(engine, write=False) as session:
        index_first = (
            dialect == "postgresql"
            and bool(match)
            and _rare(session.execute, match + in_range, params)
        )
        bounds = None if index_first else _id_bounds(session, query, params)
    if bounds is not None:
        params.update(low=bounds[0], high=bounds[1])
    # The first table is the walk, newest first; the rest are looked up for each of its rows.
    items_first = "items i JOIN item_labels l ON l.item_id = i.id"
    labels_first = "item_labels l JOIN items i ON i.id = l.item_id"
    if dialect == "postgresql":  # its planner would walk the items instead, not seeing
        # what testing each one's tsvector costs (read from TOAST): LATERAL makes the labels
        # the outer loop, and OFFSET 0 keeps the planner from turning the join round
        labels_first = (
            "item_labels l CROSS JOIN LATERAL "
            "(SELECT * FROM items WHERE items.id = l.item_id OFFSET 0) i"
        )
    tables, newest = items_first, "i.id DESC"
    if match and dialect == "sqlite":
        # CROSS JOIN keeps the FTS index the outer loop: without statistics SQLite may
        # otherwise walk a filter's index and run the whole MATCH once per row.
        tables = (
            "items_fts f CROSS JOIN items i ON i.id = f.rowid "
            "CROSS JOIN item_labels l ON l.item_id = i.id"
        )
        where.insert(0, match)
        newest = "f.rowid DESC"  # FTS5 walks its index in this order without sorting
    elif index_first:  # over the words' items that the GIN index lists (a subquery with
        # no order or limit, so a bitmap scan of the GIN index is the plan), testing the
        # narrow labels before reading the wide items
        tables, newest = labels_first, "l.item_id DESC"
        where.insert(0, f"l.item_id = ANY(ARRAY(SELECT id FROM items WHERE {match}{in_range}))")
    else:  # over the narrowest filter's index
        if match:
            where.insert(0, f"i.{match}")
        if query.topic:  # (topic, item_id) gives the topic's items newest first
            tables = (
                "item_topics tt JOIN items i ON i.id = tt.item_id "
                "JOIN item_labels l ON l.item_id = tt.item_id"
            )
            where.append("tt.topic = :topic")
            newest = "tt.item_id DESC"
        elif query.segment or query.sent:  # (segment, item_id), (sent, item_id) likewise
            tables, newest = labels_first, "l.item_id DESC"
    if bounds is not None:  # the walk starts and stops at the range's items
        where.append(f"{newest.split()[0]} BETWEEN :low AND :high")
    if query.sort == "date":
        rank = "0"  # ranking costs as much as the rest of the search: skip it when unused
    topics = "group_concat(t.topic)" if dialect == "sqlite" else "string_agg(t.topic, ',')"
    matching = (
        f"SELECT i.id, i.published_at, {rank}, l.segment, l.region, i.outlet_id, "
        f"(SELECT {topics} FROM item_topics t WHERE t.item_id = i.id) "
        f"FROM {tables} WHERE {' AND '.join(where)} "
        f"ORDER BY {newest} LIMIT {CANDIDATES + 1}"
    )
    with session_scope(engine, write=False) as session:
        run = session.execute
        if dialect == "postgresql":
            for setting in _POSTGRES_WALK:
                run(text(setting))
        found = list(run(text(matching), params).all())
        capped = len(found) > CANDIDATES
        found = found[:CANDIDATES]
        # Newest first (SQLite's ISO strings sort as the datetimes they spell).
        found.sort(key=lambda row: (row[1], row[0]), reverse=True)
        if query.sort == "relevance":
            found.sort(key=lambda row: float(row[2]))  # stable: equal ranks stay newest first
        start = (query.page - 1) * query.per_page
        shown = found if all_hits else found[start : start + query.per_page]
        page_ids = [row[0] for row in shown]
        facets = _facets(run, found)
        hits = _hits(run, page_ids, snippet, words)
    return SearchResult(query, hits, len(found), facets, capped)


def _id_bounds(session: Any, query: SearchQuery, params: dict[str, Any]) -> tuple[int, int] | None:
    """The lowest and highest item id published in a date range of a year or less: an exact
    bound that lets the walk newest-first skip the rest of the archive (items' ids follow
    their fetching, so a year is a narrow band of ids). Reading it costs an index scan of
    the range, hence the limit on its length. `id + 0` keeps PostgreSQL from answering
    min/max by walking the primary key and testing each row's date (seconds on an old
    range); it reads the (published_at, id) index alone instead."""
    if not query.since:
        return None
    until = query.until or date.today()
    if (until - query.since).days > 366:
        return None
    low, high = session.execute(
        text(
            "SELECT min(id + 0), max(id + 0) FROM items "
            "WHERE published_at >= :since AND published_at < :until"
        ),
        {
            "since": params["since"],
            "until": params.get("until", params["since"] + timedelta(days=367)),
        },
    ).one()
    return (0, -1) if low is None else (int(low), int(high))


# PostgreSQL plans a search as if its words and its filters were independent. They rarely
# are (a topic's items use its words), so where it expects fewer matches than the LIMIT it
# reads every candidate and sorts, seconds at a million items, instead of walking newest
# first and stopping at CANDIDATES matches. A search is such a walk: it is told so.
_POSTGRES_WALK = (
    "SET LOCAL enable_hashjoin = off",
    "SET LOCAL enable_mergejoin = off",
    "SET LOCAL enable_sort = off",
)
# But a walk tests each row's tsvector (read from TOAST), so words that the GIN index says
# are rare in the range are better listed by the index first, and the walk made over those.
INDEX_FIRST_ROWS = 20_000  # estimated matches of the words, below which the index goes first


def _rare(run: Any, match: str, params: dict[str, Any]) -> bool:
    """Whether the planner, from the GIN index's statistics, expects at most
    INDEX_FIRST_ROWS items to match (an EXPLAIN: about a millisecond)."""
    plan = run(text(f"EXPLAIN (FORMAT JSON) SELECT 1 FROM items WHERE {match}"), params).scalar()
    rows = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]["Plan Rows"]
    return bool(rows <= INDEX_FIRST_ROWS)


def _facets(run: Any, found: list[Any]) -> dict[str, list[tuple[str, int]]]:
    slugs = dict(run(text("SELECT id, slug FROM outlets")).all()) if found else {}
    counted = {
        "topic": Counter(topic for row in found if row[6] for topic in row[6].split(",")),
        "segment": Counter(row[3] for row in found),
        "region": Counter(row[4] for row in found if row[4]),
        "outlet": Counter(slugs[row[5]] for row in found if row[5] in slugs),
    }
    return {
        name: sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        for name, counts in counted.items()
    }


def _hits(run: Any, ids: list[int], snippet: str, words: dict[str, str]) -> list[Hit]:
    if not ids:
        return []
    id_list = ",".join(str(int(i)) for i in ids)  # our own integers, never user input
    rows = run(
        text(
            f"SELECT i.id, i.title, i.url, coalesce(o.name, i.publisher_name), o.slug, l.segment, "
            f"l.region, i.published_at, {snippet} FROM items i "
            "JOIN item_labels l ON l.item_id = i.id LEFT JOIN outlets o ON o.id = i.outlet_id "
            f"WHERE i.id IN ({id_list})"
        ),
        words,
    ).all()
    topics: dict[int, list[str]] = {}
    for item_id, topic in run(
        text(
            f"SELECT item_id, topic FROM item_topics WHERE item_id IN ({id_list}) "
            "ORDER BY score DESC, topic"
        )
    ):
        topics.setdefault(item_id, []).append(topic)
    sent_in = dict(
        run(
            text(
                "SELECT i.id, min(ed.edition_date) FROM items i JOIN edition_entries e "
                "ON e.item_id = i.id OR (i.story_id IS NOT NULL AND e.story_id = i.story_id) "
                "JOIN editions ed ON ed.id = e.edition_id "
                f"WHERE i.id IN ({id_list}) AND ed.status = 'sent' AND NOT e.removed "
                "GROUP BY i.id"
            )
        ).all()
    )
    by_id = {row[0]: row for row in rows}
    return [
        Hit(
            item_id=row[0],
            title=row[1],
            url=row[2],
            outlet=row[3] or "",
            outlet_slug=row[4],
            segment=row[5],
            region=row[6],
            topics=tuple(topics.get(row[0], ())),
            published_at=_aware(row[7]),
            snippet=_runs(row[8] or ""),
            sent_in=_as_date(sent_in.get(row[0])),
        )
        for row in (by_id[i] for i in ids if i in by_id)
    ]


def _aware(value: datetime | str) -> datetime:
    if isinstance(value, str):  # SQLite through text(): an ISO string
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _as_date(value: date | str | None) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value[:10])


def _runs(snippet: str) -> tuple[tuple[str, bool], ...]:
    runs: list[tuple[str, bool]] = []
    for i, part in enumerate(re.split(f"[{MARK_START}{MARK_END}]", snippet)):
        if part:
            runs.append((part, i % 2 == 1))
    return tuple(runs)
