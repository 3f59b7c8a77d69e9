"""Adding a story by its address in the browser: the article is served by the test's own
loopback server, reachable only because the test-only setting allows private addresses."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from playwright.sync_api import Browser, Page

from briefing.config.settings import load_settings
from briefing.db.engine import session_scope
from briefing.db.users import add_user
from briefing.pipeline import Context, compose
from briefing.web.app import create_app
from tests.loopback import Reply, loopback_server
from tests.rank.test_stage import HARMONDSWORTH, LIST, add_item, at
from tests.web.live import serve

DAY = date(2026, 3, 10)
PASSWORD = "a long passphrase"
ARTICLE = (
    "<html><head><title>Asylum appeals backlog hits a record, tribunal figures show</title>"
    '<meta name="description" content="Appeals now wait a year on average."></head><body>'
    "<article><h1>Asylum appeals backlog hits a record</h1>"
    + "<p>The number of asylum appeals waiting for a tribunal hearing rose again.</p>" * 15
    + "</article></body></html>"
).encode()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


def test_an_editor_adds_a_story_by_pasting_its_address(
    page: Page, database_url: str, tmp_path: object
) -> None:
    settings = load_settings(
        {
            "BRIEFING_DATABASE_URL": database_url,
            "BRIEFING_LIST_ADDRESS": LIST,
            "BRIEFING_SECRET_KEY": "test-secret-key-for-sessions",
            "BRIEFING_FETCH_ALLOW_PRIVATE": "true",  # the article is on 127.0.0.1
        }
    )
    ctx = Context(settings)
    add_item(ctx.engine, "BBC News", at(9, 20), *HARMONDSWORTH)
    compose(ctx, DAY)
    with session_scope(ctx.engine) as session:
        add_user(session, "ed", PASSWORD, "editor")
    with loopback_server() as site, serve(create_app(settings)) as url:
        article = site.add("/news/appeals", Reply(200, ARTICLE, {"Content-Type": "text/html"}))
        page.goto(f"{url}/login")
        page.get_by_label("User name").fill("ed")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"**/editions/{DAY}")

        page.get_by_text("Add a story by its address").click()
        page.get_by_label("Address of the article").fill(article)
        page.locator("#add-section").select_option("asylum-system")
        page.get_by_role("button", name="Add the story").click()
        status = page.get_by_role("status")
        status.wait_for()
        assert "Added" in status.inner_text()
        assert page.get_by_text("Asylum appeals backlog hits a record").first.is_visible()
        frame = page.frame_locator("iframe[title='Email preview']")
        in_email = frame.get_by_text("Asylum appeals backlog hits a record").first
        in_email.wait_for(state="attached", timeout=10_000)  # the frame reloads after a change
    ctx.close()
