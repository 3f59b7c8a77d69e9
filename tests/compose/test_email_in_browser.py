"""The rendered email in a real browser (Debian's chromium driven by Playwright): it fits a
320px and a 600px viewport, in light and dark colour schemes, and meets accessibility basics.

Full-page screenshots are left in var/screenshots/ for a person to look at."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from functools import cache
from typing import Any, Literal

import pytest
from playwright.sync_api import Browser, Page, Request

from briefing.compose.context import AlsoLink, Draft, DraftEntry, DraftSection, make_subject
from briefing.compose.render import render_email
from tests.conftest import ROOT

Scheme = Literal["light", "dark"]

SIZES = (3, 24)  # entries in an edition
WIDTHS = (320, 600)  # a small phone and the email's own width
SCREENSHOTS = ROOT / "var" / "screenshots"
EDITION = date(2026, 3, 10)
LONG_WORD = (
    "https://www.gov.uk/government/publications/immigration-rules-statement-of-changes-"
    "hc-1333-11-march-2026/statement-of-changes-to-the-immigration-rules-hc-1333"
)
OUTLETS = (
    ("BBC News", "mixed-middle"),
    ("www.southwalesargusandmonmouthshirebeacon.co.uk", "unknown"),  # unknown: a domain
    ("The Scottish Daily Express and Sunday Express Regional Online Edition", "right-leaning"),
    ("Free Movement", "specialist"),
)
HEADLINES = (
    "Home Office confirms the offshore processing scheme will restart in the spring despite "
    "the Supreme Court ruling and opposition from all three devolved governments",
    f"Statement of changes published: {LONG_WORD}",
    "Small boat arrivals rise",
    "Kent-council-leader-says-reception-centre-capacity-has-run-out-for-the-third-week",
)
SECTIONS = (
    ("top-stories", "Top stories"),
    ("channel-crossings", "Channel crossings"),
    ("asylum-system", "Asylum system"),
    ("europe", "Europe"),
)
# Text the email must keep readable: its selector, and the kind of text for a failure message.
TEXT = {
    "h1": "title",
    "h2": "section heading",
    "a.headline": "headline link",
    ".entry": "body text",
    ".meta": "meta text",
    ".also": "also text",
    ".also a": "also link",
    ".note": "intro note",
    ".footer": "footer text",
    ".footer a": "footer link",
}
# Every element drawn outside the viewport horizontally (hidden ones have an empty box).
OUTSIDE_JS = """() => ({
  scrollWidth: document.documentElement.scrollWidth,
  innerWidth: window.innerWidth,
  outside: [...document.querySelectorAll("body *")]
    .filter((el) => {
      const box = el.getBoundingClientRect();
      return box.width > 0 && (box.left < 0 || box.right > window.innerWidth + 0.5);
    })
    .map((el) => `${el.tagName.toLowerCase()}.${el.className}: ${el.textContent.slice(0, 40)}`),
})"""
# Each link's accessible text: aria-label, else its rendered text, else its images' alt text.
LINK_TEXT_JS = """() => [...document.querySelectorAll("a[href]")].map((a) =>
  (a.getAttribute("aria-label") || a.innerText ||
   [...a.querySelectorAll("img[alt]")].map((img) => img.alt).join(" ")).trim())"""
# WCAG contrast of each selector's worst element against its effective background: the first
# non-transparent background up the tree, white if none.
CONTRAST_JS = """(selectors) => {
  const rgba = (css) => {
    const [r, g, b, a = 1] = css.match(/[\\d.]+/g).map(Number);
    return [r, g, b, a];
  };
  const background = (el) => {
    for (; el; el = el.parentElement) {
      const colour = rgba(getComputedStyle(el).backgroundColor);
      if (colour[3] > 0) return colour;
    }
    return [255, 255, 255, 1];
  };
  const over = (top, bottom) =>
    top.slice(0, 3).map((c, i) => c * top[3] + bottom[i] * (1 - top[3]));
  const luminance = (rgb) => {
    const [r, g, b] = rgb.map((c) => c / 255).map((c) =>
      c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  return selectors.map((selector) => {
    const measured = [...document.querySelectorAll(selector)].map((el) => {
      const back = over(background(el), [255, 255, 255, 1]);
      const fore = over(rgba(getComputedStyle(el).color), back);
      const [light, dark] = [luminance(fore), luminance(back)].sort((x, y) => y - x);
      return {
        selector, ratio: (light + 0.05) / (dark + 0.05), text: el.textContent.trim().slice(0, 40),
        colour: fore.map(Math.round), background: back.map(Math.round),
      };
    });
    measured.sort((x, y) => x.ratio - y.ratio);
    return {count: measured.length, ...(measured[0] ?? {selector, ratio: 0})};
  });
}"""


def entry(n: int) -> DraftEntry:
    outlet, segment = OUTLETS[n % len(OUTLETS)]
    return DraftEntry(
        item_id=n,
        title=HEADLINES[n % len(HEADLINES)],
        url=f"https://example.org/news/{n}/{LONG_WORD}",
        outlet=outlet,
        segment=segment,
        topics=("channel-crossings",),
        region="uk",
        summary=f"The rules change on 11 March; the text is at {LONG_WORD}. " * (1 + n % 2),
        score=1.0,
        also=tuple(
            AlsoLink(name, f"https://example.org/also/{n}/{k}")
            for k, (name, _) in enumerate(OUTLETS[: n % 4])
        ),
    )


def edition(size: int) -> Draft:
    """An edition of `size` entries over up to four sections, with long words everywhere."""
    entries = [entry(n) for n in range(size)]
    per_section = -(-size // len(SECTIONS))
    sections = tuple(
        DraftSection(slug, title, tuple(entries[k * per_section : (k + 1) * per_section]))
        for k, (slug, title) in enumerate(SECTIONS)
        if entries[k * per_section :]
    )
    return Draft(
        EDITION,
        "draft",
        make_subject(EDITION, entries[0].title),
        f"Good morning. A note from the curator with a long address: {LONG_WORD}",
        sections,
    )


@cache
def email_html(size: int) -> str:
    return render_email(edition(size), "migration-news@googlegroups.com").html


@pytest.fixture(scope="module")
def page(browser: Browser) -> Iterator[Page]:
    """One page for the module: `show` sets everything a test depends on."""
    context = browser.new_context()
    yield context.new_page()
    context.close()


def show(page: Page, size: int, width: int, scheme: Scheme = "light") -> None:
    page.emulate_media(color_scheme=scheme)
    page.set_viewport_size({"width": width, "height": 800})
    page.set_content(email_html(size))


@pytest.fixture(scope="module")
def contrast(page: Page) -> Callable[[Scheme], dict[str, dict[str, Any]]]:
    """The worst contrast of each kind of text, measured once per colour scheme."""

    @cache
    def measure(scheme: Scheme) -> dict[str, dict[str, Any]]:
        show(page, max(SIZES), 600, scheme)
        return {worst["selector"]: worst for worst in page.evaluate(CONTRAST_JS, list(TEXT))}

    return measure


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("size", SIZES)
def test_email_fits_the_viewport(page: Page, size: int, width: int, scheme: Scheme) -> None:
    requests: list[str] = []

    def record(request: Request) -> None:
        requests.append(request.url)

    page.on("request", record)
    show(page, size, width, scheme)
    page.remove_listener("request", record)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    suffix = "" if scheme == "light" else "-dark"
    page.screenshot(path=SCREENSHOTS / f"email-{size}-{width}{suffix}.png", full_page=True)
    layout: dict[str, Any] = page.evaluate(OUTSIDE_JS)
    assert layout["outside"] == []
    assert layout["scrollWidth"] <= layout["innerWidth"] == width
    assert requests == []  # nothing remote: no fonts, images or trackers


@pytest.mark.parametrize("size", SIZES)
def test_email_structure_is_accessible(page: Page, size: int) -> None:
    show(page, size, 600)
    draft = edition(size)
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.locator("h1").all_inner_texts() == ["Migration news briefing"]
    assert page.locator("h2").all_inner_texts() == [s.title for s in draft.sections]
    assert page.locator("h3, h4, h5, h6").count() == 0
    link_texts: list[str] = page.evaluate(LINK_TEXT_JS)
    assert len(link_texts) == len(draft.entries) + sum(len(e.also) for e in draft.entries) + 1
    assert all(link_texts)


@pytest.mark.parametrize("selector", list(TEXT), ids=[k.replace(" ", "-") for k in TEXT.values()])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_text_contrast_is_at_least_4_5(
    contrast: Callable[[Scheme], dict[str, dict[str, Any]]], scheme: Scheme, selector: str
) -> None:
    worst = contrast(scheme)[selector]
    assert worst["count"] > 0  # the edition has this kind of text to measure
    assert worst["ratio"] >= 4.5, worst
