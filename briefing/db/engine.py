"""Engines and sessions (I/O): SQLite tuned for a small busy service, PostgreSQL as is."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from briefing.errors import BriefingError


class DatabaseError(BriefingError):
    default_message = "database unavailable"


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        if parsed.drivername == "postgresql":  # psycopg 3 is the driver we ship
            parsed = parsed.set(drivername="postgresql+psycopg")
        # psycopg prepares a statement on the server from its fifth run, and PostgreSQL may
        # then plan it once for any parameters: the archive's searches and date ranges need
        # a plan for their own values (a year's range and a five-year one differ 1000-fold).
        return create_engine(parsed, pool_pre_ping=True, connect_args={"prepare_threshold": None})
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, connect_args={"timeout": 30})
    _tune_sqlite(engine)
    return engine


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: object) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see "begin" below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A transaction that reads and then writes must hold the write lock from the start,
        # or WAL mode fails it at once with "database is locked" whatever the busy timeout.
        # Read-only ones need no lock at all in WAL mode.
        read_only = connection.get_execution_options().get("read_only", False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


@contextmanager
def session_scope(engine: Engine, *, write: bool = True) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back if it raises.

    `write=False` is for readers (web pages, reports): on SQLite they take no write lock."""
    bind = engine if write else engine.execution_options(read_only=True)
    try:
        with Session(bind, expire_on_commit=False) as session, session.begin():
            yield session
    except (OperationalError, ProgrammingError) as e:
        reason = str(e.orig or e).strip().splitlines()[0]
        if "no such table" in reason or ("relation" in reason and "does not exist" in reason):
            raise DatabaseError(
                "the database has no briefing tables yet: run `briefing db upgrade`"
            ) from None  # the hint says it all; the driver's words would only add noise
        if isinstance(e, ProgrammingError):
            raise  # our own SQL is wrong: a bug, not an operational failure
        raise DatabaseError(f"database error ({reason})") from e
