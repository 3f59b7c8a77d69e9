"""`briefing backup`: a consistent copy while the service writes, a restore that `briefing db
upgrade` accepts, and pg_dump (a fake one for the arguments, the real one against PostgreSQL)."""

from __future__ import annotations

import shutil
import sqlite3
import stat
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from click.testing import CliRunner, Result
from sqlalchemy import Connection, Engine, func, select, text
from sqlalchemy.engine import make_url

from briefing.cli import cli
from briefing.db.backup import BackupError, backup
from briefing.db.engine import make_engine, session_scope
from briefing.db.migrate import alembic_config, upgrade
from briefing.db.models import (
    Base,
    Edition,
    EditionEntry,
    Feed,
    FetchLog,
    Item,
    ItemFeed,
    ItemLabel,
    ItemTopic,
    Outlet,
    Story,
)
from briefing.errors import UsageError
from tests.conftest import PG_URL

HEAD = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
SQLITE_MAGIC = b"SQLite format 3\x00"


def run(*args: str, **env: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=env or None, catch_exceptions=False)


def add_feed(conn: Connection) -> int:
    """Plain SQL on columns every revision has, so it works on old schemas too."""
    conn.execute(
        text(
            "INSERT INTO outlets (slug, name, is_aggregator, domains, active, created_at, "
            "updated_at) VALUES ('bbc-news', 'BBC News', false, '[]', true, :t, :t)"
        ),
        {"t": "2026-03-10 06:00:00.000000"},
    )
    outlet_id = conn.execute(text("SELECT id FROM outlets")).scalar_one()
    conn.execute(
        text(
            "INSERT INTO feeds (outlet_id, url, name, active, consecutive_failures) "
            "VALUES (:o, 'https://feeds.bbci.co.uk/news/uk/rss.xml', 'UK', true, 0)"
        ),
        {"o": outlet_id},
    )
    return int(conn.execute(text("SELECT id FROM feeds")).scalar_one())


def add_fetch_logs(conn: Connection, feed_id: int, count: int, note: str = "") -> None:
    conn.execute(
        text(
            "INSERT INTO fetch_log (feed_id, started_at, duration_ms, status, bytes, "
            "items_seen, items_new, items_updated, error) "
            "VALUES (:feed, :t, 120, 'ok', 0, 0, 0, 0, :note)"
        ),
        [{"feed": feed_id, "t": "2026-03-10 06:00:00.000000", "note": note}] * count,
    )


def count_logs(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT count(*) FROM fetch_log").fetchone()[0])


@pytest.fixture
def live_db(sqlite_template: Path, tmp_path: Path) -> Path:
    """A migrated SQLite database with one feed, where the service would keep it."""
    path = tmp_path / "var" / "briefing.db"
    path.parent.mkdir()
    shutil.copyfile(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        add_feed(conn)
    engine.dispose()
    return path


@pytest.fixture
def backups(tmp_path: Path) -> Path:
    folder = tmp_path / "backups"
    folder.mkdir()
    return folder


# --- SQLite ---------------------------------------------------------------------------------


def test_sqlite_backup_while_another_thread_writes(live_db: Path, backups: Path) -> None:
    url = f"sqlite:///{live_db}"
    engine = make_engine(url)
    with engine.begin() as conn:  # about 10 MB, so that the copy takes a while
        add_fetch_logs(conn, 1, 30_000, note="x" * 300)
    engine.dispose()
    committed = 0
    errors: list[BaseException] = []
    stop = threading.Event()

    def keep_writing() -> None:
        nonlocal committed
        writer = make_engine(url)  # the service's own engine: WAL, BEGIN IMMEDIATE
        try:
            while not stop.is_set():
                with writer.begin() as conn:
                    add_fetch_logs(conn, 1, 1, note="written during the backup")
                committed += 1
        except BaseException as e:
            errors.append(e)
        finally:
            writer.dispose()

    thread = threading.Thread(target=keep_writing, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while committed < 20 and time.monotonic() < deadline:
            time.sleep(0.01)
        before = count_logs(live_db)  # committed before the backup began
        commits_before = committed
        report = backup(url, backups / "copy.db")
        commits_during = committed - commits_before
        after = count_logs(live_db)
    finally:
        stop.set()
        thread.join(10)
    assert not errors
    assert commits_during > 0, "the writer should have gone on committing during the backup"

    copy = backups / "copy.db"
    assert report.path == copy and report.backend == "sqlite"
    assert report.size_bytes == copy.stat().st_size > 10_000_000
    assert sorted(p.name for p in backups.iterdir()) == ["copy.db"]  # no temporary, no -wal
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600  # for the service's user only
    with sqlite3.connect(copy) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        rows = conn.execute("SELECT count(*) FROM fetch_log").fetchone()[0]
        version = conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    assert before <= rows <= after
    assert version == HEAD


def test_restore_an_old_backup_then_db_upgrade(tmp_path: Path, backups: Path) -> None:
    """The backup predates an upgrade: restored, `briefing db upgrade` brings it to head."""
    live = tmp_path / "var" / "briefing.db"
    url = f"sqlite:///{live}"
    upgrade(url, "0003")
    engine = make_engine(url)
    with engine.begin() as conn:
        add_fetch_logs(conn, add_feed(conn), 50)
    engine.dispose()
    copy = backups / "briefing-2026-03-10.db"

    result = run("backup", str(copy), BRIEFING_DATABASE_URL=url)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Wrote {copy} (") and " KB, " in result.stdout

    # The service is stopped and the database lost: the restore replaces the file and its
    # -wal and -shm companions (a stale WAL must never meet the restored file).
    for path in live.parent.glob("briefing.db*"):
        path.unlink()
    shutil.copyfile(copy, live)
    result = run("db", "upgrade", BRIEFING_DATABASE_URL=url)
    assert result.exit_code == 0, result.output

    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            assert session.scalar(text("SELECT version_num FROM alembic_version")) == HEAD
            assert session.scalar(select(func.count()).select_from(FetchLog)) == 50
            assert session.scalar(select(Feed.url)) == "https://feeds.bbci.co.uk/news/uk/rss.xml"
    finally:
        engine.dispose()


def test_an_existing_path_is_kept_unless_forced(live_db: Path, backups: Path) -> None:
    url = f"sqlite:///{live_db}"
    target = backups / "copy.db"
    target.write_bytes(b"yesterday's backup")

    refused = run("backup", str(target), BRIEFING_DATABASE_URL=url)
    assert refused.exit_code == 2
    assert refused.stderr.count("\n") == 1 and "--force" in refused.stderr
    assert target.read_bytes() == b"yesterday's backup"

    forced = run("backup", "--force", str(target), BRIEFING_DATABASE_URL=url)
    assert forced.exit_code == 0
    assert target.read_bytes().startswith(SQLITE_MAGIC)
    assert sorted(p.name for p in backups.iterdir()) == ["copy.db"]


def test_a_broken_database_fails_with_one_line_and_leaves_nothing(
    tmp_path: Path, backups: Path
) -> None:
    broken = tmp_path / "broken.db"
    broken.write_bytes(b"this is not a database" * 100)
    result = run("backup", str(backups / "copy.db"), BRIEFING_DATABASE_URL=f"sqlite:///{broken}")
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"briefing: could not copy {broken}: ")
    assert list(backups.iterdir()) == []


def test_a_missing_database_is_not_created_by_the_backup(tmp_path: Path, backups: Path) -> None:
    missing = tmp_path / "var" / "briefing.db"
    url = f"sqlite:///{missing}"
    with pytest.raises(BackupError, match="there is no SQLite database"):
        backup(url, backups / "copy.db")
    assert not missing.exists()
    assert list(backups.iterdir()) == []


@pytest.mark.parametrize(
    ("url", "target", "reason"),
    [
        ("sqlite:///{live}", "{tmp}/no/such/folder/copy.db", "does not exist"),
        ("sqlite://", "{tmp}/backups/copy.db", "in-memory"),
        ("sqlite:///{live}", "{live}", "is the database itself"),
        ("mysql://db.example/briefing", "{tmp}/backups/copy.db", "SQLite and PostgreSQL"),
    ],
)
def test_bad_usage(live_db: Path, backups: Path, url: str, target: str, reason: str) -> None:
    fill = {"live": live_db, "tmp": backups.parent}
    with pytest.raises(UsageError, match=reason):
        backup(url.format(**fill), Path(target.format(**fill)), force=True)
    assert live_db.read_bytes().startswith(SQLITE_MAGIC)
    assert list(backups.iterdir()) == []


# --- PostgreSQL: a fake pg_dump for what it is given ----------------------------------------

FAKE_PG_DUMP = """#!/bin/sh
printf '%s\\n' "$@" > "$FAKE_LOG"
printf '%s' "$PGPASSWORD" > "$FAKE_LOG.password"
if [ -n "$FAKE_FAIL" ]; then
    echo "pg_dump: error: $FAKE_FAIL" >&2
    echo "        Is the server running on that host and accepting TCP/IP connections?" >&2
    exit 1
fi
for arg in "$@"; do
    case "$arg" in --file=*) printf 'PGDMP fake dump' > "${arg#--file=}" ;; esac
done
"""


@pytest.fixture
def fake_pg_dump(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A pg_dump that records its arguments and password; returns the log's path."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "pg_dump"
    script.write_text(FAKE_PG_DUMP)
    script.chmod(0o755)
    log = tmp_path / "pg_dump.log"
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("FAKE_LOG", str(log))
    monkeypatch.delenv("PGPASSWORD", raising=False)
    return log


def test_pg_dump_gets_the_password_in_its_environment_only(
    fake_pg_dump: Path, backups: Path
) -> None:
    url = "postgresql+psycopg://briefing:s3cret%2F@db.example:5433/briefing?sslmode=require"
    report = backup(url, backups / "briefing.dump")

    arguments = fake_pg_dump.read_text().splitlines()
    assert arguments[0] == "--format=custom"
    assert "--no-password" in arguments
    assert "--dbname=postgresql://briefing@db.example:5433/briefing?sslmode=require" in arguments
    assert not any("s3cret" in argument for argument in arguments)
    assert Path(f"{fake_pg_dump}.password").read_text() == "s3cret/"
    # pg_dump wrote a temporary file beside PATH, renamed into place once complete
    partial = next(a for a in arguments if a.startswith("--file=")).removeprefix("--file=")
    assert Path(partial).parent == backups and Path(partial).name.startswith(".briefing.dump.")
    assert (backups / "briefing.dump").read_bytes() == b"PGDMP fake dump"
    assert sorted(p.name for p in backups.iterdir()) == ["briefing.dump"]
    assert stat.S_IMODE((backups / "briefing.dump").stat().st_mode) == 0o600
    assert report.backend == "postgresql" and report.size_bytes == len(b"PGDMP fake dump")
    assert "restore with pg_restore" in report.describe()


def test_a_failing_pg_dump_says_why_and_leaves_nothing(
    fake_pg_dump: Path, backups: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_FAIL", 'connection to server at "db.example" failed: timeout')
    result = run(
        "backup",
        str(backups / "briefing.dump"),
        BRIEFING_DATABASE_URL="postgresql://briefing:s3cret@db.example/briefing",
    )
    assert result.exit_code == 1
    assert result.stderr == (
        'briefing: pg_dump failed: connection to server at "db.example" failed: timeout '
        "(check database_url and that the server is reachable)\n"
    )
    assert list(backups.iterdir()) == []


def test_a_missing_pg_dump_says_what_to_install(
    tmp_path: Path, backups: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(BackupError, match=r"pg_dump is not installed.*postgresql-client"):
        backup("postgresql://briefing@db.example/briefing", backups / "briefing.dump")
    assert list(backups.iterdir()) == []


# --- PostgreSQL: the real pg_dump and pg_restore --------------------------------------------

RESTORED = "briefing_restore_test"


def seed_everything(engine: Engine) -> None:
    """A row or more in the tables that matter, with the links between them."""
    when = datetime(2026, 3, 10, 6, 0, tzinfo=UTC)
    with session_scope(engine) as session:
        outlet = Outlet(slug="bbc-news", name="BBC News", segment="mixed-middle", domains=[])
        feed = Feed(outlet=outlet, url="https://feeds.bbci.co.uk/news/uk/rss.xml", name="UK")
        story = Story(first_published_at=when)
        session.add_all([outlet, feed, story])
        session.flush()
        for n in range(5):
            item = Item(
                outlet=outlet,
                url=f"https://www.bbc.co.uk/news/{n}",
                canonical_url=f"https://www.bbc.co.uk/news/{n}",
                url_hash=f"{n:064d}",
                title=f"Headline {n}",
                published_at=when - timedelta(hours=n),
                content_hash="x",
                story_id=story.id,
            )
            item.label = ItemLabel(
                model_version="test",
                relevant=True,
                relevance=0.9,
                segment="mixed-middle",
                topics=[ItemTopic(topic="asylum-system", score=0.8)],
            )
            session.add(item)
            session.flush()
            session.add(ItemFeed(item_id=item.id, feed_id=feed.id))
            session.add(FetchLog(feed_id=feed.id, started_at=when, duration_ms=100, status="ok"))
        edition = Edition(
            edition_date=date(2026, 3, 10),
            list_address="briefing@example.org",
            window_start=when - timedelta(days=1),
            window_end=when,
        )
        session.add(edition)
        session.flush()
        session.add(
            EditionEntry(
                edition_id=edition.id,
                item_id=item.id,
                story_id=story.id,
                section="top-stories",
                position=0,
            )
        )


def table_counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            names = [t.name for t in Base.metadata.sorted_tables] + ["alembic_version"]
            return {
                name: conn.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one()
                for name in names
            }
    finally:
        engine.dispose()


@pytest.fixture
def scratch_database() -> Iterator[str]:
    """An empty database beside the test one, dropped afterwards."""
    admin = make_engine(str(make_url(PG_URL).set(database="postgres"))).execution_options(
        isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{RESTORED}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{RESTORED}"'))
    try:
        yield make_url(PG_URL).set(database=RESTORED).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{RESTORED}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="set BRIEFING_TEST_DATABASE_URL to a PostgreSQL database")
@pytest.mark.skipif(
    not (shutil.which("pg_dump") and shutil.which("pg_restore")),
    reason="pg_dump and pg_restore are not on PATH (apt install postgresql-client)",
)
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_pg_dump_restores_into_a_fresh_postgresql_database(
    database_url: str, engine: Engine, backups: Path, scratch_database: str
) -> None:
    seed_everything(engine)
    dump = backups / "briefing.dump"

    result = run("backup", str(dump), BRIEFING_DATABASE_URL=database_url)
    assert result.exit_code == 0, result.output
    assert dump.read_bytes().startswith(b"PGDMP")
    assert stat.S_IMODE(dump.stat().st_mode) == 0o600

    target = make_url(scratch_database).set(drivername="postgresql")
    conninfo = target.render_as_string(hide_password=False)
    completed = subprocess.run(
        ["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={conninfo}", str(dump)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr

    counts = table_counts(database_url)
    assert counts["items"] == 5 and counts["edition_entries"] == 1
    assert table_counts(scratch_database) == counts
    # The sequences came along too: a new row in the restored database gets a fresh id.
    restored_engine = make_engine(scratch_database)
    try:
        with session_scope(restored_engine) as session:
            story = Story(first_published_at=datetime(2026, 3, 11, tzinfo=UTC))
            session.add(story)
            session.flush()
            assert story.id == 2
    finally:
        restored_engine.dispose()
