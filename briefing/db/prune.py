"""Keeping the database small for years (I/O): old irrelevant items and old fetch logs go.

What stays, always: every item labelled relevant (the archive and the trend figures are made
of them), every item an edition entry or a curation event refers to (what was sent, and the
curator's corrections the classifier learns from), and the latest fetch log row of each feed
(the feed-health page's "last fetch").

Deletes run in batches, each in its own short transaction, so a first prune of a big database
never holds SQLite's write lock (or PostgreSQL's row locks) for long.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Engine, and_, delete, exists, or_, select
from sqlalchemy.orm import Session, aliased

from briefing.db.engine import session_scope
from briefing.db.models import (
    CurationEvent,
    EditionEntry,
    FetchLog,
    Item,
    ItemFeed,
    ItemLabel,
    ItemTopic,
    Story,
)
from briefing.errors import UsageError

log = logging.getLogger("briefing.prune")

BATCH_SIZE = 500  # rows per transaction; well under SQLite's limit on bound parameters


@dataclass(frozen=True, slots=True)
class PruneReport:
    cutoff: datetime  # items published and logs started before this were candidates
    items: int  # irrelevant or unlabelled items deleted, with their feeds, labels and topics
    stories: int  # stories left with no item and no edition entry, deleted
    fetch_logs: int
    batches: int  # transactions used


def prune(
    engine: Engine,
    now: datetime,
    keep_days: int,
    *,
    batch_size: int = BATCH_SIZE,
    pause: Callable[[], None] = lambda: time.sleep(0.05),
) -> PruneReport:
    """Delete irrelevant (or never labelled) items published more than `keep_days` before
    `now` that nothing refers to, and fetch log rows older than that except each feed's
    latest. `pause` runs between batches, to let other writers in."""
    if keep_days < 1:
        raise UsageError(f"keep_days must be at least 1, not {keep_days}")
    if batch_size < 1:
        raise UsageError(f"batch_size must be at least 1, not {batch_size}")
    cutoff = now - timedelta(days=keep_days)
    done: list[_Batch] = []
    for step in (_delete_items, _delete_fetch_logs):
        while True:
            if done:
                pause()
            with session_scope(engine) as session:
                batch = step(session, cutoff, batch_size)
            done.append(batch)
            if not batch.full:
                break
    report = PruneReport(
        cutoff,
        items=sum(b.items for b in done),
        stories=sum(b.stories for b in done),
        fetch_logs=sum(b.fetch_logs for b in done),
        batches=len(done),
    )
    log.info(
        "pruned %d items, %d stories and %d fetch log rows from before %s in %d batches",
        report.items,
        report.stories,
        report.fetch_logs,
        cutoff.isoformat(timespec="seconds"),
        report.batches,
    )
    return report


@dataclass(frozen=True, slots=True)
class _Batch:
    full: bool  # as many candidates as the batch size: there may be more
    items: int = 0
    stories: int = 0
    fetch_logs: int = 0


def _item_may_go(cutoff: datetime) -> ColumnElement[bool]:
    return and_(
        Item.published_at < cutoff,
        ~exists().where(ItemLabel.item_id == Item.id, ItemLabel.relevant),
        ~exists().where(EditionEntry.item_id == Item.id),
        ~exists().where(CurationEvent.item_id == Item.id),
    )


def _delete_items(session: Session, cutoff: datetime, batch_size: int) -> _Batch:
    # FOR UPDATE (PostgreSQL; SQLite's BEGIN IMMEDIATE already excludes other writers) stops
    # anyone from labelling these items relevant or putting them in an edition until this
    # transaction ends, so the second look below is final.
    candidates = list(
        session.scalars(
            select(Item.id)
            .where(_item_may_go(cutoff))
            .order_by(Item.id)
            .limit(batch_size)
            .with_for_update(of=Item)
        )
    )
    if not candidates:
        return _Batch(full=False)
    # A second look with a fresh snapshot (PostgreSQL's READ COMMITTED takes one per
    # statement): a reference committed while the lock was awaited keeps its item.
    rows = session.execute(
        select(Item.id, Item.story_id).where(Item.id.in_(candidates), _item_may_go(cutoff))
    ).all()
    ids = [row.id for row in rows]
    story_ids = {row.story_id for row in rows if row.story_id is not None}
    # Children first, explicitly: correct even on a connection without foreign keys enforced.
    for statement in (
        delete(ItemTopic).where(ItemTopic.item_id.in_(ids)),
        delete(ItemLabel).where(ItemLabel.item_id.in_(ids)),
        delete(ItemFeed).where(ItemFeed.item_id.in_(ids)),
        delete(Item).where(Item.id.in_(ids)),
    ):
        session.execute(statement.execution_options(synchronize_session=False))
    stories = 0
    if story_ids:
        result = session.execute(
            delete(Story)
            .where(
                Story.id.in_(story_ids),
                ~exists().where(Item.story_id == Story.id),
                ~exists().where(EditionEntry.story_id == Story.id),
            )
            .execution_options(synchronize_session=False)
        )
        stories = cast("CursorResult[Any]", result).rowcount
    return _Batch(full=len(candidates) == batch_size, items=len(ids), stories=stories)


def _delete_fetch_logs(session: Session, cutoff: datetime, batch_size: int) -> _Batch:
    newer = aliased(FetchLog)
    ids = list(
        session.scalars(
            select(FetchLog.id)
            .where(
                FetchLog.started_at < cutoff,
                exists().where(
                    newer.feed_id == FetchLog.feed_id,
                    or_(
                        newer.started_at > FetchLog.started_at,
                        and_(newer.started_at == FetchLog.started_at, newer.id > FetchLog.id),
                    ),
                ),
            )
            .order_by(FetchLog.id)
            .limit(batch_size)
        )
    )
    if not ids:
        return _Batch(full=False)
    session.execute(
        delete(FetchLog).where(FetchLog.id.in_(ids)).execution_options(synchronize_session=False)
    )
    return _Batch(full=len(ids) == batch_size, fetch_logs=len(ids))
