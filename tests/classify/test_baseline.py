from __future__ import annotations

import io
import json

import pytest

from briefing.classify.baseline import load_baseline
from briefing.classify.jsonl import classify_lines
from briefing.classify.model import ItemText
from briefing.config.sources import load_sources
from briefing.config.taxonomy import default_taxonomy
from briefing.errors import UsageError
from tests.conftest import ROOT


@pytest.mark.parametrize(
    ("title", "topic"),
    [
        ("Record number of migrants cross the Channel in small boats", "channel-crossings"),
        ("Home Office to close 20 asylum hotels as backlog falls", "asylum-system"),
        ("EU citizens with pre-settled status wrongly refused benefits", "eu-citizens-euss"),
        ("Refugees made homeless as asylum support ends, charity warns", "destitution"),
    ],
)
def test_migration_news_is_relevant(title: str, topic: str) -> None:
    (prediction,) = load_baseline().predict([ItemText(title)])
    assert prediction.relevant
    assert topic in [slug for slug, _ in prediction.topics]
    assert prediction.region == "uk"


@pytest.mark.parametrize(
    "title",
    [
        "Millions of birds begin spring migration over the Channel",
        "Bank completes cloud migration of customer data",
        "Pupil given school detention for phone use",
        "Striker joins rivals in transfer window deal",
    ],
)
def test_shared_vocabulary_is_not_migration_news(title: str) -> None:
    (prediction,) = load_baseline().predict([ItemText(title)])
    assert not prediction.relevant and prediction.topics == () and prediction.region is None


def test_labels_are_taxonomy_slugs() -> None:
    taxonomy = default_taxonomy()
    classifier = load_baseline()
    assert set(classifier.topics) == set(taxonomy.topics)
    assert set(classifier.regions) <= set(taxonomy.regions)


def test_classify_lines_contract() -> None:
    lines = [
        json.dumps(
            {
                "id": "a",
                "title": "Asylum seekers moved from hotel to barracks",
                "url": "https://www.bbc.co.uk/news/uk-1",
            }
        ),
        "",
        json.dumps({"id": 7, "title": "Football scores", "outlet": "The Guardian"}),
        json.dumps(
            {
                "id": "c",
                "title": "Greek coastguard rescues migrants in Mediterranean",
                "summary": "",
                "url": "https://unknown.example/x",
            }
        ),
    ]
    sources = load_sources(ROOT / "sources.yaml")
    out = [json.loads(line) for line in classify_lines(lines, load_baseline(), sources)]
    assert [o["id"] for o in out] == ["a", 7, "c"]
    assert set(out[0]) == {"id", "relevant", "relevance", "topics", "region", "segment"}
    assert out[0]["relevant"] and out[0]["segment"] == "mixed-middle"
    assert out[1] == {
        "id": 7,
        "relevant": False,
        "relevance": out[1]["relevance"],
        "topics": [],
        "region": None,
        "segment": "progressive",
    }
    assert out[2]["region"] == "europe" and out[2]["segment"] == "unknown"
    assert all(0 <= o["relevance"] <= 1 for o in out)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "line 1: not JSON"),
        ("[1, 2]", "line 1: expected a JSON object"),
        ('{"title": "no id"}', 'line 1: "id" and a string "title"'),
    ],
)
def test_bad_input_lines(line: str, message: str) -> None:
    sources = load_sources(ROOT / "sources.yaml")
    with pytest.raises(UsageError, match=message):
        list(classify_lines(io.StringIO(line + "\n"), load_baseline(), sources))
