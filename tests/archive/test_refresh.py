"""Keeping the roll-ups true as the archive changes: sends, pruning, the nightly job and spike
alerts, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from click.testing import CliRunner
from sqlalchemy import Engine, delete, func, select, update

from briefing import scheduler
from briefing.archive import rollup
from briefing.archive.search import SearchQuery, search
from briefing.archive.trends import TrendQuery, trend
from briefing.cli import cli
from briefing.db.engine import session_scope
from briefing.db.models import (
    Alert,
    ArchiveCount,
    Edition,
    EditionEntry,
    EditionStatus,
    FeedDay,
    FetchLog,
    Item,
    TermCount,
)
from briefing.db.prune import prune
from tests.archive.fixture import FIRST_DAY, KEEP_DAYS, LONDON, NOW, SPIKE_DAY, SPIKE_TOPIC, build
from tests.test_scheduler import context

LAST_DAY = NOW.astimezone(LONDON).date()


def sent_total(engine: Engine) -> int:
    figure = trend(engine, TrendQuery(FIRST_DAY, LAST_DAY, "all", "month"))
    return sum(sum(s.sent) for s in figure.series)


def test_sending_an_edition_counts_its_stories_as_made_the_briefing(engine: Engine) -> None:
    truths = build(engine)
    before = sent_total(engine)
    assert before == sum(t.sent for t in truths)
    draft_day = datetime(2026, 3, 16).date()
    with session_scope(engine) as session:
        session.execute(
            update(Edition)
            .where(Edition.edition_date == draft_day)
            .values(status=EditionStatus.SENT)
        )
    assert sent_total(engine) == before  # not until the figures are recounted
    made_it = search(engine, SearchQuery(sent=True), LONDON).total
    items = rollup.edition_items(engine, draft_day, "")
    rollup.refresh_items(engine, items, LONDON, KEEP_DAYS, NOW)
    assert sent_total(engine) > before
    # The search's "made the briefing" filter follows the same recount, item by item.
    with session_scope(engine, write=False) as session:
        entries = session.execute(
            select(EditionEntry.item_id, EditionEntry.story_id)
            .join(Edition)
            .where(Edition.edition_date == draft_day, EditionEntry.removed.is_(False))
        ).all()
        stories = {story for _, story in entries}
        in_draft = {item for item, _ in entries} | set(
            session.scalars(select(Item.id).where(Item.story_id.in_(stories)))
        )
    newly = {t.id for t in truths if t.relevant and not t.sent} & in_draft
    assert newly, "the draft must add items to be a test"
    found = search(engine, SearchQuery(sent=True, per_page=100), LONDON, all_hits=True)
    assert found.total == made_it + len(newly)
    assert newly <= {hit.item_id for hit in found.hits}


def test_pruning_keeps_the_denominators_and_fetch_gaps_of_old_days(engine: Engine) -> None:
    build(engine)

    def snapshot() -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
        with session_scope(engine, write=False) as session:
            counts = session.execute(
                select(
                    ArchiveCount.dim,
                    ArchiveCount.topic,
                    ArchiveCount.day,
                    ArchiveCount.key,
                    ArchiveCount.items,
                    ArchiveCount.sent,
                    ArchiveCount.fetched,
                ).order_by(ArchiveCount.dim, ArchiveCount.topic, ArchiveCount.day, ArchiveCount.key)
            ).all()
            feeds = session.execute(
                select(FeedDay.day, FeedDay.outlet_id, FeedDay.feeds, FeedDay.failed).order_by(
                    FeedDay.day, FeedDay.outlet_id
                )
            ).all()
        return [tuple(r) for r in counts], [tuple(r) for r in feeds]

    before = snapshot()
    report = prune(engine, NOW, KEEP_DAYS, pause=lambda: None)
    assert report.items > 0 and report.fetch_logs > 0  # the test means something
    with session_scope(engine, write=False) as session:
        assert session.scalar(select(func.count()).select_from(FetchLog)) > 0
    rollup.rebuild(engine, LONDON, KEEP_DAYS, NOW)  # the worst case: recount every day
    assert snapshot() == before


def test_the_nightly_job_recounts_today_and_counts_new_terms(database_url: str) -> None:
    ctx = context(database_url, clock=NOW)
    try:
        build(ctx.engine)
        with session_scope(ctx.engine) as session:
            item = session.scalars(select(Item).order_by(Item.published_at.desc())).first()
            assert item is not None
            item.published_at = NOW - timedelta(hours=1)  # moved to today, not yet counted
            item.title = item.title + " refugees"
        scheduler.run_prune(ctx)
        with session_scope(ctx.engine, write=False) as session:
            today = session.scalar(
                select(func.sum(ArchiveCount.fetched)).where(
                    ArchiveCount.dim == "all",
                    ArchiveCount.topic == "",
                    ArchiveCount.day == LAST_DAY,
                )
            )
        assert today is not None and today >= 1
    finally:
        ctx.close()


def test_a_spike_today_raises_one_alert(database_url: str) -> None:
    spike_noon = datetime(SPIKE_DAY.year, SPIKE_DAY.month, SPIKE_DAY.day, 12, tzinfo=UTC)
    ctx = context(database_url, clock=spike_noon, spike_alerts="true")
    try:
        build(ctx.engine)
        scheduler.check_spikes(ctx)
        scheduler.check_spikes(ctx)
        with session_scope(ctx.engine, write=False) as session:
            alerts = list(session.scalars(select(Alert).where(Alert.kind == "topic-spike")))
        assert [a.key for a in alerts] == [f"{SPIKE_DAY.isoformat()}:{SPIKE_TOPIC}"]
        assert "Immigration detention" in alerts[0].subject
    finally:
        ctx.close()


def test_db_upgrade_counts_an_archive_that_has_no_figures_yet(engine: Engine) -> None:
    build(engine)
    with session_scope(engine) as session:
        before = session.scalar(select(func.sum(ArchiveCount.items)))
        session.execute(delete(ArchiveCount))
        session.execute(delete(TermCount))
    assert rollup.is_empty(engine)
    env = {"BRIEFING_DATABASE_URL": engine.url.render_as_string(hide_password=False)}
    result = CliRunner().invoke(cli, ["db", "upgrade"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Archive figures counted" in result.stdout
    with session_scope(engine, write=False) as session:
        assert session.scalar(select(func.sum(ArchiveCount.items))) == before
        assert session.scalar(select(func.count()).select_from(TermCount)) > 0
