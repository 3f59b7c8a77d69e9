from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from email import message_from_bytes, policy

import pytest

from briefing.compose.context import (
    AlsoLink,
    Draft,
    DraftEntry,
    DraftSection,
    make_subject,
    one_line,
    segment_flag,
)
from briefing.compose.render import SIZE_BUDGET, render_email
from briefing.deliver.message import build_message

HOSTILE = 'Profits < expectations & </mj-text><mj-raw><script>alert(1)</script></mj-raw> "q"'


def entry(n: int, title: str = "Small boat arrivals rise", summary: str = "") -> DraftEntry:
    return DraftEntry(
        item_id=n,
        title=title,
        url=f"https://www.bbc.co.uk/news/uk-{n:08d}?a=1&b=2",
        outlet="BBC News",
        segment="mixed-middle",
        topics=("channel-crossings",),
        region="uk",
        summary=summary or "Forty words of summary " * 4,
        score=1.0,
        also=(
            AlsoLink("Sky News", f"https://news.sky.com/story/{n}"),
            AlsoLink("The Guardian", f"https://www.theguardian.com/uk-news/{n}"),
        ),
    )


def draft(entries: list[DraftEntry], intro: str = "") -> Draft:
    sections = (
        DraftSection("top-stories", "Top stories", tuple(entries[:5])),
        DraftSection("channel-crossings", "Channel crossings", tuple(entries[5:])),
    )
    return Draft(
        date(2026, 3, 10),
        "draft",
        make_subject(date(2026, 3, 10), entries[0].title),
        intro,
        sections,
    )


def test_feed_text_is_escaped_everywhere() -> None:
    email = render_email(draft([entry(1, HOSTILE, HOSTILE)], intro=HOSTILE), "group@example.org")
    assert "<script>" not in email.html
    assert "&lt;script&gt;" in email.html
    assert HOSTILE in email.text  # plain text keeps the words as they are


def test_sixty_entries_stay_under_the_gmail_clip() -> None:
    email = render_email(draft([entry(n) for n in range(60)]), "group@example.org")
    assert email.html_bytes < SIZE_BUDGET
    assert email.html.count('class="headline"') == 60


def test_no_remote_fonts_or_trackers() -> None:
    html = render_email(draft([entry(1)]), "group@example.org").html
    assert "fonts.googleapis" not in html and "@import" not in html
    assert "<img" not in html


def test_footer_tells_members_how_to_leave() -> None:
    email = render_email(draft([entry(1)]), "migration-news@googlegroups.com")
    assert "migration-news+unsubscribe@googlegroups.com" in email.html
    assert "migration-news+unsubscribe@googlegroups.com" in email.text


def test_subject_has_no_line_breaks() -> None:
    subject = make_subject(date(2026, 3, 10), "Line one\r\nBcc: everyone@example.org")
    assert (
        subject == "Migration news briefing — Tue 10 Mar 2026: Line one Bcc: everyone@example.org"
    )


def test_message_is_multipart_alternative_with_a_stable_id() -> None:
    email = render_email(draft([entry(1)]), "group@example.org")
    now = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)
    raw = build_message(
        date(2026, 3, 10),
        email,
        from_address="briefing@example.org",
        to_address="group@example.org",
        now=now,
    ).as_bytes()
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]
    assert parsed["Message-ID"].startswith("<briefing-2026-03-10-")
    assert parsed["Message-ID"].endswith("@example.org>")
    again = build_message(
        date(2026, 3, 10),
        email,
        from_address="briefing@example.org",
        to_address="group@example.org",
        now=now,
    )
    assert again["Message-ID"] == parsed["Message-ID"]
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))


def test_each_story_shows_its_segment_balance() -> None:
    story = replace(entry(1), balance={"mixed-middle": 3, "right-leaning": 2, "local-regional": 1})
    email = render_email(draft([story]), "group@example.org")
    for body in (email.html, email.text):
        assert "carried by mixed middle 3 · right-leaning 2 · local 1" in body


@pytest.mark.parametrize(
    ("balance", "warning"),
    [
        ({"right-leaning": 3}, "Only in right-leaning outlets so far"),
        ({"specialist": 1, "progressive": 2}, "Only in specialist and progressive outlets so far"),
    ],
)
def test_one_sided_coverage_is_flagged(balance: dict[str, int], warning: str) -> None:
    flagged = replace(entry(1), balance=balance, flag=segment_flag(balance))
    email = render_email(draft([flagged, entry(2)]), "group@example.org")
    assert email.html.count(warning) == 1 and email.text.count(warning) == 1


def test_flags_need_every_outlet_on_one_side() -> None:
    assert segment_flag({"right-leaning": 2}) == "right-leaning-only"
    assert segment_flag({"progressive": 1}) == "not-in-wider-press"
    assert segment_flag({"right-leaning": 2, "mixed-middle": 1}) is None
    assert segment_flag({"right-leaning": 2, "unknown": 1}) is None  # unknown could be any
    assert segment_flag({"specialist": 1, "right-leaning": 1}) is None
    assert segment_flag({}) is None


def test_updates_paywalls_and_the_editors_note_are_marked() -> None:
    update = replace(entry(1, "Harmondsworth report"), update=True, paywalled=True)
    update = replace(update, also=(AlsoLink("The Times", "https://www.thetimes.com/x", True),))
    email = render_email(draft([update], intro="No edition on Friday."), "group@example.org")
    for body in (email.html, email.text):
        assert "Update: Harmondsworth report" in body
        assert "(mixed middle), paywall" in body and "The Times</a> (paywall)" in email.html
        assert "Editor's note:" in body or "Editor&#39;s note:" in body


def test_the_preheader_previews_the_headlines_after_the_first() -> None:
    titles = ["Lead story", "Second story", "Third story", "Fourth story", "Fifth story"]
    email = render_email(draft([entry(n, t) for n, t in enumerate(titles)]), "group@example.org")
    assert "Also today: Second story; Third story; Fourth story" in email.html
    assert "Fifth story; " not in email.html


def test_a_sixty_entry_edition_with_long_coverage_stays_under_the_budget() -> None:
    """The worst case the budget is for: long headlines and summaries, five other outlets."""
    heavy = replace(
        entry(0, "A long headline about the asylum system " * 3, "A long summary sentence. " * 12),
        balance={"mixed-middle": 2, "right-leaning": 2, "progressive": 1, "local-regional": 1},
        also=tuple(
            AlsoLink(f"Outlet {k}", f"https://www.example-outlet-{k}.co.uk/news/2026/03/10/x")
            for k in range(5)
        ),
    )
    email = render_email(draft([replace(heavy, item_id=n) for n in range(60)]), "g@example.org")
    assert email.html_bytes < SIZE_BUDGET


def test_summaries_are_cut_to_whole_sentences_or_words() -> None:
    short = "Three people died. More than 60 were rescued."
    assert one_line(short) == short
    long = "First sentence here. " + "Second sentence is much longer than the first " * 8 + "."
    assert one_line(long) == "First sentence here."
    unbroken = "word " * 100
    cut = one_line(unbroken)
    assert cut.endswith("…") and len(cut) <= 221 and "  " not in cut
