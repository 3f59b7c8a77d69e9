"""Training, promotion and the model registry (CLI only; writes classifiers/models/).

Deterministic: the same examples give the same model and the same version name.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from hashlib import sha256
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import sklearn
from scipy.sparse import csr_matrix, diags
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC

from briefing.classify.data import Example, data_hash
from briefing.classify.evaluate import Evaluation, evaluate
from briefing.classify.model import ItemText
from briefing.classify.trained import (
    META_FILE,
    MODEL_FILE,
    Linear,
    MainTopicMargin,
    Scores,
    TrainedClassifier,
    decide,
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

# The recipe, chosen by 5-fold cross-validation on the seed data (classifiers/README.md).
TITLE_WEIGHT = 1.0  # title words are also in the title-and-body block: they count twice
CHAR_WEIGHT = 1.5
SVM_C = 0.5
NB_ALPHA = 1.0  # smoothing of the log-count ratios
TOPIC_SHARE = 0.5  # see trained.choose_topics


def _vectorizers() -> list[tuple[str, TfidfVectorizer, float]]:
    """Word 1-2-grams of the title and of title and body together (so a title-only item
    shares its weights with the words of full items), character 3-5-grams of both."""
    words = {
        "ngram_range": (1, 2),
        "sublinear_tf": True,
        "min_df": 2,
        "max_features": 30_000,
        "strip_accents": "unicode",
        "stop_words": "english",
    }
    chars = TfidfVectorizer(
        analyzer="char_wb",
        ngram_range=(3, 5),
        sublinear_tf=True,
        min_df=3,
        max_features=60_000,
        strip_accents="unicode",
    )
    return [
        ("title", TfidfVectorizer(**words), TITLE_WEIGHT),
        ("both", TfidfVectorizer(**words), 1.0),
        ("both", chars, CHAR_WEIGHT),
    ]


def _svm() -> LinearSVC:
    return LinearSVC(C=SVM_C, class_weight="balanced", random_state=SEED)  # rare labels


def _logistic() -> LogisticRegression:
    return LogisticRegression(C=8.0, class_weight="balanced", max_iter=3000)


def log_count_ratio(features: csr_matrix, truth: np.ndarray) -> np.ndarray:
    """NB-SVM's log-count ratio (Wang and Manning, 2012): for each feature, the log of how
    much more often it occurs in the label's items than in the others, smoothed."""
    present = (features > 0).astype(np.float64)
    inside = NB_ALPHA + np.asarray(present[truth].sum(axis=0)).ravel()
    outside = NB_ALPHA + np.asarray(present[~truth].sum(axis=0)).ravel()
    return np.asarray(np.log(inside / inside.sum()) - np.log(outside / outside.sum()))


def _scaled_svm(features: csr_matrix, truth: np.ndarray, scale: np.ndarray) -> Linear:
    """A linear SVM on features multiplied by `scale`, with the scale folded into its weights
    so that it scores unscaled features."""
    svm = _svm().fit((features @ diags(scale)).tocsr(), truth)
    return Linear((svm.coef_[0] * scale).astype(np.float32), float(svm.intercept_[0]))


def fit_relevance(features: csr_matrix, truth: np.ndarray) -> Linear:
    """NB-SVM: the features that separate migration news from the rest, either way, count
    for more before the margin is fitted."""
    return _scaled_svm(features, truth, log_count_ratio(features, truth))


def fit_main_topic(features: csr_matrix, main: np.ndarray) -> MainTopicMargin:
    """One-vs-rest linear SVMs over 0 = not migration news and 1.. = the item's main topic."""
    svm = _svm().fit(features, main)
    if len(svm.classes_) == 2:  # one topic only: a single score, news against the rest
        return MainTopicMargin(
            np.column_stack([np.zeros_like(svm.coef_[0]), svm.coef_[0]]).astype(np.float32),
            np.array([0.0, svm.intercept_[0]]),
        )
    return MainTopicMargin(svm.coef_.T.astype(np.float32), svm.intercept_)


def fit_topic(features: csr_matrix, truth: np.ndarray) -> Linear:
    """The mean of two linear SVMs' scores (a linear score too): one on the features as they
    are, one on features scaled by how strongly they tell the topic from the others, either
    way (0.5 + 0.5 |log-count ratio|: signed ratios, as for relevance, did worse here)."""
    plain = _svm().fit(features, truth)
    scaled = _scaled_svm(features, truth, 0.5 + 0.5 * np.abs(log_count_ratio(features, truth)))
    return Linear(
        ((plain.coef_[0] + scaled.coef_) / 2).astype(np.float32),
        float(plain.intercept_[0] + scaled.intercept_) / 2,
    )


Folds = list[tuple[np.ndarray, np.ndarray]]


def _cross_fit(
    fit: Callable[[csr_matrix, np.ndarray], Any],
    features: csr_matrix,
    labels: np.ndarray,
    rows: np.ndarray,
    folds: Folds,
) -> tuple[Any, np.ndarray]:
    """The scorer fitted on the `rows` (a mask), and every item's out-of-fold score: in each
    fold, a scorer fitted on the other folds' `rows` scores all the fold's items (so an item
    wrongly judged relevant gets the topics it would get in the briefing)."""
    out_of_fold = np.zeros(features.shape[0])
    for train_index, test_index in folds:
        train_rows = train_index[rows[train_index]]
        scorer = fit(features[train_rows], labels[train_rows])
        out_of_fold[test_index] = scorer.decision_function(features[test_index])
    return fit(features[rows], labels[rows]), out_of_fold


def _calibrate(
    scores: np.ndarray, truth: np.ndarray, rows: np.ndarray
) -> tuple[LogisticRegression, np.ndarray]:
    """A Platt (sigmoid) calibrator fitted on the `rows`' out-of-fold scores (not isotonic: a
    few hundred positives would overfit it), and every item's calibrated probability."""
    calibrator = LogisticRegression().fit(scores[rows].reshape(-1, 1), truth[rows])
    return calibrator, calibrator.predict_proba(scores.reshape(-1, 1))[:, 1]


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
    """Fit relevance, topics and region; calibrate each and tune its threshold on
    out-of-fold scores.

    Relevance is the mean of two calibrated probabilities: an NB-SVM's, and how far an
    item's likeliest main topic beats "not migration news". Each topic is a linear score on
    the relevant items (see `fit_topic`); region a multinomial logistic regression on them.

    Examples with a weight above 1 (the curator's feedback) are repeated for the final fit
    and left out of the cross-validation's scores, which measure the seed data only."""
    if not any(e.relevant for e in examples) or all(e.relevant for e in examples):
        raise UsageError("training needs both relevant and irrelevant examples")
    topics, regions = tuple(taxonomy.topics), tuple(taxonomy.regions)
    scarce = [t for t in topics if sum(t in e.topics for e in examples if e.relevant) < FOLDS]
    if scarce:
        raise UsageError(f"too few examples (under {FOLDS}) for: {', '.join(scarce)}")
    untopical = [e.id for e in examples if e.relevant and not e.topics]
    if untopical:
        raise UsageError(f"relevant examples without a topic: {', '.join(untopical[:5])}")
    fitted = [e for e in examples for _ in range(max(1, round(e.weight)))]

    blocks = _vectorizers()
    sources = texts(_items(fitted))
    for text, vectorizer, _weight in blocks:
        vectorizer.fit(sources[text])
    parts: dict[str, Any] = {"blocks": blocks, "topic_share": TOPIC_SHARE}
    features = featurize(parts, _items(fitted))

    # Calibration and thresholds are tuned on the seed data's out-of-fold scores; the final
    # fit also sees the curator's feedback, repeated by its weight.
    is_seed = np.array([e.weight <= 1 for e in fitted])
    relevant = np.array([e.relevant for e in fitted])
    everything = np.ones(len(fitted), dtype=bool)
    folds = list(StratifiedKFold(FOLDS, shuffle=True, random_state=SEED).split(features, relevant))

    main_topic = np.array([topics.index(e.topics[0]) + 1 if e.relevant else 0 for e in fitted])
    members, member_probabilities = [], []
    for fit, labels in ((fit_relevance, relevant), (fit_main_topic, main_topic)):
        scorer, out_of_fold = _cross_fit(fit, features, labels, everything, folds)
        calibrator, probabilities = _calibrate(out_of_fold, relevant, everything)
        members.append((scorer, calibrator))
        member_probabilities.append(probabilities)
    parts["relevance"] = members
    oof_relevance = np.mean(member_probabilities, axis=0)
    thresholds = {"relevance": best_threshold(relevant[is_seed], oof_relevance[is_seed])}

    pairs, oof_topics = [], []
    for slug in topics:
        truth = np.array([slug in e.topics for e in fitted])
        scorer, out_of_fold = _cross_fit(fit_topic, features, truth, relevant, folds)
        calibrator, probabilities = _calibrate(out_of_fold, truth, relevant)
        pairs.append((scorer, calibrator))
        oof_topics.append(probabilities)
        tuned = is_seed & relevant
        thresholds[slug] = best_threshold(truth[tuned], probabilities[tuned])
    parts["topics"] = pairs

    region_labels = np.array([e.region or "uk" for e in fitted])
    parts["region"] = _logistic().fit(features[relevant], region_labels[relevant])
    region_names = [str(r) for r in parts["region"].classes_]
    oof_regions = np.zeros((len(fitted), len(region_names)))
    for train_index, test_index in folds:
        train_rows = train_index[relevant[train_index]]
        region_model = _logistic().fit(features[train_rows], region_labels[train_rows])
        columns = [region_names.index(str(r)) for r in region_model.classes_]  # a fold may lack one
        oof_regions[np.ix_(test_index, columns)] = region_model.predict_proba(features[test_index])

    # The version names the data and the recipe: change either and it is a new model.
    recipe = repr(
        (
            [(text, v.get_params(), weight) for text, v, weight in blocks],
            _svm().get_params(),
            _logistic().get_params(),
            NB_ALPHA,
            TOPIC_SHARE,
            FOLDS,
            SEED,
        )
    )
    version = "m" + sha256((data_hash(examples) + recipe).encode()).hexdigest()[:12]
    model = TrainedClassifier(version, parts, thresholds, topics, regions)
    seed = np.flatnonzero(is_seed)
    oof = Scores(
        oof_relevance[seed],
        np.column_stack(oof_topics)[seed],
        oof_regions[seed],
        region_names,
    )
    predictions = decide(oof, thresholds, topics, TOPIC_SHARE)
    seed_examples = [fitted[i] for i in seed]
    return TrainingResult(model, evaluate(seed_examples, predictions, topics, regions))


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
