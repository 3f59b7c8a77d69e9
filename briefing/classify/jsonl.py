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


def classify_lines(
    lines: Iterable[str], classifier: Classifier, sources: Sources, explain: bool = False
) -> Iterator[str]:
    batch: list[dict[str, Any]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        batch.append(_read_item(line, number))
        if len(batch) == BATCH:
            yield from _classify_batch(batch, classifier, sources, explain)
            batch = []
    yield from _classify_batch(batch, classifier, sources, explain)


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
    batch: list[dict[str, Any]], classifier: Classifier, sources: Sources, explain: bool
) -> Iterator[str]:
    texts = [ItemText(item["title"], str(item.get("summary") or "")) for item in batch]
    for item, text, prediction in zip(batch, texts, classifier.predict(texts), strict=True):
        out: dict[str, Any] = {
            "id": item["id"],
            "relevant": prediction.relevant,
            "relevance": round(prediction.relevance, 4),
            "topics": [slug for slug, _ in prediction.topics],
            "region": prediction.region,
            "segment": _segment(item, sources),
        }
        if explain:
            why = classifier.explain(text)  # type: ignore[attr-defined]
            out["explain"] = {
                "relevance": [[t.term, t.weight] for t in why.relevance_terms],
                "topics": {
                    slug: [[t.term, t.weight] for t in terms] for slug, terms in why.topics.items()
                },
            }
        yield json.dumps(out, ensure_ascii=False)
