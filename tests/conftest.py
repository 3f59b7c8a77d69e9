"""Shared fixtures: a real, migrated database per test, on SQLite and (when
BRIEFING_TEST_DATABASE_URL is set) on PostgreSQL too; Debian's chromium for browser tests."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from briefing.db.engine import make_engine
from briefing.db.migrate import upgrade
from briefing.db.models import Base

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
PG_URL = os.environ.get("BRIEFING_TEST_DATABASE_URL", "")
BACKENDS = (
    ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)] if PG_URL else ["sqlite"]
)
CHROMIUM = Path("/usr/bin/chromium")  # Debian's; Playwright's own browsers are never downloaded


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's briefing.toml or BRIEFING_* variables by accident."""
    for key in list(os.environ):
        if key.startswith("BRIEFING_") and key != "BRIEFING_TEST_DATABASE_URL":
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "briefing.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_migrated() -> str:
    """The test database, created if missing, emptied and migrated once per run."""
    url = make_url(PG_URL)
    admin = make_engine(str(url.set(database="postgres"))).execution_options(
        isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        exists = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}
        ).scalar()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()
    engine = make_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    upgrade(PG_URL)
    return PG_URL


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database: a copy of a template file, or the PostgreSQL test
    database emptied after each test."""
    if request.param == "sqlite":
        path = tmp_path / "db" / "briefing.db"
        path.parent.mkdir()
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    url = request.getfixturevalue("postgres_migrated")
    _empty(url)  # also before: a test that failed half-way must not leak rows into the next
    yield url
    _empty(url)


def _empty(url: str) -> None:
    engine = make_engine(url)
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless chromium for the whole run; the tests that use it skip without it."""
    if not CHROMIUM.exists():
        pytest.skip(f"no browser: {CHROMIUM} is missing (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield browser
        browser.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses the browser is marked `browser`, so the run can tell it passed, and
    runs last: while Playwright's sync API is open it marks an asyncio loop as running in
    this thread, and asyncio.run() in any later test would fail."""
    browser = [item for item in items if "browser" in getattr(item, "fixturenames", ())]
    for item in browser:
        item.add_marker(pytest.mark.browser)
    items[:] = [item for item in items if item not in browser] + browser


# What CI can require (variable set to 1): which passed test proves it, and what to fix.
REQUIREMENTS: dict[str, tuple[Callable[[pytest.TestReport], bool], str]] = {
    "BRIEFING_REQUIRE_POSTGRES": (
        lambda report: "postgresql" in report.nodeid,
        "no PostgreSQL test passed: set BRIEFING_TEST_DATABASE_URL to a reachable database.",
    ),
    "BRIEFING_REQUIRE_BROWSER": (
        lambda report: "browser" in report.keywords,
        f"no browser test passed: install Debian's chromium ({CHROMIUM}).",
    ),
}


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """CI asks for PostgreSQL and the browser: a run where none of their tests passed fails."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    passed = reporter.stats.get("passed", []) if reporter else []
    for variable, (proves, fix) in REQUIREMENTS.items():
        if os.environ.get(variable) == "1" and not any(proves(report) for report in passed):
            if reporter:
                reporter.ensure_newline()
                reporter.write_line(f"{variable}=1 but {fix}", red=True)
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
