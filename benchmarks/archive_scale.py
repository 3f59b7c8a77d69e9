"""The archive at scale: ten searches and ten trend queries over 1,000,000 items.

Run: .venv/bin/python benchmarks/archive_scale.py --sqlite var/bench/archive.db
     [--postgres postgresql://postgres@127.0.0.1:5432/briefing_bench] [--items N] [--reuse]
(from the repository root). Generating a million items takes a while (progress on stderr);
--reuse keeps a database that already holds the N items of a finished earlier run (giving it
any index or SQLite WITHOUT ROWID layout an unreleased migration gained since), and
--generate-only makes the databases without timing anything (two such runs, one per
database, can go side by side; then time both with --reuse). Without --reuse the SQLite file
is deleted and the PostgreSQL database dropped and created again.

Method. Each database is migrated to head (briefing.db.migrate.upgrade) and the real outlets
and feeds of sources.yaml are synced into it (briefing.db.outlets.sync_sources). Then
benchmarks/archive_data.py makes, from a fixed seed, five years of items ending on
20 November 2026: volume doubling over the years, weekends at 55% of weekdays, 36 news events
(one topic at 3-8 times its usual volume for 2-10 days); outlets with Zipf-like shares
(national outlets first), 3% of items carried by an aggregator from publishers with no outlet;
5% of items irrelevant, 40% in the last 90 days (pruning keeps older irrelevant items out);
1-3 topics per relevant item; the outlet's segment; mostly UK regions, European outlets mostly
Europe; a title, a summary and (for 85%) a text of a few hundred words drawn from topic,
migration and general vocabularies, with names and the language tracker's phrases at rates
that depend on topic, segment and date; stories of 2.5 reports on average; a sent edition
every weekday with the 25-40 biggest stories of its window; per outlet and day its feeds'
fetch record, with outages. The rows go straight into the tables: SQLite through executemany,
10,000 items per transaction, with the FTS triggers dropped during the load, then the index
rebuilt and the triggers created again from migration 0006's own statements; PostgreSQL
through COPY, with foreign keys unchecked during the load (session_replication_role, as
pg_restore --disable-triggers) and the GIN index dropped and built again after, then VACUUM
ANALYZE (again after the roll-ups), as autovacuum would in production. The roll-ups are
filled by briefing.archive.rollup.rebuild; the fetch record is written to archive_feed_days
after it (the rebuild recounts the last 90 days' feed days from the fetch log, which holds
nothing here).

Each query runs once to warm up, then 20 times in a row (--repeats) in this process,
time.perf_counter around the library call: the SQL, fetching rows and building the result
objects; no web layer. Percentiles are nearest-rank over the runs; the "all" rows pool the
runs of the ten queries of a kind. Target: p95 <= 200 ms on both databases. For every query
over half the target the report shows where its time goes, statement by statement.

What answers them: searches read SQLite's FTS5 table items_fts (bm25) or PostgreSQL's
items.search_vector (ts_rank), walking newest first and stopping at 2,000 matches: on SQLite
the FTS index is the walk; on PostgreSQL the primary key, item_topics (ix_item_topics_topic)
or item_labels (ix_item_labels_segment, ix_item_labels_sent) under the search's own planner
settings, or, where the planner's estimate says the words match at most 20,000 items in the
range, the GIN index ix_items_search_vector lists those first. Date ranges use
ix_items_published_id, the made-the-briefing filter item_labels.sent. Trend queries read only
the roll-ups: archive_counts (per London day, dimension, topic and key), archive_term_counts
(per term, day and segment) and archive_feed_days (fetch gaps).

The report (method, data profile, sizes on disk, a markdown table) is printed and written as
JSON to var/bench/archive_scale.json (--json); each database measured replaces the entry an
earlier run left for it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import queue
import re
import sqlite3
import sys
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from time import perf_counter
from typing import Any

import numpy as np
import psycopg
from sqlalchemy import Engine, event, inspect, select, text
from sqlalchemy.engine import make_url

from briefing.archive import rollup
from briefing.archive.search import SearchQuery, SearchResult, search
from briefing.archive.trends import (
    TermTrend,
    Trend,
    TrendQuery,
    outlet_names,
    spikes,
    term_trend,
    trend,
)
from briefing.config.sources import load_sources
from briefing.db.engine import make_engine, session_scope
from briefing.db.migrate import upgrade
from briefing.db.models import Base, Feed, Outlet
from briefing.db.outlets import sync_sources
from briefing.resources import data_path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling generator
import archive_data as data

TARGET_MS = 200.0
REPEATS = 20  # timed runs per query (--repeats)
KEEP_DAYS = 90
NOW = datetime.combine(data.END, time(23, 0), data.LONDON)  # the roll-ups' "now"
JSON_PATH = Path("var/bench/archive_scale.json")
Query = tuple[str, Callable[[], object]]


class Progress:
    """Phase names and rates on stderr, at most every few seconds (the runs are long)."""

    def __init__(self) -> None:
        self.phase, self.started, self.shown = "", 0.0, 0.0

    def start(self, phase: str) -> None:
        self.phase, self.started, self.shown = phase, perf_counter(), 0.0
        print(f"[{datetime.now():%H:%M:%S}] {phase}...", file=sys.stderr, flush=True)

    def update(self, done: int, total: int, unit: str = "items") -> None:
        now = perf_counter()
        if now - self.shown < 10 and done < total:
            return
        self.shown = now
        rate = done / max(now - self.started, 1e-9)
        print(
            f"[{datetime.now():%H:%M:%S}]   {self.phase}: {done:,}/{total:,} {unit} "
            f"({rate:,.0f} {unit}/s)",
            file=sys.stderr,
            flush=True,
        )

    def done(self) -> float:
        seconds = perf_counter() - self.started
        print(f"[{datetime.now():%H:%M:%S}]   {self.phase}: {seconds:.1f} s", file=sys.stderr)
        return seconds


# --- the databases ----------------------------------------------------------------------------


@dataclass
class Database:
    kind: str  # "sqlite" or "postgresql"
    url: str  # SQLAlchemy URL
    label: str
    path: Path | None = None  # SQLite's file

    def libpq(self) -> str:
        return make_url(self.url).set(drivername="postgresql").render_as_string(hide_password=False)


def sqlite_database(path: Path) -> Database:
    return Database("sqlite", f"sqlite:///{path}", "SQLite", path)


def postgres_database(url: str) -> Database:
    return Database("postgresql", url, "PostgreSQL")


def is_complete(db: Database, items: int) -> bool:
    """The database holds `items` items and got to the last step of a generation."""
    if db.path is not None and not db.path.exists():
        return False
    if db.kind == "postgresql" and not _pg_exists(db):
        return False
    engine = make_engine(db.url)
    try:
        with engine.connect() as connection:
            names = set(engine.dialect.get_table_names(connection))
            if "archive_feed_days" not in names:
                return False
            count = connection.execute(text("SELECT count(*) FROM items")).scalar_one()
            days = connection.execute(text("SELECT count(*) FROM archive_feed_days")).scalar_one()
        return bool(count == items and days)
    finally:
        engine.dispose()


def _pg_exists(db: Database) -> bool:
    name = make_url(db.url).database
    with _admin(db) as admin:
        found = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    return found is not None


@contextmanager
def _admin(db: Database) -> Iterator[psycopg.Connection[Any]]:
    """The server's `postgres` database, in autocommit mode (CREATE/DROP DATABASE)."""
    url = make_url(db.libpq()).set(database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as connection:
        yield connection


def recreate(db: Database) -> None:
    """An empty database migrated to head."""
    if db.path is not None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db.path}{suffix}").unlink(missing_ok=True)
        db.path.parent.mkdir(parents=True, exist_ok=True)
    else:
        name = make_url(db.url).database
        if not name or not re.fullmatch(r"\w+", name):
            raise SystemExit(f"use a plain database name for the benchmark, not {name!r}")
        with _admin(db) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{name}"')
    upgrade(db.url)


def match_schema(engine: Engine) -> list[str]:
    """Give a database made before an unreleased migration changed the physical layout that
    of a fresh one: the indexes the models declare and it lacks, and on SQLite the tables the
    models want WITHOUT ROWID copied into such tables. Returns what it changed."""
    changed = []
    if engine.dialect.name == "sqlite":
        with engine.begin() as connection:
            for table in Base.metadata.sorted_tables:
                if table.kwargs.get("sqlite_with_rowid", True):
                    continue
                made = connection.exec_driver_sql(
                    "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
                    (table.name,),
                ).scalar()
                if made is None or "WITHOUT ROWID" in str(made).upper():
                    continue
                old = f"old_{table.name}"
                columns = ", ".join(f'"{column.name}"' for column in table.columns)
                connection.exec_driver_sql(f"ALTER TABLE {table.name} RENAME TO {old}")
                table.create(connection)
                connection.exec_driver_sql(
                    f"INSERT INTO {table.name} ({columns}) SELECT {columns} FROM {old}"
                )
                connection.exec_driver_sql(f"DROP TABLE {old}")
                changed.append(f"{table.name} made WITHOUT ROWID")
    inspector = inspect(engine)
    for table in Base.metadata.sorted_tables:
        have = {index["name"] for index in inspector.get_indexes(table.name)}
        for index in sorted(table.indexes, key=lambda ix: str(ix.name)):
            if index.name not in have:
                index.create(engine)
                changed.append(f"index {index.name} created")
    return changed


def sync_outlets(engine: Engine) -> tuple[data.OutletInfo, ...]:
    """The outlets and feeds of sources.yaml, synced as `briefing sources sync` does."""
    with session_scope(engine) as session:
        sync_sources(session, load_sources(data_path("sources.yaml")))
    with session_scope(engine, write=False) as session:
        feeds: dict[int, list[int]] = defaultdict(list)
        for feed_id, outlet_id in session.execute(
            select(Feed.id, Feed.outlet_id).order_by(Feed.id)
        ):
            feeds[outlet_id].append(feed_id)
        return tuple(
            data.OutletInfo(
                id=o.id,
                slug=o.slug,
                segment=o.segment or "unknown",
                country=o.country or "",
                language=o.language or "en",
                domain=o.domains[0] if o.domains else "news.google.com",
                feed_ids=tuple(feeds[o.id]),
                is_aggregator=o.is_aggregator,
            )
            for o in session.scalars(select(Outlet).order_by(Outlet.id))
        )


# --- generation -------------------------------------------------------------------------------


@dataclass
class Generation:
    items: int
    seed: int
    seconds: dict[str, float] = field(default_factory=dict)  # per phase
    words: int = 0
    profile: dict[str, Any] = field(default_factory=dict)


def generate(db: Database, items: int, seed: int, progress: Progress) -> Generation:
    report = Generation(items, seed)
    progress.start("migrating and syncing sources.yaml")
    recreate(db)
    engine = make_engine(db.url)
    outlets = sync_outlets(engine)
    engine.dispose()
    report.seconds["migrate and sync outlets"] = progress.done()

    progress.start("planning items, stories, editions and fetch record")
    plan = data.make_plan(items, outlets, seed)
    vocabulary = data.make_vocabulary(data.load_migration_0006().DEFAULT_TERMS)
    report.seconds["plan"] = progress.done()
    report.profile = profile(plan)

    load = load_sqlite if db.kind == "sqlite" else load_postgres
    report.words = load(db, plan, vocabulary, progress, report.seconds)

    if db.kind == "postgresql":  # the planner needs statistics (autovacuum may be off)
        progress.start("VACUUM ANALYZE")
        _vacuum_analyze(db)
        report.seconds["vacuum analyze"] = progress.done()
    engine = make_engine(db.url)
    try:
        progress.start("roll-ups (briefing.archive.rollup.rebuild)")
        fill_rollups(engine, lambda done, total: progress.update(done, total, "days"))
        report.seconds["roll-ups"] = progress.done()
        progress.start("archive_feed_days")
        save_feed_days(engine, plan.feed_days)
        report.seconds["feed days"] = progress.done()
    finally:
        engine.dispose()
    if db.kind == "postgresql":
        progress.start("VACUUM ANALYZE of the roll-ups")
        _vacuum_analyze(db, "archive_counts", "archive_term_counts", "archive_feed_days")
        report.seconds["vacuum analyze of the roll-ups"] = progress.done()
    return report


def _vacuum_analyze(db: Database, *tables: str) -> None:
    with psycopg.connect(db.libpq(), autocommit=True) as connection:
        connection.execute(f"VACUUM ANALYZE {', '.join(tables)}")


def profile(plan: data.Plan) -> dict[str, Any]:
    relevant = int(plan.relevant.sum())
    entries = [e for edition in plan.editions for e in edition.entries]
    return {
        "relevant_share": round(relevant / plan.items, 4),
        "irrelevant_in_last_90_days": int(
            (~plan.relevant & (plan.day >= data.DAYS - data.RECENT_DAYS)).sum()
        ),
        "full_text_share": round(float(plan.full_text.mean()), 4),
        "aggregated_share": round(float((plan.outlet < 0).mean()), 4),
        "topics_per_relevant_item": round(
            float((plan.topics[plan.relevant] >= 0).sum()) / relevant, 2
        ),
        "stories": len(plan.story_first),
        "editions": len(plan.editions),
        "edition_entries": len(entries),
        "outlets": len(plan.outlets),
        "feed_days": len(plan.feed_days),
        "feed_days_with_failures": sum(1 for f in plan.feed_days if f[3]),
        "news_events": len(plan.events),
        "busiest_day_items": int(np.bincount(plan.day).max()) if plan.items else 0,
    }


def _trigger_names(statements: list[str]) -> list[str]:
    return [m[1] for s in statements if (m := re.match(r"\s*CREATE TRIGGER (\w+)", s))]


def load_sqlite(
    db: Database,
    plan: data.Plan,
    vocabulary: data.Vocabulary,
    progress: Progress,
    seconds: dict[str, float],
) -> int:
    """Rows through the stdlib driver, FTS triggers off; returns the words written."""
    assert db.path is not None
    triggers = [s for s in data.load_migration_0006().SQLITE_FTS if "CREATE TRIGGER" in s]
    connection = sqlite3.connect(db.path, isolation_level=None)
    words = 0
    try:
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-1000000"):
            connection.execute(f"PRAGMA {pragma}")
        for name in _trigger_names(triggers):
            connection.execute(f"DROP TRIGGER {name}")
        progress.start("items, labels and topics (SQLite)")
        connection.execute("BEGIN")
        connection.executemany(
            "INSERT INTO stories (id, first_published_at, created_at) VALUES (?, ?, ?)",
            _story_rows(plan, ""),
        )
        connection.execute("COMMIT")
        done = 0
        for chunk in in_background(data.iter_chunks(plan, vocabulary, "")):
            connection.execute("BEGIN")
            for table, columns, rows in _chunk_tables(chunk):
                marks = ", ".join("?" for _ in columns)
                connection.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows
                )
            connection.execute("COMMIT")
            done += len(chunk.items)
            words += chunk.words
            progress.update(done, plan.items)
        connection.execute("BEGIN")
        for table, columns, rows in _edition_tables(plan, ""):
            marks = ", ".join("?" for _ in columns)
            connection.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows
            )
        connection.execute("COMMIT")
        seconds["items (SQLite executemany)"] = progress.done()

        progress.start("full-text index (FTS5 rebuild) and triggers")
        connection.execute("INSERT INTO items_fts(items_fts) VALUES ('rebuild')")
        for statement in triggers:
            connection.execute(statement)
        connection.execute("PRAGMA journal_mode=WAL")
        seconds["full-text index"] = progress.done()
    finally:
        connection.close()
    return words


def load_postgres(
    db: Database,
    plan: data.Plan,
    vocabulary: data.Vocabulary,
    progress: Progress,
    seconds: dict[str, float],
) -> int:
    """Rows by COPY, the GIN index built after; returns the words written."""
    gin = data.load_migration_0006().POSTGRES_FTS[1]
    words = 0
    with psycopg.connect(db.libpq()) as connection:
        connection.execute("DROP INDEX IF EXISTS ix_items_search_vector")
        # Foreign keys are not checked row by row (the rows agree by construction), as
        # pg_restore --disable-triggers does; a superuser may, others load with the checks.
        with suppress(psycopg.errors.InsufficientPrivilege):
            connection.execute("SET session_replication_role = replica")
        connection.commit()
        progress.start("items, labels and topics (PostgreSQL COPY)")
        _copy(
            connection,
            "stories",
            ("id", "first_published_at", "created_at"),
            _story_rows(plan, "+00"),
        )
        connection.commit()
        done = 0
        for chunk in in_background(data.iter_chunks(plan, vocabulary, "+00")):
            for table, columns, rows in _chunk_tables(chunk):
                _copy(connection, table, columns, rows)
            connection.commit()
            done += len(chunk.items)
            words += chunk.words
            progress.update(done, plan.items)
        for table, columns, rows in _edition_tables(plan, "+00"):
            _copy(connection, table, columns, rows)
        for table in ("stories", "items", "editions", "edition_entries"):
            connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        connection.commit()
        seconds["items (PostgreSQL COPY)"] = progress.done()

        progress.start("GIN index on items.search_vector")
        connection.execute("SET maintenance_work_mem = '1GB'")
        connection.execute(gin)
        connection.commit()
        seconds["full-text index"] = progress.done()
    return words


def in_background(chunks: Iterator[data.Chunk], depth: int = 2) -> Iterator[data.Chunk]:
    """The chunks, made in a thread while the caller writes the ones before (the database
    works on its rows without holding this interpreter's lock)."""
    made: queue.Queue[data.Chunk | BaseException | None] = queue.Queue(maxsize=depth)

    def make() -> None:
        try:
            for chunk in chunks:
                made.put(chunk)
        except BaseException as e:  # handed to the caller, which raises it
            made.put(e)
        made.put(None)

    threading.Thread(target=make, daemon=True).start()
    while (chunk := made.get()) is not None:
        if isinstance(chunk, BaseException):
            raise chunk
        yield chunk


def _copy(
    connection: psycopg.Connection[Any],
    table: str,
    columns: tuple[str, ...],
    rows: Iterator[tuple[Any, ...]] | list[tuple[Any, ...]],
) -> None:
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def _chunk_tables(chunk: data.Chunk) -> list[tuple[str, tuple[str, ...], list[tuple[Any, ...]]]]:
    return [
        ("items", data.ITEM_COLUMNS, chunk.items),
        ("item_labels", data.LABEL_COLUMNS, chunk.labels),
        ("item_topics", data.TOPIC_COLUMNS, chunk.topics),
    ]


def _story_rows(plan: data.Plan, suffix: str) -> Iterator[tuple[Any, ...]]:
    first = data.stamps(plan.story_first, suffix)
    for n, moment in enumerate(first, 1):
        yield (n, moment, moment)


EDITION_COLUMNS = (
    "id", "edition_date", "list_address", "status", "subject", "intro", "window_start",
    "window_end", "composed_at", "html", "text", "html_sha256", "sending_started_at", "sent_at",
    "message_id", "smtp_reply", "send_attempts", "dropped_for_size", "version",
)  # fmt: skip
ENTRY_COLUMNS = (
    "id", "edition_id", "item_id", "story_id", "section", "position", "score", "score_parts",
    "removed", "removed_reason", "added_by_editor", "lead_chosen", "is_update",
)  # fmt: skip


def _edition_tables(
    plan: data.Plan, suffix: str
) -> list[tuple[str, tuple[str, ...], list[tuple[Any, ...]]]]:
    editions: list[tuple[Any, ...]] = []
    entries: list[tuple[Any, ...]] = []
    for e in plan.editions:
        start, end, sent = data.stamps(np.array([*e.window, data.at(e.day, data.SEND_AT)]), suffix)
        editions.append(
            (
                e.id, e.day.isoformat(), "briefing@example.org", "sent",
                f"Migration press briefing, {e.day:%A %d %B %Y}", "", start, end, end,
                "<p>benchmark edition</p>", "benchmark edition", "", sent, sent,
                f"<edition-{e.day.isoformat()}@example.org>", "250 OK", 1, 0, 1,
            )
        )  # fmt: skip
        for item, story, section, position, score, removed in e.entries:
            entries.append(
                (
                    len(entries) + 1, e.id, item, story, section, position, score, "{}",
                    removed, "editor" if removed else None, False, False, False,
                )
            )  # fmt: skip
    return [("editions", EDITION_COLUMNS, editions), ("edition_entries", ENTRY_COLUMNS, entries)]


def fill_rollups(engine: Engine, progress: Callable[[int, int], None]) -> None:
    """The roll-ups as `briefing db upgrade` fills them after the upgrade to 0006."""
    rollup.rebuild(engine, data.LONDON, KEEP_DAYS, NOW.astimezone(UTC), progress=progress)


def save_feed_days(engine: Engine, rows: tuple[tuple[date, int, int, int], ...]) -> None:
    with session_scope(engine) as session:
        session.execute(text("DELETE FROM archive_feed_days"))
        session.execute(
            text(
                "INSERT INTO archive_feed_days (day, outlet_id, feeds, failed) "
                "VALUES (:day, :outlet_id, :feeds, :failed)"
            ),
            [
                {"day": day.isoformat() if engine.dialect.name == "sqlite" else day,
                 "outlet_id": o, "feeds": f, "failed": x}
                for day, o, f, x in rows
            ],
        )  # fmt: skip


# --- the queries ------------------------------------------------------------------------------


def search_queries(engine: Engine) -> list[Query]:
    """Ten searches as staff type them into the archive page."""

    def run(**fields: Any) -> Callable[[], object]:
        query = SearchQuery(**fields)
        return lambda: search(engine, query, data.LONDON)

    last_90 = data.END - timedelta(days=data.RECENT_DAYS - 1)
    return [
        ("asylum: a broad word, by relevance", run(text="asylum")),
        ('"small boats": a phrase', run(text='"small boats"')),
        ("Manston: a rare name", run(text="Manston")),
        ("Rwanda OR deportation", run(text="Rwanda OR deportation")),
        (
            '"settled status" OR EUSS, topic eu-citizens-euss, since 2024',
            run(text='"settled status" OR EUSS', topic="eu-citizens-euss", since=date(2024, 1, 1)),
        ),
        (
            "detention, right-leaning outlets, 2023",
            run(
                text="detention",
                segment="right-leaning",
                since=date(2023, 1, 1),
                until=date(2023, 12, 31),
            ),
        ),
        ("Calais, newest first", run(text="Calais", sort="date")),
        ("refugees, page 5", run(text="refugees", page=5)),
        ("asylum hotel, made the briefing", run(text="asylum hotel", sent=True)),
        (
            "no words: channel-crossings, last 90 days",
            run(text="", topic="channel-crossings", since=last_90),
        ),
    ]


def trend_queries(engine: Engine) -> list[Query]:
    """Ten trend figures as the stats page and `briefing stats` ask for them."""
    five_years, last_year = (data.START, data.END), (data.END - timedelta(days=364), data.END)
    two_years = (data.END - timedelta(days=2 * 365 - 1), data.END)
    last_90 = (data.END - timedelta(days=data.RECENT_DAYS - 1), data.END)

    def figure(since_until: tuple[date, date], **fields: Any) -> Callable[[], object]:
        query = TrendQuery(*since_until, **fields)
        if query.by == "outlet":
            return lambda: trend(engine, query, outlet_names(engine))
        return lambda: trend(engine, query)

    return [
        ("topics by week, five years", figure(five_years, by="topic", period="week")),
        ("topics by month, five years", figure(five_years, by="topic", period="month")),
        ("segments by month, five years", figure(five_years, by="segment", period="month")),
        ("outlets by month, last year", figure(last_year, by="outlet", period="month")),
        ("regions by day, last 90 days", figure(last_90, by="region", period="day")),
        ("all items by day, five years", figure(five_years, by="all", period="day")),
        (
            "channel-crossings by segment, by week, two years",
            figure(two_years, by="segment", period="week", topic="channel-crossings"),
        ),
        ("spikes, last year", lambda: spikes(engine, *last_year)),
        ("language tracker by month, five years", lambda: term_trend(engine, *five_years, "month")),
        (
            "language tracker, right-leaning, by week, two years",
            lambda: term_trend(engine, *two_years, "week", segment="right-leaning"),
        ),
    ]


def describe(result: object, relevant: int) -> str:
    if isinstance(result, SearchResult):
        if result.capped:
            return f"over {result.total:,} hits (capped: the newest {result.total:,} read)"
        share = 100 * result.total / relevant if relevant else 0.0
        return f"{result.total:,} hits ({share:.2g}% of relevant)"
    if isinstance(result, Trend):
        return f"{len(result.series)} series x {len(result.periods)} periods"
    if isinstance(result, TermTrend):
        return f"{len(result.terms)} terms x {len(result.periods)} periods"
    if isinstance(result, list):
        return f"{len(result)} spikes"
    return type(result).__name__


@dataclass
class Timing:
    kind: str  # "search" or "trend"
    name: str
    result: str
    ms: list[float]
    statements: list[tuple[str, float]]  # (SQL, median ms per run), slowest first

    def at(self, p: float) -> float:
        return percentile(self.ms, p)


def percentile(values: list[float], p: float) -> float:
    """Nearest rank: the smallest value with at least p% of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(len(ordered) * p / 100) - 1)]


class StatementClock:
    """Where a run's time goes: each SQL statement is charged from its start to the start of
    the next one (or the end of the run), so its rows' fetching and the Python work on them
    count with it; time before the first statement is charged to "(before any SQL)"."""

    def __init__(self, engine: Engine) -> None:
        self.on = False
        self.ms: dict[str, float] = defaultdict(float)
        self._current = ("", 0.0)
        event.listen(engine, "before_cursor_execute", self._before)

    def start(self) -> None:
        self.on, self._current = True, ("(before any SQL)", perf_counter())

    def stop(self) -> None:
        self._charge(perf_counter())
        self.on = False

    def _before(self, _conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if self.on:
            now = perf_counter()
            self._charge(now)
            self._current = (" ".join(statement.split()), now)

    def _charge(self, now: float) -> None:
        sql, started = self._current
        self.ms[sql] += 1000 * (now - started)

    def take(self, runs: int) -> list[tuple[str, float]]:
        per_run = [(sql, ms / runs) for sql, ms in self.ms.items()]
        self.ms = defaultdict(float)
        return sorted(per_run, key=lambda s: -s[1])


def measure(
    engine: Engine, kind: str, queries: list[Query], relevant: int, repeats: int
) -> list[Timing]:
    statements = StatementClock(engine)
    timings = []
    for name, run in queries:
        result = run()  # warm-up
        ms = []
        for _ in range(repeats):
            started = perf_counter()
            statements.start()
            run()
            statements.stop()
            ms.append(1000 * (perf_counter() - started))
        timings.append(Timing(kind, name, describe(result, relevant), ms, statements.take(repeats)))
        print(f"  {kind}: {name}: p95 {percentile(ms, 95):.1f} ms", file=sys.stderr, flush=True)
    return timings


# --- the report -------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cpu = ""
    with suppress(OSError):
        cpu = next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            "",
        )
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cores": cores,
        "cpu": cpu or platform.machine(),
        "memory_gib": round(memory, 1),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


def sizes(db: Database) -> dict[str, int]:
    """Bytes on disk: the whole database, then its largest tables (on PostgreSQL with their
    indexes and TOAST) and indexes."""
    if db.path is not None:
        files = [Path(f"{db.path}{suffix}") for suffix in ("", "-wal")]
        found = {"database": sum(os.path.getsize(f) for f in files if f.exists())}
        lite = sqlite3.connect(db.path)
        try:
            rows = lite.execute(
                "SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC LIMIT 10"
            ).fetchall()
        finally:
            lite.close()
        return found | {str(name): int(size) for name, size in rows}
    with psycopg.connect(db.libpq()) as connection:
        total = connection.execute("SELECT pg_database_size(current_database())").fetchone()
        rows = connection.execute(
            "SELECT c.relname, CASE c.relkind WHEN 'r' THEN pg_total_relation_size(c.oid) "
            "ELSE pg_relation_size(c.oid) END FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i') "
            "ORDER BY 2 DESC LIMIT 12"
        ).fetchall()
    return {"database": int(total[0]) if total else 0} | {str(n): int(s) for n, s in rows}


def server_version(db: Database) -> str:
    if db.kind == "sqlite":
        return sqlite3.sqlite_version
    with psycopg.connect(db.libpq()) as connection:
        row = connection.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "?"


def relevant_items(engine: Engine) -> tuple[int, int]:
    with session_scope(engine, write=False) as session:
        items = session.execute(text("SELECT count(*) FROM items")).scalar_one()
        relevant = session.execute(
            text("SELECT count(*) FROM item_labels WHERE relevant")
        ).scalar_one()
    return int(items), int(relevant)


def table(timings: list[Timing]) -> list[str]:
    lines = [
        "| query | result | p50 ms | p95 ms | max ms |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for kind in ("search", "trend"):
        of_kind = [t for t in timings if t.kind == kind]
        for t in of_kind:
            mark = " **over target**" if t.at(95) > TARGET_MS else ""
            lines.append(
                f"| {kind}: {t.name} | {t.result} | {t.at(50):.1f} | {t.at(95):.1f}{mark} | "
                f"{max(t.ms):.1f} |"
            )
        pooled = [ms for t in of_kind for ms in t.ms]
        if pooled:
            lines.append(
                f"| **all {len(of_kind)} {kind} queries** | {len(pooled)} runs | "
                f"{percentile(pooled, 50):.1f} | {percentile(pooled, 95):.1f} | "
                f"{max(pooled):.1f} |"
            )
    return lines


def report(db: Database, entry: dict[str, Any], timings: list[Timing]) -> None:
    gen = entry["generation"]
    print(f"\n## {db.label} {entry['server_version']}: {entry['items']:,} items")
    how = "reused from an earlier run" if gen.get("reused") else "generated now"
    print(
        f"generation ({how}): {gen.get('total_seconds', 0):,.0f} s "
        + ", ".join(f"{k} {v:,.0f} s" for k, v in gen.get("seconds", {}).items())
    )
    if gen.get("words"):
        print(f"words in titles, summaries and texts: {gen['words']:,} "
              f"({gen['words'] / entry['items']:.0f} per item)")  # fmt: skip
    print("data: " + ", ".join(f"{k} {v:,}" for k, v in gen.get("profile", {}).items()))
    print(
        "size on disk: "
        + ", ".join(f"{name} {size / 2**20:,.0f} MiB" for name, size in entry["sizes"].items())
    )
    if not timings:
        return
    print()
    for line in table(timings):
        print(line)
    verdicts = []
    for kind in ("search", "trend"):
        pooled = [ms for t in timings if t.kind == kind for ms in t.ms]
        if pooled:
            slow = [t.name for t in timings if t.kind == kind and t.at(95) > TARGET_MS]
            verdicts.append(f"{kind}: {'met' if not slow else 'MISSED by ' + '; '.join(slow)}")
    print(f"\ntarget p95 <= {TARGET_MS:.0f} ms per query: " + "; ".join(verdicts))
    for t in timings:
        if t.at(95) > TARGET_MS / 2:
            print(
                f"  where {t.kind} '{t.name}' spends its time (mean ms per run; a statement "
                "with its rows and the Python work until the next one):"
            )
            for sql, ms in t.statements[:4]:
                print(f"    {ms:8.1f}  {sql[:150]}")


def run_database(db: Database, args: argparse.Namespace) -> dict[str, Any]:
    progress = Progress()
    if args.reuse and is_complete(db, args.items):
        earlier = read_results(args.json).get(db.kind, {})
        same = earlier.get("items") == args.items
        generation = dict(earlier.get("generation", {})) if same else {}
        generation["reused"] = True
        print(f"{db.label}: reusing {db.url} ({args.items:,} items)", file=sys.stderr)
    else:
        generation = asdict(generate(db, args.items, args.seed, progress))
        generation["total_seconds"] = round(sum(generation["seconds"].values()), 1)
    engine = make_engine(db.url)
    timings: list[Timing] = []
    try:
        changed = match_schema(engine)
        if changed:
            print(f"{db.label}: {'; '.join(changed)}", file=sys.stderr)
            generation["schema_matched_after"] = changed
        items, relevant = relevant_items(engine)
        load = round(os.getloadavg()[0], 2)
        if not args.generate_only:
            progress.start(f"timing on {db.label} (load average {load})")
            timings = measure(engine, "search", search_queries(engine), relevant, args.repeats)
            timings += measure(engine, "trend", trend_queries(engine), relevant, args.repeats)
            progress.done()
    finally:
        engine.dispose()
    entry = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "url": make_url(db.url).render_as_string(hide_password=True),
        "server_version": server_version(db),
        "items": items,
        "relevant_items": relevant,
        "generation": generation,
        "sizes": sizes(db),
        "load_average_before_timing": load,
        "target_ms": TARGET_MS,
        "repeats": args.repeats,
        "timings": [
            asdict(t) | {"p50": t.at(50), "p95": t.at(95), "max": max(t.ms)} for t in timings
        ],
    }
    report(db, entry, timings)
    return entry


def read_results(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    databases: dict[str, Any] = json.loads(path.read_text(encoding="utf-8")).get("databases", {})
    return databases


def save_results(path: Path, about: dict[str, Any], entries: dict[str, Any]) -> None:
    """This run's entries over those of earlier runs (read again now: another run of the
    benchmark may have written its own meanwhile)."""
    merged = read_results(path) | entries
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"machine": about, "databases": merged}
    path.write_text(json.dumps(payload, indent=1, default=str) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description="Archive searches and trends at scale.")
    parser.add_argument("--sqlite", type=Path, help="SQLite file to generate (or reuse)")
    parser.add_argument("--postgres", help="postgresql:// URL of a database to generate (or reuse)")
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--reuse", action="store_true", help="keep a database of N items")
    parser.add_argument("--repeats", type=int, default=REPEATS, help="timed runs per query")
    parser.add_argument(
        "--generate-only", action="store_true", help="make the databases, time nothing"
    )
    parser.add_argument("--json", type=Path, default=JSON_PATH, help="where to write results")
    args = parser.parse_args()
    databases = [sqlite_database(args.sqlite)] if args.sqlite else []
    if args.postgres:
        databases.append(postgres_database(args.postgres))
    if not databases:
        parser.error("give --sqlite PATH, --postgres URL or both")
    about = machine()
    print(
        f"machine: {about['cores']} cores ({about['cpu']}), {about['memory_gib']} GiB, "
        f"Python {about['python']}, load average {about['load_average_1min']}"
    )
    print(
        f"method: {args.items:,} items over {data.START} to {data.END} (seed {args.seed}); "
        f"each query 1 warm-up then {args.repeats} timed runs in process; nearest-rank "
        f"percentiles; "
        f"target p95 <= {TARGET_MS:.0f} ms (see the module docstring)"
    )
    entries = {}
    for db in databases:
        entries[db.kind] = run_database(db, args)
        save_results(args.json, about, entries)
    print(f"\nwritten to {args.json}")


if __name__ == "__main__":
    main()
