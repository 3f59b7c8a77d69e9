"""The transparent keyword baseline (pure once loaded): classifiers/keywords.yaml."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from briefing.classify.model import ItemText, Prediction
from briefing.config.taxonomy import Taxonomy, default_taxonomy
from briefing.errors import ConfigError
from briefing.resources import data_path

TITLE_WEIGHT = 2.0
TEXT_CHARS = 2000  # the lede carries the topic; the rest of a page adds noise
RELEVANT_AT = 2.0  # score needed, e.g. one phrase in the title or two in the summary


def _pattern(terms: Iterable[str]) -> re.Pattern[str]:
    alternatives = sorted({re.escape(t.lower()) for t in terms}, key=len, reverse=True)
    return re.compile(r"(?<![\w-])(?:" + "|".join(alternatives) + r")(?![\w-])")


@dataclass(frozen=True)
class KeywordClassifier:
    version: str
    relevant: re.Pattern[str]
    irrelevant: re.Pattern[str]
    topics: dict[str, re.Pattern[str]]
    regions: dict[str, re.Pattern[str]]
    description: str = "transparent keyword baseline (no trained model yet)"

    def _score(self, pattern: re.Pattern[str], item: ItemText) -> float:
        body = f"{item.summary} {item.full_text[:TEXT_CHARS]}".lower()
        return TITLE_WEIGHT * len(pattern.findall(item.title.lower())) + len(pattern.findall(body))

    def predict(self, items: Sequence[ItemText]) -> list[Prediction]:
        return [self._predict_one(item) for item in items]

    def _predict_one(self, item: ItemText) -> Prediction:
        score = self._score(self.relevant, item) - 1.5 * self._score(self.irrelevant, item)
        topic_scores = {slug: self._score(p, item) for slug, p in self.topics.items()}
        topics = sorted(((s, v) for s, v in topic_scores.items() if v > 0), key=lambda t: -t[1])
        region_scores = {slug: self._score(p, item) for slug, p in self.regions.items()}
        abroad = max(region_scores, key=lambda r: region_scores[r])
        region = abroad if region_scores[abroad] > 0 else "uk"
        # A UK item needs a topic to have a section; news from abroad goes under its region.
        relevant = score >= RELEVANT_AT and (bool(topics) or region != "uk")
        relevance = max(0.0, min(1.0, score / (2 * RELEVANT_AT)))
        if not relevant:
            return Prediction(False, min(relevance, 0.49), (), None)
        best = topics[0][1] if topics else 0.0
        kept = tuple((slug, round(v / best, 3)) for slug, v in topics if v >= best / 2)[:3]
        return Prediction(True, max(relevance, 0.5), kept, region)


def load_baseline(path: Path | None = None, taxonomy: Taxonomy | None = None) -> KeywordClassifier:
    path = path or data_path("classifiers/keywords.yaml")
    taxonomy = taxonomy or default_taxonomy()
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    unknown = (set(raw["topics"]) - set(taxonomy.topics)) | (
        set(raw["regions"]) - set(taxonomy.regions)
    )
    if unknown:
        raise ConfigError(f"{path}: labels not in the taxonomy: {', '.join(sorted(unknown))}")
    return KeywordClassifier(
        version=str(raw["version"]),
        relevant=_pattern(raw["relevant"]),
        irrelevant=_pattern(raw["irrelevant"]),
        topics={slug: _pattern(terms) for slug, terms in raw["topics"].items()},
        regions={slug: _pattern(terms) for slug, terms in raw["regions"].items()},
    )
