"""Training, promotion and the model registry (CLI only; writes classifiers/models/).

Deterministic: the same examples give the same model and the same version name.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from hashlib import sha256
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import sklearn
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict

from briefing.classify.data import Example, data_hash
from briefing.classify.evaluate import Evaluation, evaluate
from briefing.classify.model import ItemText, Prediction
from briefing.classify.trained import (
    CHAR_WEIGHT,
    META_FILE,
    MODEL_FILE,
    TITLE_WEIGHT,
    TrainedClassifier,
    featurize,
    file_sha256,
    load_trained,
    texts,
)
from briefing.config.taxonomy import Taxonomy
from briefing.errors import ConfigError, UsageError

SEED = 20260310
FOLDS = 5
CURRENT = "CURRENT"  # the file naming the model the pipeline uses
FEEDBACK_WEIGHT = 3  # a curator's correction counts as this many seed examples
REGRESSION_TOLERANCE = 0.005  # F1 a new model may lose on the held-back slice and still win


def _logistic() -> LogisticRegression:
    return LogisticRegression(C=8.0, class_weight="balanced", max_iter=3000)  # rare labels


def _fit_label(
    features: Any, truth: np.ndarray, folds: Any
) -> tuple[tuple[LogisticRegression, LogisticRegression], np.ndarray]:
    """A logistic regression and its Platt calibrator, fitted on the regression's out-of-fold
    scores (sigmoid, not isotonic: a few hundred positives would overfit isotonic). Returns
    the pair and the calibrated out-of-fold probabilities the threshold is tuned on."""
    scores = cross_val_predict(_logistic(), features, truth, cv=folds, method="decision_function")
    calibrator = LogisticRegression().fit(scores.reshape(-1, 1), truth)
    probabilities = calibrator.predict_proba(scores.reshape(-1, 1))[:, 1]
    return (_logistic().fit(features, truth), calibrator), probabilities


def _vectorizers() -> dict[str, TfidfVectorizer]:
    words = {
        "ngram_range": (1, 2),
        "sublinear_tf": True,
        "min_df": 2,
        "max_features": 30_000,
        "strip_accents": "unicode",
        "stop_words": "english",
    }
    return {
        "title_words": TfidfVectorizer(**words),
        "body_words": TfidfVectorizer(**words),
        "chars": TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(3, 5),
            sublinear_tf=True,
            min_df=3,
            max_features=60_000,
            strip_accents="unicode",
        ),
    }


def _items(examples: Sequence[Example]) -> list[ItemText]:
    return [e.text for e in examples]


def best_threshold(truth: np.ndarray, scores: np.ndarray) -> float:
    """The cut-off that maximises F1 on out-of-fold scores."""
    best, best_f1 = 0.5, -1.0
    for cut in np.unique(np.round(scores, 3)):
        guess = scores >= cut
        tp = float(np.sum(guess & truth))
        f1 = 2 * tp / (np.sum(guess) + np.sum(truth)) if tp else 0.0
        if f1 > best_f1:
            best, best_f1 = float(cut), f1
    return round(best, 3)


@dataclass(frozen=True)
class TrainingResult:
    model: TrainedClassifier
    cross_validated: Evaluation  # out-of-fold predictions on the training examples


def train(examples: Sequence[Example], taxonomy: Taxonomy) -> TrainingResult:
    """Fit relevance, topics and region; tune each label's threshold on out-of-fold scores.

    Examples with a weight above 1 (the curator's feedback) are repeated for the final fit
    and left out of the cross-validation, which measures the seed data only."""
    if not any(e.relevant for e in examples) or all(e.relevant for e in examples):
        raise UsageError("training needs both relevant and irrelevant examples")
    topics, regions = tuple(taxonomy.topics), tuple(taxonomy.regions)
    scarce = [t for t in topics if sum(t in e.topics for e in examples if e.relevant) < FOLDS]
    if scarce:
        raise UsageError(f"too few examples (under {FOLDS}) for: {', '.join(scarce)}")
    fitted = [e for e in examples for _ in range(max(1, round(e.weight)))]

    parts: dict[str, Any] = dict(_vectorizers())
    titles, bodies = texts(_items(fitted))
    parts["title_words"].fit(titles)
    parts["body_words"].fit(bodies)
    parts["chars"].fit([f"{t} {b}" for t, b in zip(titles, bodies, strict=True)])

    # Thresholds and calibration are tuned on the seed data's out-of-fold scores; the final
    # fit also sees the curator's feedback, repeated by its weight.
    features = featurize(parts, _items(fitted))
    is_seed = np.array([e.weight <= 1 for e in fitted])
    relevant = np.array([e.relevant for e in fitted])
    folds = StratifiedKFold(FOLDS, shuffle=True, random_state=SEED)
    parts["relevance"], oof_relevance = _fit_label(features, relevant, folds)
    thresholds = {"relevance": best_threshold(relevant[is_seed], oof_relevance[is_seed])}

    on_topic = np.flatnonzero(relevant)
    topic_folds = KFold(FOLDS, shuffle=True, random_state=SEED)
    pairs, oof_columns = [], []
    for slug in topics:
        truth = np.array([slug in fitted[i].topics for i in on_topic])
        pair, oof = _fit_label(features[on_topic], truth, topic_folds)
        pairs.append(pair)
        oof_columns.append(oof)
        seed_rows = is_seed[on_topic]
        thresholds[slug] = best_threshold(truth[seed_rows], oof[seed_rows])
    parts["topics"] = pairs
    region_labels = np.array([fitted[i].region or "uk" for i in on_topic])
    oof_regions = cross_val_predict(
        _logistic(), features[on_topic], region_labels, cv=topic_folds, method="predict_proba"
    )
    parts["region"] = _logistic().fit(features[on_topic], region_labels)

    seed_index = np.flatnonzero(is_seed)
    seed_on_topic = np.flatnonzero(is_seed[on_topic])
    # The version names the data and the recipe: change either and it is a new model.
    recipe = repr(
        (
            parts["title_words"].get_params(),
            parts["chars"].get_params(),
            _logistic().get_params(),
            TITLE_WEIGHT,
            CHAR_WEIGHT,
            FOLDS,
            SEED,
        )
    )
    version = "m" + sha256((data_hash(examples) + recipe).encode()).hexdigest()[:12]
    model = TrainedClassifier(version, parts, thresholds, topics, regions)
    seed = [fitted[i] for i in seed_index]
    oof_predictions = _oof_predictions(
        seed,
        oof_relevance[seed_index],
        np.column_stack(oof_columns)[seed_on_topic],
        oof_regions[seed_on_topic],
        np.searchsorted(seed_index, on_topic[seed_on_topic]),
        thresholds,
        topics,
        [str(r) for r in parts["region"].classes_],
    )
    return TrainingResult(model, evaluate(seed, oof_predictions, topics, regions))


def _oof_predictions(
    seed: Sequence[Example],
    relevance: np.ndarray,
    topic_scores: np.ndarray,
    region_scores: np.ndarray,
    on_topic: np.ndarray,
    thresholds: dict[str, float],
    topics: Sequence[str],
    region_names: Sequence[str],
) -> list[Prediction]:
    """Out-of-fold predictions, shaped as the model would give them. Topics and regions were
    cross-validated on the relevant items only, so they are judged where relevance is right."""
    row_of = {int(i): n for n, i in enumerate(on_topic)}
    predictions = []
    for i in range(len(seed)):
        if relevance[i] < thresholds["relevance"]:
            predictions.append(Prediction(False, float(relevance[i]), (), None))
            continue
        if i not in row_of:  # a false positive: no out-of-fold topic scores exist for it
            predictions.append(Prediction(True, float(relevance[i]), (), None))
            continue
        n = row_of[i]
        chosen = [
            (s, float(topic_scores[n, k]))
            for k, s in enumerate(topics)
            if topic_scores[n, k] >= thresholds[s]
        ]
        if not chosen:
            k = int(np.argmax(topic_scores[n]))
            chosen = [(topics[k], float(topic_scores[n, k]))]
        region = region_names[int(np.argmax(region_scores[n]))]
        predictions.append(
            Prediction(
                True, float(relevance[i]), tuple(sorted(chosen, key=lambda t: -t[1]))[:3], region
            )
        )
    return predictions


def save_model(
    result: TrainingResult,
    folder: Path,
    held_back: Evaluation,
    topics_given_relevance: Evaluation,
    training: dict[str, Any],
) -> Path:
    model = result.model
    target = folder / model.version
    target.mkdir(parents=True, exist_ok=True)
    joblib.dump(model.parts, target / MODEL_FILE, compress=3)
    metadata = {
        "version": model.version,
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "sklearn": sklearn.__version__,
        "model_sha256": file_sha256(target / MODEL_FILE),
        "taxonomy_version": training.pop("taxonomy_version"),
        "topics": list(model.topics),
        "regions": list(model.regions),
        "thresholds": model.thresholds,
        "training": training,
        "cross_validated": result.cross_validated.as_dict(),
        "held_back": held_back.as_dict(),
        "held_back_topics_given_relevance": topics_given_relevance.as_dict(),
    }
    (target / META_FILE).write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")
    return target


def current_version(folder: Path) -> str | None:
    path = folder / CURRENT
    return path.read_text(encoding="utf-8").strip() or None if path.is_file() else None


def use_version(folder: Path, version: str) -> None:
    if not (folder / version / META_FILE).is_file():
        raise UsageError(f"no model {version!r} in {folder}; see `briefing model list`")
    (folder / CURRENT).write_text(version + "\n", encoding="utf-8")


def list_models(folder: Path) -> list[dict[str, Any]]:
    rows = []
    for meta in sorted(folder.glob(f"*/{META_FILE}")):
        data = json.loads(meta.read_text(encoding="utf-8"))
        rows.append(
            {
                "version": data["version"],
                "trained_at": data.get("trained_at"),
                "examples": data.get("training", {}).get("examples"),
                "relevance_f1": data.get("held_back", {}).get("relevance", {}).get("f1"),
                "topic_micro_f1": data.get("held_back", {}).get("topic_micro", {}).get("f1"),
            }
        )
    return sorted(rows, key=lambda r: r["trained_at"] or "")


def load_current(folder: Path) -> TrainedClassifier | None:
    version = current_version(folder)
    if version is None:
        return None
    if not (folder / version).is_dir():
        raise ConfigError(f"{folder / CURRENT} names {version!r}, which is not in {folder}")
    return load_trained(folder / version)


def beats(new: Evaluation, old: Evaluation) -> bool:
    """Promote only a model that does not regress on the held-back slice."""
    return (
        new.relevance.f1 >= old.relevance.f1 - REGRESSION_TOLERANCE
        and new.topic_micro.f1 >= old.topic_micro.f1 - REGRESSION_TOLERANCE
    )
