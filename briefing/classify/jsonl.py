"""`briefing classify`: JSON lines in, JSON lines out, no database (pure over its inputs)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from briefing.classify.model import Classifier, ItemText
from briefing.config.sources import Sources
from briefing.config.taxonomy import UNKNOWN_SEGMENT
from briefing.errors import UsageError

BATCH = 500
MAX_LINE_CHARS = 1_000_000


def classify_lines(lines: Iterable[str], classifier: Classifier, sources: Sources) -> Iterator[str]:
    batch: list[dict[str, Any]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        batch.append(_read_item(line, number))
        if len(batch) == BATCH:
            yield from _classify_batch(batch, classifier, sources)
            batch = []
    yield from _classify_batch(batch, classifier, sources)


def _read_item(line: str, number: int) -> dict[str, Any]:
    if len(line) > MAX_LINE_CHARS:
        raise UsageError(f"line {number}: longer than {MAX_LINE_CHARS} characters")
    try:
        item = json.loads(line)
    except json.JSONDecodeError as e:
        raise UsageError(f"line {number}: not JSON ({e.msg})") from None
    if not isinstance(item, dict):
        raise UsageError(f"line {number}: expected a JSON object")
    if "id" not in item or not isinstance(item.get("title"), str):
        raise UsageError(f'line {number}: "id" and a string "title" are required')
    return item


def _segment(item: dict[str, Any], sources: Sources) -> str:
    outlet = sources.outlet_for_url(str(item.get("url") or ""))
    if outlet is None and item.get("outlet"):
        name = str(item["outlet"]).strip().lower()
        outlet = next((o for o in sources.outlets if name in (o.slug, o.name.lower())), None)
    return outlet.segment if outlet else UNKNOWN_SEGMENT


def _classify_batch(
    batch: list[dict[str, Any]], classifier: Classifier, sources: Sources
) -> Iterator[str]:
    texts = [ItemText(item["title"], str(item.get("summary") or "")) for item in batch]
    for item, prediction in zip(batch, classifier.predict(texts), strict=True):
        yield json.dumps(
            {
                "id": item["id"],
                "relevant": prediction.relevant,
                "relevance": round(prediction.relevance, 4),
                "topics": [slug for slug, _ in prediction.topics],
                "region": prediction.region,
                "segment": _segment(item, sources),
            },
            ensure_ascii=False,
        )
