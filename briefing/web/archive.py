"""The archive in the web app (I/O at the edge; thin: parse the query, call briefing.archive,
render): search, coverage statistics, the language tracker and its term list, and the same
figures as an API. What the pages and the API documents show is built in
briefing.web.archive_views.

Every page is a GET form, so its whole state is in the URL and can be shared. The API answers
the same queries as JSON by default and as CSV with `format=csv` (a download, `Content-
Disposition: attachment`); it uses the web session, and answers 401 without one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, FastAPI, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from briefing.archive import rollup, termlist
from briefing.archive.search import (
    CANDIDATES,
    MAX_PAGE,
    PER_PAGE,
    SearchQuery,
    SearchResult,
    hit_rows,
    search,
)
from briefing.archive.trends import (
    MAX_DAYS,
    TrendQuery,
    outlet_names,
    periods_between,
    spikes,
    term_rows,
    term_trend,
    to_csv,
    trend,
    trend_rows,
)
from briefing.config.taxonomy import Taxonomy
from briefing.db.engine import session_scope
from briefing.db.users import Account
from briefing.errors import BriefingError, NotFoundError, UsageError
from briefing.web.archive_views import (
    REGION_LABELS,
    date_range,
    labels_for,
    parse_choice,
    parse_day,
    parse_format,
    parse_int,
    search_json,
    search_view,
    segment_names,
    stats_figures,
    stats_json,
    terms_json,
)
from briefing.web.security import check_csrf, require, signed_in

log = logging.getLogger("briefing.web")

SEARCH_CSV_ROWS = CANDIDATES  # a search's CSV stops here (a search reads no more); it says so
MAX_PERIODS = 400  # columns a page's table can sensibly hold
MAX_ROWS = 100_000  # rows in one export of figures (periods x keys)
Text = Annotated[str, Form(max_length=10_000)]  # a form field (the app's routes resolve it here)
Change = Callable[[Session, Account], tuple[str, int | None]]  # a term change: notice, recount


@dataclass(frozen=True, slots=True)
class ArchiveParts:
    """What the archive pages need from the app."""

    engine: Engine
    tz: ZoneInfo
    taxonomy: Taxonomy
    clock: Callable[[], datetime]
    page: Callable[..., Response]  # app.py's page(): a template, the user, the CSRF token

    def today(self) -> date:
        return self.clock().astimezone(self.tz).date()


@dataclass
class TermCounter:
    """Counts new or edited terms over the whole archive in one daemon thread, one count at a
    time; a term changed while a count runs is counted again after it."""

    engine: Engine
    tz: ZoneInfo
    clock: Callable[[], datetime]
    _pending: set[int] = field(default_factory=set)
    _running: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None

    def start(self, term_id: int) -> None:
        with self._lock:
            self._pending.add(term_id)
            if self._running:
                return  # the running thread takes it next
            self._running = True
            self._thread = threading.Thread(target=self._run, name="term-count", daemon=True)
            self._thread.start()

    def wait(self, timeout: float) -> bool:
        """True when no count is running (within `timeout` seconds)."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self._running

    def _run(self) -> None:
        sweep = False  # after a failure: once more over every term left uncounted
        while True:
            with self._lock:
                ids, self._pending = self._pending, set()
                if not ids and not sweep:
                    self._running = False
                    return
            try:
                rollup.count_terms(self.engine, self.tz, self.clock(), ids or None)
                sweep = False
            except Exception:  # the thread's edge: log, as cli.main does, and carry on
                log.exception("counting tracked terms %s failed", sorted(ids) or "left over")
                sweep = bool(ids)  # e.g. a term deleted mid-count; a failed sweep is not redone


# --- query parameters: one parser for the pages and the API -------------------------------


def _p(text: str) -> Any:
    return Field(None, description=text)


class SearchParams(BaseModel):
    q: str | None = _p('Words (all must match), "a phrase", OR, -word, word*.')
    since: str | None = _p("From this London day, YYYY-MM-DD.")
    until: str | None = _p("To this London day, included.")
    topic: str | None = _p("A topic slug from the taxonomy.")
    segment: str | None = _p("An audience segment slug.")
    outlet: str | None = _p("An outlet slug.")
    region: str | None = _p("uk, europe or international.")
    sent: str | None = _p("yes: its story made a sent briefing; no: it did not; any.")
    sort: str | None = _p("relevance (the default) or date.")
    page: str | None = _p(f"1 to {MAX_PAGE}.")
    per_page: str | None = _p(f"1 to 100 (default {PER_PAGE}).")
    format: str | None = _p("json (the default) or csv.")


class StatsParams(BaseModel):
    since: str | None = _p("From this London day (default: the Monday 11 weeks before until's).")
    until: str | None = _p("To this London day, included (default: today).")
    by: str | None = _p("topic (the default), segment, outlet, region or all.")
    period: str | None = _p("day, week (the default) or month.")
    topic: str | None = _p("Only this topic's items.")
    format: str | None = _p("json (the default) or csv.")


class StatsPageParams(StatsParams):
    measure: str | None = None  # count, or share of all items fetched
    terms_segment: str | None = None  # the language tracker's segment


class TermParams(BaseModel):
    since: str | None = _p("From this London day (default: the Monday 11 weeks before until's).")
    until: str | None = _p("To this London day, included (default: today).")
    period: str | None = _p("day, week (the default) or month.")
    segment: str | None = _p("Only items from outlets in this segment.")
    format: str | None = _p("json (the default) or csv.")


def search_query(params: SearchParams, taxonomy: Taxonomy, outlets: Collection[str]) -> SearchQuery:
    since, until = parse_day("since", params.since), parse_day("until", params.until)
    if since and until and (until - since).days > MAX_DAYS:
        raise UsageError("at most ten years at a time")
    sent = parse_choice("sent", params.sent, ("any", "yes", "no"))
    sort = parse_choice("sort", params.sort, ("relevance", "date")) or "relevance"
    return SearchQuery(
        text=(params.q or "").strip(),
        since=since,
        until=until,
        topic=parse_choice("topic", params.topic, taxonomy.topics),
        segment=parse_choice("segment", params.segment, segment_names(taxonomy)),
        outlet=parse_choice("outlet", params.outlet, outlets),
        region=parse_choice("region", params.region, taxonomy.regions),
        sent={"yes": True, "no": False}.get(sent or ""),
        sort="date" if sort == "date" else "relevance",
        page=parse_int("page", params.page, 1),
        per_page=parse_int("per_page", params.per_page, PER_PAGE),
    )


def trend_query(params: StatsParams, taxonomy: Taxonomy, today: date) -> TrendQuery:
    since, until = date_range(params.since, params.until, today)
    by = parse_choice("by", params.by, ("topic", "segment", "outlet", "region", "all"))
    period = parse_choice("period", params.period, ("day", "week", "month"))
    topic = parse_choice("topic", params.topic, taxonomy.topics)
    return TrendQuery(since, until, by or "topic", period or "week", topic)  # type: ignore[arg-type]


def stats_request(
    params: StatsPageParams, taxonomy: Taxonomy, today: date
) -> tuple[TrendQuery, str, str | None]:
    """The statistics page's query: the trend's, what to measure, the tracker's segment."""
    query = trend_query(params, taxonomy, today)
    measure = parse_choice("measure", params.measure, ("count", "share")) or "count"
    segment = parse_choice("segment", params.terms_segment, segment_names(taxonomy))
    if (n := len(periods_between(query.since, query.until, query.period))) > MAX_PERIODS:
        raise UsageError(f"that is {n:,} {query.period}s: choose a longer period or fewer days")
    return query, measure, segment


def check_rows(rows: int) -> None:
    if rows > MAX_ROWS:
        raise HTTPException(
            400,
            f"that is {rows:,} rows, more than {MAX_ROWS:,}: choose a longer period or fewer days",
        )


# --- the API's documents -------------------------------------------------------------------


class SnippetRun(BaseModel):
    text: str
    highlighted: bool


class HitOut(BaseModel):
    item_id: int
    published_at: datetime = Field(description="London time, with its UTC offset.")
    title: str
    url: str
    outlet: str
    outlet_slug: str | None
    segment: str
    region: str | None
    topics: list[str]
    sent_in: date | None = Field(description="The first sent briefing that carried its story.")
    snippet: str
    snippet_runs: list[SnippetRun] = Field(description="The snippet with the matches marked.")


class FacetValue(BaseModel):
    value: str
    label: str
    count: int


class SearchOut(BaseModel):
    query: dict[str, Any]
    total: int = Field(description="A lower bound when `capped`.")
    capped: bool = Field(description="More matched: the total and facets are of the newest.")
    page: int
    per_page: int
    pages: int
    hits: list[HitOut]
    facets: dict[str, list[FacetValue]]


class TrendRowOut(BaseModel):
    period: date = Field(description="The first day of the period.")
    key: str
    label: str
    items: int
    sent: int = Field(description="Of these, items whose story made a sent briefing.")
    share_of_relevant: float | None
    share_of_fetched: float | None
    fetched: int = Field(description="Every item fetched in the period, relevant or not.")
    feeds_failing: bool = Field(description="A quarter or more of its feeds failed all day.")


class SpikeOut(BaseModel):
    day: date
    topic: str
    label: str
    items: int
    daily_average_4_weeks: float


class StatsOut(BaseModel):
    query: dict[str, Any]
    rows: list[TrendRowOut]
    spikes: list[SpikeOut]


class TermRowOut(BaseModel):
    period: date
    term: str
    kind: str
    segment: str
    items: int
    share_of_relevant: float | None


class TermOut(BaseModel):
    id: int
    label: str
    kind: str
    phrases: list[str]
    counting: bool = Field(description="Its counts are still being made.")
    items: int
    by_segment: dict[str, int]


class TermsOut(BaseModel):
    query: dict[str, Any]
    rows: list[TermRowOut]
    terms: list[TermOut]


def download(body: str, filename: str, headers: Mapping[str, str] | None = None) -> Response:
    disposition = f'attachment; filename="{filename}"'
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": disposition, **(headers or {})},
    )


API_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}},
    400: {"description": "Bad input; `detail` says what."},
    401: {"description": "Not signed in."},
}


# --- the routes ----------------------------------------------------------------------------


def add_archive(app: FastAPI, parts: ArchiveParts) -> TermCounter:
    """The archive pages and the API, on the app; returns the term counter."""
    engine, tz, taxonomy, page = parts.engine, parts.tz, parts.taxonomy, parts.page
    counter = TermCounter(engine, tz, parts.clock)
    router = APIRouter()
    choices = {
        "topics": taxonomy.topics,
        "segments": segment_names(taxonomy),
        "regions": REGION_LABELS,
    }

    def api_user(request: Request) -> Account:
        user = signed_in(engine, request)
        if user is None:
            raise HTTPException(401, "Sign in first: the API uses the web app's session.")
        return user

    @router.get("/archive", include_in_schema=False)
    def archive_page(request: Request, params: Annotated[SearchParams, Query()]) -> Response:
        require(engine, request, "viewer")
        outlets = outlet_names(engine)
        form = params.model_dump() | {"outlets": sorted(outlets.items(), key=lambda kv: kv[1])}
        try:
            query = search_query(params, taxonomy, outlets)
            result = search(engine, query, tz)
        except UsageError as e:
            return page(request, "archive.html", 400, form=form, problem=str(e), **choices)
        view = search_view(query, result, taxonomy, outlets)
        values = {"form": form, "tz": tz, "csv_rows": SEARCH_CSV_ROWS, **choices, **view}
        return page(request, "archive.html", **values)

    @router.get("/stats", include_in_schema=False)
    def stats_page(request: Request, params: Annotated[StatsPageParams, Query()]) -> Response:
        require(engine, request, "viewer")
        today = parts.today()
        form = params.model_dump()
        since, until = date_range(None, None, today)
        form |= {
            "since": params.since or since.isoformat(),
            "until": params.until or until.isoformat(),
        }
        try:
            query, measure, segment = stats_request(params, taxonomy, today)
        except UsageError as e:
            return page(request, "stats.html", 400, form=form, problem=str(e), **choices)
        figures = stats_figures(engine, query, measure, segment, taxonomy)
        return page(request, "stats.html", form=form, query=query, **choices, **figures)

    # --- the term list ---

    def terms_page_for(
        request: Request, user: Account, status: int = 200, **values: object
    ) -> Response:
        with session_scope(engine, write=False) as session:
            terms = termlist.list_terms(session)
        return page(
            request,
            "terms.html",
            status,
            terms=terms,
            can_edit=user.can("editor"),
            kinds=("loaded", "neutral"),
            tz=tz,
            **values,
        )

    @router.get("/stats/terms", include_in_schema=False)
    def terms_page(request: Request, notice: str = "") -> Response:
        user = require(engine, request, "viewer")
        return terms_page_for(request, user, notice=notice[:300])

    def change(request: Request, csrf: str, do: Change, form: dict[str, object]) -> Response:
        """Check the token and the role, make one change in one transaction, start counting
        the term when it needs it, and go back to the list; a bad entry comes back with the
        form as it was typed."""
        check_csrf(request, csrf)
        user = require(engine, request, "editor")
        try:
            with session_scope(engine) as session:
                notice, recount = do(session, user)
        except NotFoundError:
            raise HTTPException(
                404, "There is no such term: someone may have deleted it."
            ) from None
        except BriefingError as e:
            return terms_page_for(request, user, 400, problem=str(e), form=form)
        if recount is not None:
            counter.start(recount)
        return RedirectResponse(f"/stats/terms?{urlencode({'notice': notice})}", status_code=303)

    @router.post("/stats/terms", include_in_schema=False)
    def term_add(
        request: Request, *, csrf: Text = "", label: Text = "", kind: Text = "", phrases: Text = ""
    ) -> Response:
        def do(session: Session, user: Account) -> tuple[str, int | None]:
            done = termlist.add_term(session, user, label, kind, phrases, parts.clock())
            return f'Added "{done.term.label}": counting it over the archive.', done.term.id

        return change(
            request, csrf, do, {"id": None, "label": label, "kind": kind, "phrases": phrases}
        )

    @router.post("/stats/terms/{term_id}", include_in_schema=False)
    def term_edit(
        request: Request,
        term_id: int,
        *,
        csrf: Text = "",
        label: Text = "",
        kind: Text = "",
        phrases: Text = "",
    ) -> Response:
        def do(session: Session, user: Account) -> tuple[str, int | None]:
            done = termlist.edit_term(session, user, term_id, label, kind, phrases, parts.clock())
            if done.recount:
                return f'Saved "{done.term.label}": counting it again.', term_id
            return f'Saved "{done.term.label}".', None

        form = {"id": term_id, "label": label, "kind": kind, "phrases": phrases}
        return change(request, csrf, do, form)

    @router.post("/stats/terms/{term_id}/delete", include_in_schema=False)
    def term_delete(request: Request, term_id: int, *, csrf: Text = "") -> Response:
        def do(session: Session, user: Account) -> tuple[str, int | None]:
            gone = termlist.delete_term(session, user, term_id, parts.clock())
            return f'Deleted "{gone.label}" and its counts.', None

        return change(request, csrf, do, {})

    # --- the API ---

    @router.get(
        "/api/search",
        response_model=SearchOut,
        responses=API_RESPONSES,
        tags=["archive"],
        summary="Search the archive",
        description=(
            "The archive page's query. JSON: one page of hits, the total and the facets. "
            f"CSV (`format=csv`): every hit in order, at most {SEARCH_CSV_ROWS:,} rows (page and "
            "per_page do not apply); the X-Total-Count, X-Total-Capped and X-Exported-Rows "
            "headers, and the file name, say when it stopped short. A search reads at most the "
            f"newest {CANDIDATES:,} matches: `capped` says when more matched."
        ),
    )
    def api_search(
        request: Request, response: Response, params: Annotated[SearchParams, Query()]
    ) -> Any:
        api_user(request)
        outlets = outlet_names(engine)
        try:
            fmt = parse_format(params.format)
            query = search_query(params, taxonomy, outlets)
            result = search(engine, query, tz, all_hits=fmt == "csv")
        except UsageError as e:
            raise HTTPException(400, str(e)) from None
        if fmt == "csv":
            return search_csv(result)
        response.headers["Content-Disposition"] = (
            f'inline; filename="briefing-search-{parts.today()}.json"'
        )
        return search_json(result, taxonomy, tz, outlets)

    def search_csv(first: SearchResult) -> Response:
        """Every hit of the query up to the cap, named and headed to say where it stopped."""
        rows = hit_rows(first, tz)[:SEARCH_CSV_ROWS]
        name = f"briefing-search-{parts.today()}"
        if first.capped:
            name += f"-newest-{len(rows)}-of-more"
        elif len(rows) < first.total:
            name += f"-first-{len(rows)}-of-{first.total}"
        headers = {
            "X-Total-Count": str(first.total),
            "X-Total-Capped": "true" if first.capped else "false",
            "X-Exported-Rows": str(len(rows)),
        }
        columns = [c for c in HitOut.model_fields if c != "snippet_runs"]
        return download(to_csv(rows, columns), f"{name}.csv", headers)

    @router.get(
        "/api/stats",
        response_model=StatsOut,
        responses=API_RESPONSES,
        tags=["archive"],
        summary="Coverage per period",
        description=(
            "Relevant items per period and key, their shares, the briefing's picks and the fetch "
            "gaps; the JSON adds the spikes in the range. CSV (`format=csv`): the rows."
        ),
    )
    def api_stats(
        request: Request, response: Response, params: Annotated[StatsParams, Query()]
    ) -> Any:
        api_user(request)
        try:
            fmt = parse_format(params.format)
            query = trend_query(params, taxonomy, parts.today())
        except UsageError as e:
            raise HTTPException(400, str(e)) from None
        labels = labels_for(query.by, taxonomy, outlet_names(engine))
        figure = trend(engine, query, labels)
        check_rows(len(figure.periods) * len(figure.series))
        rows = trend_rows(figure)
        name = f"briefing-stats-{query.by}-{query.period}-{query.since}-{query.until}"
        if query.topic:
            name += f"-{query.topic}"
        if fmt == "csv":
            return download(to_csv(rows, TrendRowOut.model_fields), f"{name}.csv")
        response.headers["Content-Disposition"] = f'inline; filename="{name}.json"'
        return stats_json(query, rows, spikes(engine, query.since, query.until), taxonomy)

    @router.get(
        "/api/terms",
        response_model=TermsOut,
        responses=API_RESPONSES,
        tags=["archive"],
        summary="The language tracker",
        description=(
            "Relevant items using each tracked term per period (in one segment's outlets with "
            "`segment`), and each term's totals by segment. CSV (`format=csv`): the rows."
        ),
    )
    def api_terms(
        request: Request, response: Response, params: Annotated[TermParams, Query()]
    ) -> Any:
        api_user(request)
        try:
            fmt = parse_format(params.format)
            since, until = date_range(params.since, params.until, parts.today())
            period = parse_choice("period", params.period, ("day", "week", "month")) or "week"
            segment = parse_choice("segment", params.segment, segment_names(taxonomy))
            figure = term_trend(engine, since, until, period, segment)  # type: ignore[arg-type]
            check_rows(len(figure.periods) * len(figure.terms))
        except UsageError as e:
            raise HTTPException(400, str(e)) from None
        name = f"briefing-terms-{period}-{since}-{until}" + (f"-{segment}" if segment else "")
        if fmt == "csv":
            return download(to_csv(term_rows(figure), TermRowOut.model_fields), f"{name}.csv")
        response.headers["Content-Disposition"] = f'inline; filename="{name}.json"'
        return terms_json(figure, since, until, period, segment)

    app.include_router(router)
    return counter
