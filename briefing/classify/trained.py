"""The trained classifier: features, prediction and explanations (I/O only when loading).

An artefact is a folder classifiers/models/<version>/ holding model.joblib (the scikit-learn
parts) and metadata.json (labels, thresholds, metrics, training-data hash, library versions,
and the SHA-256 of model.joblib). joblib runs pickle, so a model is loaded only when its
bytes match the hash its metadata recorded at training and its scikit-learn version is ours;
models are our own artefacts, never downloaded. (skops, the safe format, took six seconds to
load the vocabularies; joblib takes half a second.)

The parts (see train.py for how each is fitted):

- "blocks": the feature blocks, each (text, vectorizer, weight) with text one of "title",
  "body" or "both"; the weights live in the artefact, so a model keeps its own.
- "relevance": members, each a (scorer, Platt calibrator) pair; the relevance probability is
  the mean of their calibrated probabilities.
- "topics": one (scorer, calibrator) pair per topic, in the taxonomy's order.
- "region": a multinomial logistic regression.
- "topic_share": the decision rule's share (see `choose_topics`).

A scorer is anything with `decision_function(features)` and `coef_`: this module's `Linear`
and `MainTopicMargin`, or the logistic regressions of models made before them, which
`_first_recipe` reads into this layout so that a rollback to one still works.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import sklearn
from scipy.sparse import csr_matrix, hstack

from briefing.classify.model import ItemText, Prediction
from briefing.errors import ConfigError

BODY_CHARS = 2000  # of the full text, after the summary
MAX_TOPICS = 3
MODEL_FILE = "model.joblib"
META_FILE = "metadata.json"


def texts(items: Sequence[ItemText]) -> dict[str, list[str]]:
    """The texts the feature blocks read: the title, the body (summary and the start of the
    full text) and both together."""
    titles = [item.title for item in items]
    bodies = [f"{item.summary} {item.full_text[:BODY_CHARS]}".strip() for item in items]
    both = [f"{t} {b}".strip() for t, b in zip(titles, bodies, strict=True)]
    return {"title": titles, "body": bodies, "both": both}


def featurize(parts: dict[str, Any], items: Sequence[ItemText]) -> csr_matrix:
    """The weighted feature blocks side by side."""
    sources = texts(items)
    blocks = [vectorizer.transform(sources[text]) * w for text, vectorizer, w in parts["blocks"]]
    return hstack(blocks).tocsr()


@dataclass(frozen=True)
class Linear:
    """A linear score, features @ coef_ + intercept_, with any feature scaling the model was
    trained with folded into the weights. (Attributes named as scikit-learn names them, so
    that old artefacts' logistic regressions and these are used alike.)"""

    coef_: np.ndarray  # (features,), float32: half the size of the artefact
    intercept_: float

    def decision_function(self, features: csr_matrix) -> np.ndarray:
        return np.asarray(features @ self.coef_, dtype=np.float64) + self.intercept_


@dataclass(frozen=True)
class MainTopicMargin:
    """One-vs-rest linear scores for "not migration news" (column 0) and for each topic as an
    item's main topic; the score is how far the best topic beats "not migration news". Its
    boundary between news and the rest is piecewise, one piece per topic, where a single
    linear score must draw one line around fourteen kinds of story."""

    coef_: np.ndarray  # (features, 1 + topics), float32
    intercept_: np.ndarray  # (1 + topics,)

    def decision_function(self, features: csr_matrix) -> np.ndarray:
        scores = np.asarray(features @ self.coef_, dtype=np.float64) + self.intercept_
        return np.asarray(scores[:, 1:].max(axis=1) - scores[:, 0])


@dataclass(frozen=True, slots=True)
class Term:
    term: str  # "title: small boats", "text: hotel"
    weight: float  # its push on the score: up when positive


@dataclass(frozen=True, slots=True)
class Explanation:
    relevance: float
    relevance_terms: tuple[Term, ...]
    topics: dict[str, tuple[Term, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Scores:
    """Calibrated probabilities for a batch of items, before the thresholds."""

    relevance: np.ndarray  # (items,)
    topics: np.ndarray  # (items, topics)
    regions: np.ndarray  # (items, regions)
    region_names: Sequence[str]


def decide(
    scores: Scores,
    thresholds: dict[str, float],
    topics: Sequence[str],
    share: float,
    *,
    assume_relevant: bool = False,
) -> list[Prediction]:
    """Each item's labels: relevant at or above the relevance threshold, then its topics (see
    `choose_topics`) and its likeliest region."""
    predictions = []
    for n, relevance in enumerate(scores.relevance):
        if relevance < thresholds["relevance"] and not assume_relevant:
            predictions.append(Prediction(False, float(relevance), (), None))
            continue
        chosen = choose_topics(scores.topics[n], topics, thresholds, share)
        region = str(scores.region_names[int(np.argmax(scores.regions[n]))])
        predictions.append(Prediction(True, float(relevance), chosen, region))
    return predictions


def choose_topics(
    probabilities: np.ndarray, topics: Sequence[str], thresholds: dict[str, float], share: float
) -> tuple[tuple[str, float], ...]:
    """A relevant item's topics, best first: always its likeliest one, then any other at or
    above its threshold and at least `share` of the likeliest one's probability (a second
    topic must be nearly as clearly there as the first), at most MAX_TOPICS."""
    order = np.argsort(-probabilities, kind="stable")
    first = float(probabilities[order[0]])
    chosen = [(topics[order[0]], first)]
    for k in order[1:]:
        p = float(probabilities[k])
        if len(chosen) < MAX_TOPICS and p >= thresholds[topics[k]] and p >= share * first:
            chosen.append((topics[k], p))
    return tuple((slug, round(p, 4)) for slug, p in chosen)


@dataclass(frozen=True)
class TrainedClassifier:
    version: str
    parts: dict[str, Any]
    thresholds: dict[str, float]  # "relevance" and one per topic
    topics: tuple[str, ...]
    regions: tuple[str, ...]
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def description(self) -> str:
        return f"trained model {self.version}"

    def predict(
        self, items: Sequence[ItemText], *, assume_relevant: bool = False
    ) -> list[Prediction]:
        """Labels for each item; `assume_relevant` skips the relevance gate, for items a
        person has already judged relevant (a story added by URL)."""
        if not items:
            return []
        features = featurize(self.parts, items)
        relevance = np.mean([calibrated(m, features) for m in self.parts["relevance"]], axis=0)
        topic_scores = np.column_stack([calibrated(p, features) for p in self.parts["topics"]])
        region = self.parts["region"]
        return decide(
            Scores(relevance, topic_scores, region.predict_proba(features), region.classes_),
            self.thresholds,
            self.topics,
            self.parts["topic_share"],
            assume_relevant=assume_relevant,
        )

    def explain(self, item: ItemText, top: int = 6) -> Explanation:
        """The words that pushed relevance and each chosen topic up or down (relevance by its
        first member, the single linear score)."""
        features = featurize(self.parts, [item])
        (prediction,) = self.predict([item])
        names = self._feature_names()
        scorer, _calibrator = self.parts["relevance"][0]
        relevance_terms = _terms(np.ravel(scorer.coef_), features, names, top)
        topic_terms = {}
        for slug, _score in prediction.topics:
            model, _calibrator = self.parts["topics"][self.topics.index(slug)]
            topic_terms[slug] = _terms(np.ravel(model.coef_), features, names, top)
        return Explanation(prediction.relevance, relevance_terms, topic_terms)

    def _feature_names(self) -> list[str]:
        names: list[str] = []
        for text, vectorizer, _weight in self.parts["blocks"]:
            words = vectorizer.get_feature_names_out()
            if vectorizer.analyzer == "word":
                names += [f"{'title' if text == 'title' else 'text'}: {w}" for w in words]
            else:
                names += [""] * len(words)  # character n-grams are not words: skipped
        return names


def calibrated(pair: tuple[Any, Any], features: csr_matrix) -> np.ndarray:
    """A member's probability: its scorer's score through its Platt calibrator."""
    model, calibrator = pair
    scores = model.decision_function(features)
    return np.asarray(calibrator.predict_proba(scores.reshape(-1, 1))[:, 1])


def _terms(coef: np.ndarray, features: csr_matrix, names: list[str], top: int) -> tuple[Term, ...]:
    row = features.getrow(0)
    pushes = [
        (names[i], float(v * coef[i]))
        for i, v in zip(row.indices, row.data, strict=True)
        if names[i]
    ]
    ups = sorted((p for p in pushes if p[1] > 0), key=lambda p: -p[1])[:top]
    downs = sorted((p for p in pushes if p[1] < 0), key=lambda p: p[1])[:top]
    return tuple(Term(name, round(weight, 3)) for name, weight in ups + downs)


def _first_recipe(parts: dict[str, Any]) -> dict[str, Any]:
    """The parts of a model made by the first recipe (up to mbd406a01a9fd: word n-grams of
    the title and of the body, one logistic regression per label), in today's layout."""
    if "blocks" in parts:
        return parts
    return {
        "blocks": [
            ("title", parts["title_words"], 1.0),
            ("body", parts["body_words"], 1.0),
            ("both", parts["chars"], 1.5),
        ],
        "relevance": [parts["relevance"]],
        "topics": parts["topics"],
        "region": parts["region"],
        "topic_share": 0.0,  # any topic above its threshold
    }


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_trained(folder: Path) -> TrainedClassifier:
    meta_path, model_path = folder / META_FILE, folder / MODEL_FILE
    try:
        metadata = json.loads(meta_path.read_text(encoding="utf-8"))
        if metadata.get("sklearn") != sklearn.__version__:
            raise ConfigError(
                f"{folder}: trained with scikit-learn {metadata.get('sklearn')}, this is "
                f"{sklearn.__version__}: run `briefing train` again"
            )
        if file_sha256(model_path) != metadata.get("model_sha256"):
            raise ConfigError(f"{model_path}: does not match the hash in {META_FILE}; refused")
        parts = _first_recipe(joblib.load(model_path))
    except (OSError, ValueError, KeyError, EOFError) as e:
        raise ConfigError(f"{folder}: not a usable model") from e
    return TrainedClassifier(
        version=str(metadata["version"]),
        parts=parts,
        thresholds={k: float(v) for k, v in metadata["thresholds"].items()},
        topics=tuple(metadata["topics"]),
        regions=tuple(metadata["regions"]),
        metadata=metadata,
    )
