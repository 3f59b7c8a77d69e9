"""The offline demo end to end: sample site on loopback -> outbox -> preview page."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from email import message_from_bytes, policy
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from briefing.cli import cli
from briefing.config.settings import load_settings
from briefing.demo.run import (
    DEMO_DAY,
    DEMO_PASSWORD,
    DEMO_USER,
    DemoResult,
    demo_settings,
    run_demo,
)
from briefing.demo.site import RouteToSite, SiteServer
from briefing.pipeline import Context, compose, fetch
from tests.conftest import FIXTURES, PG_URL

EXPECTED = json.loads((FIXTURES / "demo_expected.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    var = tmp_path_factory.mktemp("demo") / "var"
    return run_demo(load_settings({"BRIEFING_VAR_DIR": str(var)}), say=lambda _: None)


def test_outbox_holds_html_text_and_a_real_message(demo: DemoResult) -> None:
    files = demo.outbox
    assert files.html.read_text().startswith("<!doctype html>")
    text = files.text.read_text()
    assert "MIGRATION NEWS BRIEFING" in text and "Tue 10 Mar 2026" in text
    message = message_from_bytes(files.eml.read_bytes(), policy=policy.default)
    assert message["Subject"].startswith("Migration news briefing — Tue 10 Mar 2026: ")
    assert message["To"] == "migration-briefing-demo@example.org"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]


def test_every_feed_was_read(demo: DemoResult) -> None:
    outcomes = demo.fetched.ingest.outcomes
    feeds = {item["feed"] for item in EXPECTED["items"]}
    assert {o.feed_url for o in outcomes} == feeds
    assert all(o.status == "ok" for o in outcomes), [o for o in outcomes if o.error]
    assert demo.fetched.ingest.new_items == len({i["url"] for i in EXPECTED["items"]})


def test_the_edition_holds_migration_stories_of_its_window(demo: DemoResult) -> None:
    html = demo.outbox.html.read_text()
    expected_in = [i for i in EXPECTED["items"] if i["relevant"] and i["in_window"]]
    expected_stories = {i["story"] for i in expected_in}
    # every expected story appears; a few stray items may too (see the README for precision)
    assert len(expected_stories) <= demo.entries <= 2 * len(expected_stories)
    out_of_window = [i for i in EXPECTED["items"] if not i["in_window"]]
    for item in out_of_window:
        assert f'href="{item["url"]}"' not in html.replace("&amp;", "&"), item["title"]
    assert demo.html_bytes < 100_000


def test_rerunning_is_safe_and_gives_the_same_email(demo: DemoResult, tmp_path: Path) -> None:
    first = demo.outbox.html.read_text()
    again = run_demo(
        demo.settings.model_copy(update={"var_dir": demo.settings.var_dir}), say=lambda _: None
    )
    assert again.outbox.html.read_text() == first
    assert again.fetched.ingest.new_items == demo.fetched.ingest.new_items


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="BRIEFING_TEST_DATABASE_URL is not set")
def test_the_same_edition_on_postgresql(demo: DemoResult, postgres_migrated: str) -> None:
    settings = demo_settings(load_settings({})).model_copy(update={"database_url": PG_URL})
    with SiteServer() as site:
        ctx = Context(settings, transport=RouteToSite(site.url))
        try:
            fetch(ctx, everything=True)
            _rank, _draft, email = compose(ctx, DEMO_DAY)
        finally:
            ctx.close()
    try:
        assert email.html == demo.outbox.html.read_text()
    finally:
        from sqlalchemy import text

        from briefing.db.engine import make_engine
        from briefing.db.models import Base

        engine = make_engine(PG_URL)
        with engine.begin() as conn:
            tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        engine.dispose()


def test_demo_command_without_serving(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["demo", "--no-serve"], env={"BRIEFING_VAR_DIR": str(tmp_path / "var")}
    )
    assert result.exit_code == 0, result.output
    assert "Labelling with the trained model m" in result.output
    assert str(tmp_path / "var" / "outbox" / "briefing-2026-03-10.eml") in result.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_demo_serves_the_preview_until_interrupted(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "BRIEFING_VAR_DIR": str(tmp_path / "var")}
    process = subprocess.Popen(
        [sys.executable, "-m", "briefing", "demo", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        page = None
        while time.monotonic() < deadline and page is None:
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/", follow_redirects=True, timeout=2)
            except httpx.TransportError:
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                time.sleep(0.5)
        assert page is not None and page.status_code == 200
        assert "Sign in" in page.text  # the curation page is behind a login
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as browser:
            form = browser.get("/login")
            token = re.search(r'name="csrf" value="([^"]+)"', form.text)
            assert token is not None
            signed_in = browser.post(
                "/login",
                data={"username": DEMO_USER, "password": DEMO_PASSWORD, "csrf": token[1]},
                follow_redirects=True,
            )
        assert "Edition of Tue 10 Mar 2026" in signed_in.text
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) in (0, 1, -signal.SIGINT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()
