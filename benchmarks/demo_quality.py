"""How the demo pipeline does on its own sample: relevance and story grouping against the
answer key in tests/fixtures/demo_expected.json, and how long the run takes.

Run: .venv/bin/python benchmarks/demo_quality.py

The keyword lists and the clustering threshold were adjusted while looking at this sample, so
these figures describe the demo, not how the pipeline does on news it has never seen.
"""

from __future__ import annotations

import itertools
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select

from briefing.config.settings import load_settings
from briefing.db.engine import make_engine, session_scope
from briefing.db.models import Item, ItemLabel
from briefing.demo.run import run_demo
from briefing.ingest.normalize import url_hash

ANSWERS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "demo_expected.json"


def precision_recall(predicted: set[Any], actual: set[Any]) -> tuple[float, float]:
    hits = len(predicted & actual)
    return hits / max(len(predicted), 1), hits / max(len(actual), 1)


def main() -> None:
    expected = json.loads(ANSWERS.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        result = run_demo(load_settings({"BRIEFING_VAR_DIR": folder}), say=lambda _: None)
        seconds = time.perf_counter() - started
        engine = make_engine(result.settings.database_url)
        with session_scope(engine, write=False) as session:
            rows = session.execute(
                select(Item.url_hash, ItemLabel.relevant, Item.story_id).join(ItemLabel)
            ).all()
        engine.dispose()
    labels = {key: (relevant, story) for key, relevant, story in rows}
    truth = {url_hash(i["url"]): i for i in expected["items"]}
    p, r = precision_recall(
        {k for k, (rel, _) in labels.items() if rel}, {k for k, i in truth.items() if i["relevant"]}
    )
    relevant = sorted(k for k, i in truth.items() if i["relevant"] and i["in_window"])
    pairs = list(itertools.combinations(relevant, 2))
    same_true = {(a, b) for a, b in pairs if truth[a]["story"] == truth[b]["story"]}
    same_pred = {
        (a, b)
        for a, b in pairs
        if labels.get(a, (0, None))[1] and labels[a][1] == labels.get(b, (0, None))[1]
    }
    sp, sr = precision_recall(same_pred, same_true)
    print(f"items: {len(truth)} distinct articles in the feeds, {len(labels)} stored")
    print(f"relevance: precision {p:.3f}, recall {r:.3f}")
    print(f"story pairs: precision {sp:.3f}, recall {sr:.3f} ({len(same_true)} true pairs)")
    print(f"edition: {result.entries} stories, {result.html_bytes / 1000:.1f} KB of HTML")
    print(f"demo run without serving: {seconds:.1f} s (classifier: {result.classifier})")


if __name__ == "__main__":
    sys.exit(main())
