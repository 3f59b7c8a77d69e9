"""Editions built from a real database: windows, repeats, the editor's changes, the size budget."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select

from briefing.cli import cli
from briefing.compose.stage import run_compose
from briefing.config.settings import load_settings
from briefing.config.sources import load_sources
from briefing.config.taxonomy import default_taxonomy
from briefing.db.editions import SIZE_REASON, find_edition
from briefing.db.engine import session_scope
from briefing.db.models import Edition, EditionStatus, Item, ItemLabel, ItemTopic, Outlet
from briefing.db.outlets import sync_sources
from briefing.pipeline import Context, compose
from briefing.resources import data_path

LIST = "briefing@example.org"
MON, TUE = date(2026, 3, 9), date(2026, 3, 10)
OUTLETS = {  # name -> segment
    "BBC News": "mixed-middle",
    "The Guardian": "progressive",
    "Sky News": "mixed-middle",
    "Daily Mail": "right-leaning",
    "Kent Online": "local-regional",
    "The Times": "mixed-middle",
}
HARMONDSWORTH = (
    "Immigration removal centre run-down and unsafe, inspectors say",
    "Inspectors found detainees at Harmondsworth immigration removal centre held for longer "
    "in worse conditions than at the last inspection.",
)


@pytest.fixture
def ctx(database_url: str) -> Iterator[Context]:
    settings = load_settings({"BRIEFING_DATABASE_URL": database_url, "BRIEFING_LIST_ADDRESS": LIST})
    ctx = Context(settings)
    yield ctx
    ctx.close()


def add_item(
    engine: Engine,
    outlet: str,
    when: datetime,
    title: str,
    summary: str,
    topic: str = "detention",
    relevance: float = 0.9,
) -> int:
    with session_scope(engine) as session:
        row = session.scalar(select(Outlet).where(Outlet.name == outlet))
        if row is None:
            slug = outlet.lower().replace(" ", "-")
            row = Outlet(slug=slug, name=outlet, segment=OUTLETS[outlet], domains=[f"{slug}.uk"])
            row.paywalled = outlet == "The Times"
            session.add(row)
        url = f"https://{row.slug}.uk/{hashlib.sha256((title + outlet).encode()).hexdigest()[:10]}"
        item = Item(
            outlet=row,
            publisher_domain=f"{row.slug}.uk",
            url=url,
            canonical_url=url,
            url_hash=hashlib.sha256(url.encode()).hexdigest(),
            title=title,
            summary=summary,
            published_at=when,
            content_hash="x",
        )
        item.label = ItemLabel(
            model_version="test",
            relevant=True,
            relevance=relevance,
            region="uk",
            segment=OUTLETS[outlet],
            topics=[ItemTopic(topic=topic, score=0.9)],
        )
        session.add(item)
        session.flush()
        return item.id


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 3, day, hour, 0, tzinfo=UTC)


def mark_sent(engine: Engine, day: date) -> None:
    with session_scope(engine) as session:
        edition = find_edition(session, day, LIST)
        edition.status = EditionStatus.SENT


def entry_titles(ctx: Context, day: date) -> dict[str, bool]:
    """Headline -> whether it is marked as an update, for the entries still in the edition."""
    with session_scope(ctx.engine, write=False) as session:
        edition = find_edition(session, day, LIST)
        return {e.item.title: e.is_update for e in edition.entries if not e.removed}


def test_a_story_already_sent_comes_back_only_as_a_real_update(ctx: Context) -> None:
    engine = ctx.engine
    add_item(engine, "BBC News", at(8, 20), *HARMONDSWORTH)
    compose(ctx, MON)
    assert entry_titles(ctx, MON) == {HARMONDSWORTH[0]: False}
    mark_sent(engine, MON)

    # One more outlet the next morning: not enough to send the story again.
    add_item(engine, "The Guardian", at(9, 9), *HARMONDSWORTH)
    rank, _draft, _email = compose(ctx, TUE)
    assert entry_titles(ctx, TUE) == {} and rank.repeats_left_out == 1

    # Three more: it is back, marked as an update, led by one of the new reports.
    for n, outlet in enumerate(["Sky News", "Daily Mail", "Kent Online"]):
        add_item(engine, outlet, at(9, 12 + n), *HARMONDSWORTH)
    _rank, draft, email = compose(ctx, TUE)
    (entry,) = draft.entries
    assert entry.update and entry.outlet != "BBC News"
    assert f"Update: {HARMONDSWORTH[0]}" in email.text


def test_an_unsent_draft_does_not_hold_its_stories_back(ctx: Context) -> None:
    add_item(ctx.engine, "BBC News", at(8, 20), *HARMONDSWORTH)
    compose(ctx, MON)  # composed but never sent
    add_item(ctx.engine, "The Guardian", at(9, 9), *HARMONDSWORTH)
    compose(ctx, TUE)
    assert list(entry_titles(ctx, TUE).values()) == [False]


def test_the_window_runs_on_from_the_previous_editions_cutoff(ctx: Context) -> None:
    compose(ctx, MON, as_of=datetime(2026, 3, 9, 7, 15, tzinfo=UTC))
    compose(ctx, TUE)
    with session_scope(ctx.engine, write=False) as session:
        tuesday = find_edition(session, TUE, LIST)
        assert tuesday.window_start == datetime(2026, 3, 9, 7, 15, tzinfo=UTC)
        assert tuesday.window_end == datetime(2026, 3, 10, 6, 30, tzinfo=UTC)


def test_without_a_previous_edition_monday_covers_the_weekend(ctx: Context) -> None:
    compose(ctx, MON)
    with session_scope(ctx.engine, write=False) as session:
        monday = find_edition(session, MON, LIST)
        assert monday.window_start == datetime(2026, 3, 6, 6, 30, tzinfo=UTC)


def test_rebuilding_keeps_the_editors_changes_when_the_lead_changes(ctx: Context) -> None:
    engine = ctx.engine
    add_item(engine, "Daily Mail", at(9, 20), *HARMONDSWORTH)
    other = ("Channel crossings: 300 people arrive on a calm day", "Border Force boats busy.")
    add_item(engine, "Sky News", at(9, 21), *other, topic="channel-crossings")
    compose(ctx, TUE)
    with session_scope(engine) as session:
        edition = find_edition(session, TUE, LIST)
        by_title = {e.item.title: e for e in edition.entries}
        by_title[HARMONDSWORTH[0]].title_override = "Harmondsworth: inspectors' damning report"
        by_title[HARMONDSWORTH[0]].editor_section = "asylum-system"
        by_title[other[0]].removed, by_title[other[0]].removed_reason = True, "not_relevant"

    # A BBC report joins the story and becomes its lead (the Mail is right-leaning).
    add_item(engine, "BBC News", at(9, 22), *HARMONDSWORTH)
    _rank, draft, _email = compose(ctx, TUE)
    (entry,) = draft.entries  # the removed story stays removed
    assert entry.outlet == "BBC News"
    assert entry.title == "Harmondsworth: inspectors' damning report"
    assert [s.slug for s in draft.sections] == ["asylum-system"]


def test_the_lead_avoids_a_paywall_when_a_free_copy_exists(ctx: Context) -> None:
    add_item(ctx.engine, "The Times", at(9, 20), *HARMONDSWORTH)
    add_item(ctx.engine, "Kent Online", at(9, 21), *HARMONDSWORTH)
    _rank, draft, _email = compose(ctx, TUE)
    (entry,) = draft.entries
    assert entry.outlet == "Kent Online" and not entry.paywalled
    assert [(a.outlet, a.paywalled) for a in entry.also] == [("The Times", True)]
    assert entry.balance == {"mixed-middle": 1, "local-regional": 1}


def test_over_the_size_budget_the_lowest_scored_entries_are_left_out(ctx: Context) -> None:
    engine = ctx.engine
    places = ["Yarl's Wood", "Brook House", "Colnbrook", "Dungavel", "Derwentside", "Tinsley"]
    places += ["Morton Hall", "Campsfield"]  # the last two titles share a word: still apart
    for n, place in enumerate(places):  # eight stories: no two share a word worth matching
        title = f"{place} {['inquiry', 'report', 'ruling', 'protest', 'deaths', 'bail'][n % 6]}"
        add_item(engine, "BBC News", at(9, 10 + n), title, "", relevance=0.5 + n / 20)
    compose(ctx, TUE)
    full = run_compose(engine, default_taxonomy(), TUE, LIST)[1].html_bytes
    budget = full - 1500  # a few entries too many
    draft, email = run_compose(engine, default_taxonomy(), TUE, LIST, budget=budget)
    assert email.html_bytes <= budget
    assert 0 < draft.dropped_for_size < 8 and len(draft.entries) == 8 - draft.dropped_for_size
    with session_scope(engine, write=False) as session:
        edition = find_edition(session, TUE, LIST)
        dropped = [e for e in edition.entries if e.removed_reason == SIZE_REASON]
        kept = [e for e in edition.entries if not e.removed]
        assert len(dropped) == edition.dropped_for_size == draft.dropped_for_size
        assert max(e.score for e in dropped) <= min(e.score for e in kept)
    # With room again, everything comes back: each compose decides afresh.
    draft, _email = run_compose(engine, default_taxonomy(), TUE, LIST)
    assert draft.dropped_for_size == 0 and len(draft.entries) == 8


def test_paywalls_from_sources_yaml_reach_the_database(engine: Engine) -> None:
    sources = load_sources(data_path("sources.yaml"), default_taxonomy())
    with session_scope(engine) as session:
        sync_sources(session, sources)
        paywalled = set(session.scalars(select(Outlet.slug).where(Outlet.paywalled)))
    assert {"the-times", "the-telegraph"} <= paywalled
    assert "bbc-news" not in paywalled


def test_a_sent_edition_is_not_rebuilt(ctx: Context) -> None:
    compose(ctx, MON)
    mark_sent(ctx.engine, MON)
    with pytest.raises(Exception, match="not rebuilt"):
        compose(ctx, MON)
    with session_scope(ctx.engine, write=False) as session:
        assert session.scalar(select(Edition.status)) == EditionStatus.SENT


CONTRACT_KEYS = {"item_id", "title", "url", "outlet", "segment", "topics", "region", "summary"}


def test_compose_command_exports_json_html_and_text_and_keeps_edits(
    ctx: Context, tmp_path: Path
) -> None:
    add_item(ctx.engine, "BBC News", at(10, 7), *HARMONDSWORTH)  # after 06:30, before 07:15
    add_item(ctx.engine, "Daily Mail", at(10, 7), *HARMONDSWORTH)
    env = {
        "BRIEFING_DATABASE_URL": ctx.settings.database_url,
        "BRIEFING_LIST_ADDRESS": LIST,
    }
    args = ["compose", "--edition", "2026-03-10", "--as-of", "2026-03-10T07:15"]
    files = ["--json", "draft.json", "--html", "email.html", "--text", "email.txt"]
    result = CliRunner().invoke(cli, [*args, *files], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    assert result.stderr.startswith("Edition 2026-03-10: 1 stories from 2 items;")
    draft = json.loads((tmp_path / "draft.json").read_text(encoding="utf-8"))
    assert (draft["edition"], draft["status"]) == ("2026-03-10", "draft")
    assert draft["subject"] == f"Migration news briefing — Tue 10 Mar 2026: {HARMONDSWORTH[0]}"
    ((section),) = draft["sections"]
    ((entry),) = section["entries"]
    assert section["slug"] == "top-stories" and set(entry) >= CONTRACT_KEYS
    assert (entry["outlet"], entry["segment"], entry["topics"]) == (
        "BBC News",
        "mixed-middle",
        ["detention"],
    )
    assert [a["outlet"] for a in entry["also"]] == ["Daily Mail"]
    assert entry["balance"] == {"mixed-middle": 1, "right-leaning": 1}
    assert HARMONDSWORTH[0] in (tmp_path / "email.html").read_text(encoding="utf-8")
    assert HARMONDSWORTH[0] in (tmp_path / "email.txt").read_text(encoding="utf-8")

    with session_scope(ctx.engine) as session:
        (stored,) = find_edition(session, TUE, LIST).entries
        stored.summary_override = "Edited by the comms officer."
    CliRunner().invoke(cli, [*args, "--json", "again.json"], env=env, catch_exceptions=False)
    again = json.loads((tmp_path / "again.json").read_text(encoding="utf-8"))
    assert again["sections"][0]["entries"][0]["summary"] == "Edited by the comms officer."
