"""The database behaves the same on both backends where it matters to us."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session

from briefing.db.engine import make_engine, session_scope
from briefing.db.models import Edition, Feed, Outlet


def test_datetimes_come_back_aware_utc(engine: Engine) -> None:
    paris = timezone(timedelta(hours=1))
    with session_scope(engine) as session:
        session.add(
            Edition(
                edition_date=date(2026, 3, 10),
                window_start=datetime(2026, 3, 9, 7, 30, tzinfo=paris),
                window_end=datetime(2026, 3, 10, 6, 30, tzinfo=UTC),
            )
        )
    with session_scope(engine) as session:
        edition = session.scalars(select(Edition)).one()
        assert edition.window_start == datetime(2026, 3, 9, 6, 30, tzinfo=UTC)
        assert edition.window_start.tzinfo == UTC


def test_naive_datetimes_are_refused(engine: Engine) -> None:
    with pytest.raises(StatementError, match="naive datetime"), session_scope(engine) as session:
        session.add(
            Edition(
                edition_date=date(2026, 3, 10),
                window_start=datetime(2026, 3, 9, 6, 30),
                window_end=datetime(2026, 3, 10, 6, 30, tzinfo=UTC),
            )
        )


def test_foreign_keys_are_enforced(engine: Engine) -> None:
    with pytest.raises(IntegrityError), Session(engine) as session, session.begin():
        session.add(Feed(outlet_id=999, url="https://example.org/feed", name="x"))


def test_every_edition_change_bumps_its_version(engine: Engine) -> None:
    """The version is what the curation page sends back to detect a concurrent edit."""
    with session_scope(engine) as session:
        session.add(
            Edition(
                edition_date=date(2026, 3, 10),
                window_start=datetime(2026, 3, 9, 6, 30, tzinfo=UTC),
                window_end=datetime(2026, 3, 10, 6, 30, tzinfo=UTC),
            )
        )
    for intro in ("first", "second"):
        with session_scope(engine) as session:
            session.scalars(select(Edition)).one().intro = intro
    with session_scope(engine, write=False) as session:
        assert session.scalars(select(Edition)).one().version == 3


def test_readers_do_not_wait_for_a_writer(engine: Engine) -> None:
    with session_scope(engine) as writer:
        writer.add(Outlet(slug="bbc-news", name="BBC News"))
        writer.flush()
        with session_scope(engine, write=False) as reader:  # would block on SQLite otherwise
            assert reader.scalars(select(Outlet)).all() == []


def test_sqlite_is_tuned(tmp_path: object) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/tuned.db")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 10000
    engine.dispose()


def test_unique_outlet_slug(engine: Engine) -> None:
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        session.add_all([Outlet(slug="bbc-news", name="BBC"), Outlet(slug="bbc-news", name="B")])
