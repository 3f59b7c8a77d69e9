"""The classify stage (I/O shell): unlabelled (or given) items -> labels in the database."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import selectinload

from briefing.classify.model import Classifier, ItemText
from briefing.config.taxonomy import UNKNOWN_SEGMENT
from briefing.db.engine import session_scope
from briefing.db.models import Item, ItemLabel, ItemTopic

BATCH = 500


@dataclass(frozen=True, slots=True)
class ClassifyReport:
    labelled: frozenset[int]  # item ids
    relevant: frozenset[int]


def run_classify(
    engine: Engine, classifier: Classifier, now: datetime, item_ids: Sequence[int] | None = None
) -> ClassifyReport:
    """Label the given items, or every item without a label yet."""
    labelled: set[int] = set()
    relevant: set[int] = set()
    with session_scope(engine) as session:
        query = select(Item).options(selectinload(Item.outlet), selectinload(Item.label))
        if item_ids is None:
            query = query.outerjoin(ItemLabel).where(ItemLabel.item_id.is_(None))
        else:
            query = query.where(Item.id.in_(item_ids))
        items = list(session.scalars(query.order_by(Item.id)))
        for start in range(0, len(items), BATCH):
            batch = items[start : start + BATCH]
            texts = [ItemText(i.title, i.summary, i.full_text or "") for i in batch]
            for item, prediction in zip(batch, classifier.predict(texts), strict=True):
                label = item.label or ItemLabel(item_id=item.id)
                label.model_version = classifier.version
                label.relevant, label.relevance = prediction.relevant, prediction.relevance
                label.region = prediction.region
                label.segment = (item.outlet.segment if item.outlet else None) or UNKNOWN_SEGMENT
                label.topics = [ItemTopic(topic=t, score=score) for t, score in prediction.topics]
                label.labelled_at = now
                item.label = label
                session.flush()  # replaced topics go before their successors are inserted
                labelled.add(item.id)
                if prediction.relevant:
                    relevant.add(item.id)
    return ClassifyReport(frozenset(labelled), frozenset(relevant))


def candidate_item_ids(engine: Engine, min_relevance: float) -> list[int]:
    """Items worth a page fetch: the cheap title-and-summary score says they may be relevant."""
    with session_scope(engine) as session:
        query = (
            select(Item.id)
            .join(ItemLabel)
            .where(
                ItemLabel.relevance >= min_relevance,
                Item.full_text.is_(None),
                Item.extract_status.is_(None),
            )
        )
        return list(session.scalars(query))
