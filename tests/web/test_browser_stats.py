"""The statistics page in a real browser (Debian's chromium driven by Playwright) against the
real app served by uvicorn on 127.0.0.1, over the generated archive of tests/archive/fixture.py:
every point of every line chart and every bar shows the same figure as its table cell; the
shading of fetch gaps matches the marked cells; nothing is wider than a 320px phone; the form
works from the keyboard alone.

Full-page screenshots are left in var/screenshots/: stats-320.png, stats-1280.png,
archive-320.png and terms-320.png."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page

from briefing.config.settings import load_settings
from briefing.db.engine import make_engine, session_scope
from briefing.db.users import add_user
from briefing.web.app import create_app
from tests.archive.fixture import DAYS, FIRST_DAY, build
from tests.conftest import ROOT
from tests.web.live import serve

PASSWORD = "a long passphrase"
SCREENSHOTS = ROOT / "var" / "screenshots"
RANGE = f"since={FIRST_DAY}&until={FIRST_DAY + timedelta(days=DAYS - 1)}"
# Each point of a chart: (series, x, value) as the SVG carries them; each bar; each shaded band.
POINTS_JS = """(id) => [...document.getElementById(`${id}-title`).closest("svg")
  .querySelectorAll("[data-series]")]
  .map((el) => [el.dataset.series, el.dataset.x, el.dataset.value])"""
BARS_JS = """(id) => [...document.getElementById(`${id}-title`).closest("svg")
  .querySelectorAll("rect[data-label]")].map((el) => [el.dataset.label, el.dataset.value])"""
BANDS_JS = """(id) => [...document.getElementById(`${id}-title`).closest("svg")
  .querySelectorAll("[data-marked]")].map((el) => el.dataset.marked)"""
# A table as a screen reader reads it: row header + column header -> the cell's figure.
TABLE_JS = """(id) => {
  const table = document.getElementById(id);
  const columns = [...table.tHead.rows[0].cells].map((c) => c.textContent.trim());
  const cells = {};
  const gaps = [];
  for (const row of table.tBodies[0].rows) {
    const name = row.cells[0].textContent.trim();
    [...row.cells].slice(1).forEach((cell, i) => {
      const figure = cell.querySelector(".value") || cell;
      cells[`${name} | ${columns[i + 1]}`] = figure.textContent.trim();
      if (cell.classList.contains("gap")) gaps.push(columns[i + 1]);
    });
  }
  return {columns, cells, gaps};
}"""
# Wider than the window: only what scrolls inside its own box (the wide tables) may be.
OVERFLOW_JS = """() => ({
  scrollWidth: document.documentElement.scrollWidth,
  innerWidth: window.innerWidth,
  outside: [...document.querySelectorAll("body *")]
    .filter((el) => {
      const box = el.getBoundingClientRect();
      return box.width > 0 && box.right > window.innerWidth + 0.5 && !el.closest(".table-wrap");
    })
    .map((el) => `${el.tagName.toLowerCase()}#${el.id}: ${el.textContent.trim().slice(0, 30)}`),
  unreachable: [...document.querySelectorAll(".table-wrap")]
    .filter((el) => el.scrollWidth > el.clientWidth && el.tabIndex !== 0).length,
})"""


@pytest.fixture
def site(database_url: str) -> Iterator[str]:
    """The generated archive, a viewer, and the app on loopback."""
    engine = make_engine(database_url)
    build(engine)
    with session_scope(engine) as session:
        add_user(session, "vi", PASSWORD, "viewer")
    engine.dispose()
    settings = load_settings(
        {"BRIEFING_DATABASE_URL": database_url, "BRIEFING_SECRET_KEY": "test-secret-key"}
    )
    app = create_app(settings)
    with serve(app) as url:
        yield url
    app.state.context.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


def agree(page: Page, chart: str, table: str) -> int:
    """Every point of the chart has the figure of its table cell; returns how many."""
    points: list[list[str]] = page.evaluate(POINTS_JS, chart)
    shown: dict[str, Any] = page.evaluate(TABLE_JS, table)
    assert points, f"no points in {chart}"
    for series, x, value in points:
        assert shown["cells"][f"{series} | {x}"] == value, (series, x)
    return len(points)


def test_the_stats_page_in_a_browser(page: Page, site: str) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    def console(message: ConsoleMessage) -> None:
        if message.type == "error" and not message.location["url"].endswith("/favicon.ico"):
            errors.append(f"{message.text} at {message.location['url']}")

    page.on("console", console)
    page.goto(f"{site}/stats")
    assert "/login" in page.url
    page.get_by_label("User name").fill("vi")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/stats")

    # By outlet, per week: two outlets' feeds failed on a day each.
    page.goto(f"{site}/stats?{RANGE}&by=outlet&period=week")
    assert agree(page, "trend-chart", "trend-table") == 5 * 13  # five lines, thirteen weeks
    table = page.evaluate(TABLE_JS, "trend-table")
    bands = page.evaluate(BANDS_JS, "trend-chart")
    assert bands and set(bands) == set(table["gaps"])
    assert page.locator("#gaps-note").get_by_text("Shaded periods").is_visible()
    bars: list[list[str]] = page.evaluate(BARS_JS, "totals-chart")
    totals = page.evaluate(TABLE_JS, "totals-table")
    share = next(c for c in totals["columns"] if c.startswith("Share of"))
    assert len(bars) == 5
    for label, value in bars:
        assert totals["cells"][f"{label} | {share}"] == value, label
    assert agree(page, "terms-chart", "terms-table") == 2 * 13  # the fixture's two terms

    # A topic's share of all items fetched, by segment, per month.
    page.goto(f"{site}/stats?{RANGE}&by=segment&period=month&topic=detention&measure=share")
    agree(page, "trend-chart", "trend-table")
    assert page.get_by_role(
        "heading", name="Share of Immigration detention items by segment"
    ).is_visible()
    totals = page.evaluate(TABLE_JS, "totals-table")
    for label, value in page.evaluate(BARS_JS, "totals-chart"):
        assert totals["cells"][f"{label} | Share of Immigration detention items"] == value

    # On a phone nothing but the wide tables (which scroll in their own box) is wider.
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(f"{site}/stats?{RANGE}&by=outlet&period=week")
    for width in (1280, 320):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=SCREENSHOTS / f"stats-{width}.png", full_page=True)
    for name, path in (
        ("stats", f"/stats?{RANGE}&by=outlet&period=day"),
        ("archive", "/archive?q=calais&topic=detention"),
        ("terms", "/stats/terms"),
    ):
        page.goto(site + path)
        layout: dict[str, Any] = page.evaluate(OVERFLOW_JS)
        assert layout["outside"] == [] and layout["unreachable"] == 0, (name, layout)
        assert layout["scrollWidth"] <= layout["innerWidth"], (name, layout)
        if name != "stats":
            page.screenshot(path=SCREENSHOTS / f"{name}-320.png", full_page=True)

    # By keyboard alone: Tab to "Split by", choose Segment, Tab to the button, Enter.
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{site}/stats?{RANGE}&by=topic&period=week")
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "f-by":
            break
    else:
        pytest.fail("Tab never reached the Split by field")
    page.keyboard.press("ArrowDown")  # Topic -> Segment
    assert page.locator("#f-by").input_value() == "segment"
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "Show the figures":
            break
    else:
        pytest.fail("Tab never reached the button")
    page.keyboard.press("Enter")
    page.wait_for_url("**by=segment**")
    asked = {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}
    since, until = RANGE.split("&")
    assert asked["by"] == "segment" and asked["period"] == "week"
    assert f"since={asked['since']}" == since and f"until={asked['until']}" == until
    assert page.get_by_role("heading", name="Relevant items by segment, per week").is_visible()
    agree(page, "trend-chart", "trend-table")
    assert errors == []  # no script error, no CSP violation
