"""The trained classifier: features, prediction and explanations (I/O only when loading).

An artefact is a folder classifiers/models/<version>/ holding model.joblib (the scikit-learn
parts) and metadata.json (labels, thresholds, metrics, training-data hash, library versions,
and the SHA-256 of model.joblib). joblib runs pickle, so a model is loaded only when its
bytes match the hash its metadata recorded at training and its scikit-learn version is ours;
models are our own artefacts, never downloaded. (skops, the safe format, took six seconds to
load the vocabularies; joblib takes half a second.)
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

# Weights of the three feature blocks, chosen by 5-fold cross-validation on the seed data.
TITLE_WEIGHT = 1.0
BODY_CHARS = 2000  # of the full text, after the summary
CHAR_WEIGHT = 1.5
MODEL_FILE = "model.joblib"
META_FILE = "metadata.json"


def texts(items: Sequence[ItemText]) -> tuple[list[str], list[str]]:
    titles = [item.title for item in items]
    bodies = [f"{item.summary} {item.full_text[:BODY_CHARS]}".strip() for item in items]
    return titles, bodies


def featurize(parts: dict[str, Any], items: Sequence[ItemText]) -> csr_matrix:
    """Word n-grams of the title and of the body, and character n-grams of both."""
    titles, bodies = texts(items)
    both = [f"{t} {b}" for t, b in zip(titles, bodies, strict=True)]
    return hstack(
        [
            parts["title_words"].transform(titles) * TITLE_WEIGHT,
            parts["body_words"].transform(bodies),
            parts["chars"].transform(both) * CHAR_WEIGHT,
        ]
    ).tocsr()


@dataclass(frozen=True, slots=True)
class Term:
    term: str  # "title: small boats", "text: hotel"
    weight: float  # its push on the log-odds: up when positive


@dataclass(frozen=True, slots=True)
class Explanation:
    relevance: float
    relevance_terms: tuple[Term, ...]
    topics: dict[str, tuple[Term, ...]] = field(default_factory=dict)


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
        relevance = calibrated(self.parts["relevance"], features)
        topic_scores = np.column_stack([calibrated(p, features) for p in self.parts["topics"]])
        region_scores = self.parts["region"].predict_proba(features)
        region_names = [str(r) for r in self.parts["region"].classes_]
        predictions = []
        for n in range(len(items)):
            if relevance[n] < self.thresholds["relevance"] and not assume_relevant:
                predictions.append(Prediction(False, float(relevance[n]), (), None))
                continue
            scores = {slug: float(topic_scores[n, k]) for k, slug in enumerate(self.topics)}
            chosen = [s for s in self.topics if scores[s] >= self.thresholds[s]]
            if not chosen:  # a relevant item always gets its likeliest topic
                chosen = [max(scores, key=lambda s: scores[s])]
            topics = tuple(sorted(((s, round(scores[s], 4)) for s in chosen), key=lambda t: -t[1]))[
                :3
            ]
            region = region_names[int(np.argmax(region_scores[n]))]
            predictions.append(Prediction(True, float(relevance[n]), topics, region))
        return predictions

    def explain(self, item: ItemText, top: int = 6) -> Explanation:
        """The words that pushed relevance and each likely topic up or down."""
        features = featurize(self.parts, [item])
        (prediction,) = self.predict([item])
        names = self._feature_names()
        relevance_terms = _terms(self.parts["relevance"][0].coef_[0], features, names, top)
        topic_terms = {}
        for slug, _score in prediction.topics:
            model, _calibrator = self.parts["topics"][self.topics.index(slug)]
            topic_terms[slug] = _terms(model.coef_[0], features, names, top)
        return Explanation(prediction.relevance, relevance_terms, topic_terms)

    def _feature_names(self) -> list[str]:
        names = [f"title: {w}" for w in self.parts["title_words"].get_feature_names_out()]
        names += [f"text: {w}" for w in self.parts["body_words"].get_feature_names_out()]
        names += [""] * len(self.parts["chars"].get_feature_names_out())  # not words: skipped
        return names


def calibrated(pair: tuple[Any, Any], features: csr_matrix) -> np.ndarray:
    """A label's probability: its logistic regression's score through its Platt calibrator."""
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
        parts = joblib.load(model_path)
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
