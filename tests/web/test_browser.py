"""The curation page in a real browser (Debian's chromium driven by Playwright) against the real
app served by uvicorn on 127.0.0.1: an editor signs in, reorders by keyboard and by drag and
drop, removes, restores, edits, writes the note and sends now; the message that reaches a real
SMTP server on loopback carries every change.

Full-page screenshots at 375 and 1280 px are left in var/screenshots/curation-<width>.png."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Locator, Page

from briefing.config.settings import load_settings
from briefing.config.taxonomy import default_taxonomy
from briefing.db.engine import session_scope
from briefing.db.users import add_user
from briefing.pipeline import Context, compose
from briefing.scheduler import run_send_requested
from briefing.web.app import create_app
from tests.conftest import ROOT
from tests.rank.test_stage import LIST, add_item, at
from tests.smtp import Mailbox, smtp_server
from tests.web.live import serve

DAY = date(2026, 3, 10)
PASSWORD = "a long passphrase"
SCREENSHOTS = ROOT / "var" / "screenshots"
TENSIONS = default_taxonomy().topics["community-tensions"]  # a section's heading
# (outlet, headline, summary, topic): five lead the edition, the rest fill two topic sections.
STORIES = (
    ("BBC News", "Small boat arrivals rise in March", "Home Office figures.", "channel-crossings"),
    ("Sky News", "French police patrol the beaches", "New tactics at night.", "channel-crossings"),
    ("The Times", "Asylum appeals backlog doubles", "Tribunal figures.", "asylum-system"),
    ("Daily Mail", "Barracks site to house asylum seekers", "Ministers confirm.", "asylum-system"),
    ("BBC News", "Detention centre conditions worse", "Inspectors report.", "detention"),
    ("Sky News", "Hotel protest in Epping turns violent", "Arrests made.", "community-tensions"),
    ("Kent Online", "Kent reception centre is full again", "Third week.", "community-tensions"),
    ("The Guardian", "Vigil for victims of arson attack", "Hundreds came.", "community-tensions"),
    ("The Guardian", "Family reunion route reopens", "Income needed.", "safe-routes-resettlement"),
)
# Each section's entry ids in page order, and each entry's headline, as the page shows them.
ORDER_JS = """() => Object.fromEntries([...document.querySelectorAll("ol.entries")].map((ol) => [
  document.getElementById(ol.getAttribute("aria-labelledby")).textContent.trim(),
  [...ol.querySelectorAll(":scope > li[data-entry]")].map((li) => Number(li.dataset.entry)),
]))"""
TITLES_JS = """() => Object.fromEntries([...document.querySelectorAll("li[data-entry]")].map(
  (li) => [li.dataset.entry, li.querySelector("a").textContent.trim()]))"""
# The email's sections and their headlines, in document order.
EMAIL_JS = """() => {
  const sections = {};
  let current = null;
  for (const el of document.querySelectorAll("h2, a.headline")) {
    if (el.tagName === "H2") sections[current = el.textContent.trim()] = [];
    else sections[current].push(el.textContent.trim());
  }
  return sections;
}"""
SETTLED_JS = """() => {
  window.settled = false;
  document.addEventListener("htmx:afterSettle", () => { window.settled = true; }, {once: true});
}"""
# Elements drawn past the right edge (off to the left, like the skip link until it has focus,
# they cannot widen the page).
OVERFLOW_JS = """() => ({
  scrollWidth: document.documentElement.scrollWidth,
  innerWidth: window.innerWidth,
  outside: [...document.querySelectorAll("body *")]
    .filter((el) => {
      const box = el.getBoundingClientRect();
      return box.width > 0 && box.right > window.innerWidth + 0.5;
    })
    .map((el) => `${el.tagName.toLowerCase()}#${el.id}: ${el.textContent.trim().slice(0, 30)}`),
})"""


@dataclass
class Site:
    ctx: Context
    url: str
    mailbox: Mailbox


@pytest.fixture
def site(database_url: str) -> Iterator[Site]:
    """A composed edition of nine stories in three sections, an editor, the app on loopback,
    and the mail server the scheduler sends to."""
    with smtp_server() as mailbox:
        settings = load_settings(
            {
                "BRIEFING_DATABASE_URL": database_url,
                "BRIEFING_LIST_ADDRESS": LIST,
                "BRIEFING_FROM_ADDRESS": "briefing@example.org",
                "BRIEFING_SECRET_KEY": "test-secret-key-for-sessions",
                "BRIEFING_SMTP_SECURITY": "none",
                "BRIEFING_SMTP_HOST": "127.0.0.1",
                "BRIEFING_SMTP_PORT": str(mailbox.port),
            }
        )
        ctx = Context(settings)
        for n, (outlet, title, summary, topic) in enumerate(STORIES):
            add_item(ctx.engine, outlet, at(9, 10 + n), title, summary, topic=topic)
        compose(ctx, DAY)
        with session_scope(ctx.engine) as session:
            add_user(session, "ed", PASSWORD, "editor", "ed@example.org")
        with serve(create_app(settings)) as url:
            yield Site(ctx, url, mailbox)
        ctx.close()


def version(page: Page) -> int:
    return int(page.locator("input[name=version]").first.get_attribute("value") or 0)


def saved(page: Page, action: Callable[[], None]) -> None:
    """Do something that changes the edition, then wait until htmx has swapped in the saved
    page and settled it (htmx gives the new elements their old attributes for a moment)."""
    before = version(page)
    page.evaluate(SETTLED_JS)
    action()
    page.wait_for_function(
        "v => window.settled && Number(document.querySelector('input[name=version]').value) > v",
        arg=before,
    )
    assert page.locator("[role=alert]").count() == 0, page.locator("[role=alert]").all_inner_texts()


def entry(page: Page, entry_id: int) -> Locator:
    return page.locator(f"li#entry-{entry_id}")


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context, whose script errors and console errors the test can check."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


def test_an_editor_curates_in_the_browser_and_the_list_gets_every_change(
    page: Page, site: Site
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    def console(message: ConsoleMessage) -> None:
        # The browser asks for /favicon.ico by itself; the site has none.
        if message.type == "error" and not message.location["url"].endswith("/favicon.ico"):
            errors.append(f"{message.text} at {message.location['url']}")

    page.on("console", console)

    page.goto(f"{site.url}/editions/{DAY}")
    assert "/login" in page.url  # signed out: sent to sign in, then back here
    page.get_by_label("User name").fill("ed")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**/editions/{DAY}")
    titles: dict[str, str] = page.evaluate(TITLES_JS)
    order: dict[str, list[int]] = page.evaluate(ORDER_JS)
    top, tensions = order["Top stories"], order[TENSIONS]
    assert len(order) >= 3 and len(top) == 5 and len(tensions) == 3

    # By keyboard: Enter on the second story's "Up", Space on the third's.
    def press_up(entry_id: int, key: str) -> None:
        entry(page, entry_id).get_by_role("button", name="Move up:").focus()
        page.keyboard.press(key)

    saved(page, lambda: press_up(top[1], "Enter"))
    top[0], top[1] = top[1], top[0]
    saved(page, lambda: press_up(tensions[2], "Space"))
    tensions[1], tensions[2] = tensions[2], tensions[1]
    assert page.evaluate(ORDER_JS) == order

    # By drag and drop (after htmx swapped the page twice): the first story below the last,
    # in a window tall enough to show both, as the page must not scroll under a held mouse.
    page.set_viewport_size({"width": 1280, "height": 3000})
    box = entry(page, top[-1]).bounding_box()
    assert box is not None
    saved(
        page,
        lambda: page.drag_and_drop(
            f"li#entry-{top[0]}",
            f"li#entry-{top[-1]}",
            source_position={"x": 4, "y": 20},
            target_position={"x": 4, "y": box["height"] - 20},
            steps=5,
        ),
    )
    top.append(top.pop(0))
    page.set_viewport_size({"width": 1280, "height": 900})
    assert page.evaluate(ORDER_JS) == order

    # Remove with a reason, restore, remove another.
    restored, removed = top[2], tensions[0]

    def remove(entry_id: int, reason: str) -> None:
        entry(page, entry_id).locator("select[name=reason]").select_option(reason)
        entry(page, entry_id).get_by_role("button", name="Remove:").click()

    saved(page, lambda: remove(restored, "duplicate"))
    assert entry(page, restored).get_attribute("class") == "removed"
    assert "Removed (duplicate)" in entry(page, restored).inner_text()
    saved(page, lambda: entry(page, restored).get_by_role("button", name="Restore:").click())
    assert entry(page, restored).get_attribute("class") is None
    saved(page, lambda: remove(removed, "not_relevant"))

    # A new headline and summary, and the editor's note.
    edited = tensions[1]
    old_title = titles[str(edited)]
    old_summary = next(summary for _, title, summary, _ in STORIES if title == old_title)

    def edit() -> None:
        entry(page, edited).get_by_text("Edit headline, summary or lead link").click()
        entry(page, edited).get_by_label("Headline").fill("Kent council asks for help")
        entry(page, edited).get_by_label("Summary").fill("The leader wrote to the minister.")
        entry(page, edited).get_by_role("button", name="Save", exact=True).click()

    saved(page, edit)

    def note() -> None:
        page.get_by_text("Editor's note").click()
        page.get_by_label("Shown at the top of the email").fill("No edition on Good Friday.")
        page.get_by_role("button", name="Save the note").click()

    saved(page, note)
    titles[str(edited)] = "Kent council asks for help"
    assert page.evaluate(TITLES_JS) == titles
    assert page.evaluate(ORDER_JS) == order

    for width in (375, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / f"curation-{width}.png", full_page=True)
        if width == 375:  # on a phone, with every form shown, nothing sticks out
            page.evaluate(
                "() => document.querySelectorAll('details').forEach((d) => d.open = true)"
            )
            layout: dict[str, Any] = page.evaluate(OVERFLOW_JS)
            assert layout["outside"] == [], layout
            assert layout["scrollWidth"] <= layout["innerWidth"]

    saved(page, lambda: page.get_by_role("button", name="Approve and send now").click())
    assert "within a minute" in page.get_by_role("status").inner_text()
    assert errors == []  # no script error, no CSP violation
    run_send_requested(site.ctx)

    assert site.mailbox.recipients == [[LIST]]
    message: EmailMessage = site.mailbox.messages[0]
    html_part, text_part = message.get_body(("html",)), message.get_body(("plain",))
    assert html_part is not None and text_part is not None
    html, text = html_part.get_content(), text_part.get_content()
    expected = {
        section: [titles[str(n)] for n in ids if n != removed] for section, ids in order.items()
    }
    page.set_content(html)
    assert page.evaluate(EMAIL_JS) == expected
    assert text_sections(text) == expected
    for body in (html, text):
        assert titles[str(removed)] not in body
        assert "The leader wrote to the minister." in body
        assert old_title not in body and old_summary not in body
        assert "No edition on Good Friday." in body


def text_sections(text: str) -> dict[str, list[str]]:
    """The plain-text part's "== Section ==" headings and numbered headlines."""
    sections: dict[str, list[str]] = {}
    current: list[str] = []
    for line in text.splitlines():
        if line.startswith("== ") and line.endswith(" =="):
            current = sections.setdefault(line[3:-3], [])
        elif line[:1].isdigit() and ". " in line:
            current.append(line.split(". ", 1)[1])
    return sections
