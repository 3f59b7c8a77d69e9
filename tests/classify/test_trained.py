"""The trained classifier: training, artefacts, the registry, feedback and quality."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine

from briefing.classify.data import Example, load_seed
from briefing.classify.evaluate import evaluate
from briefing.classify.model import ItemText, load_classifier
from briefing.classify.train import (
    TrainingResult,
    current_version,
    list_models,
    load_current,
    save_model,
    train,
    use_version,
)
from briefing.classify.trained import (
    META_FILE,
    MODEL_FILE,
    TrainedClassifier,
    _first_recipe,
    choose_topics,
    load_trained,
)
from briefing.config.settings import load_settings
from briefing.config.taxonomy import default_taxonomy
from briefing.db.engine import make_engine, session_scope
from briefing.db.feedback import feedback_examples
from briefing.db.models import CurationEvent, Edition, Item, ItemLabel, ItemTopic
from briefing.errors import ConfigError, UsageError
from briefing.pipeline import Context, train_model
from tests.conftest import ROOT

TAXONOMY = default_taxonomy()
SEED = load_seed(ROOT / "classifiers" / "training", TAXONOMY)
MODELS = ROOT / "classifiers" / "models"


def subset(step: int) -> list[Example]:
    return [e for n, e in enumerate(e for e in SEED if not e.held_back) if n % step == 0]


@pytest.fixture(scope="module")
def small() -> TrainingResult:
    return train(subset(8), TAXONOMY)


def test_training_is_deterministic(small: TrainingResult) -> None:
    again = train(subset(8), TAXONOMY)
    assert again.model.version == small.model.version
    assert again.model.thresholds == small.model.thresholds
    items = [ItemText(e.title, e.summary) for e in SEED[:50]]
    assert again.model.predict(items) == small.model.predict(items)


def test_artefact_round_trip_is_small_and_safe(small: TrainingResult, tmp_path: Path) -> None:
    cv = small.cross_validated
    folder = save_model(small, tmp_path, cv, cv, {"taxonomy_version": 1})
    assert (folder / MODEL_FILE).stat().st_size < 20_000_000
    loaded = load_trained(folder)
    items = [ItemText(e.title, e.summary) for e in SEED[:50]]
    assert loaded.predict(items) == small.model.predict(items)
    meta = json.loads((folder / META_FILE).read_text())
    assert set(meta["topics"]) == set(TAXONOMY.topics)
    meta["sklearn"] = "0.0.1"
    (folder / META_FILE).write_text(json.dumps(meta))
    with pytest.raises(ConfigError, match="run `briefing train` again"):
        load_trained(folder)
    meta["sklearn"] = json.loads(
        (ROOT / "classifiers" / "models" / str(current_version(MODELS)) / META_FILE).read_text()
    )["sklearn"]
    (folder / META_FILE).write_text(json.dumps(meta))
    with (folder / MODEL_FILE).open("ab") as model_file:
        model_file.write(b"tampered")
    with pytest.raises(ConfigError, match="does not match the hash"):
        load_trained(folder)


def test_registry_promotes_and_rolls_back(small: TrainingResult, tmp_path: Path) -> None:
    cv = small.cross_validated
    save_model(small, tmp_path, cv, cv, {"taxonomy_version": 1, "examples": 9})
    assert current_version(tmp_path) is None and load_current(tmp_path) is None
    use_version(tmp_path, small.model.version)
    assert load_current(tmp_path) is not None
    assert load_classifier(tmp_path).version == small.model.version
    assert [row["version"] for row in list_models(tmp_path)] == [small.model.version]
    with pytest.raises(UsageError, match="no model 'm-nope'"):
        use_version(tmp_path, "m-nope")


def test_explanations_name_the_words(small: TrainingResult) -> None:
    headline = "Record number of migrants cross the Channel in small boats"
    why = small.model.explain(ItemText(headline))
    assert why.relevance > 0.5
    ups = [t.term for t in why.relevance_terms if t.weight > 0]
    assert any("migrants" in term or "boats" in term for term in ups), ups
    assert why.topics and all(terms for terms in why.topics.values())


def test_a_topic_after_the_first_must_pass_its_threshold_and_come_close() -> None:
    slugs = ("a", "b", "c", "d", "e")
    thresholds = dict.fromkeys(slugs, 0.3)
    assert choose_topics(np.array([0.1, 0.2, 0.0, 0.0, 0.0]), slugs, thresholds, 0.5) == (
        ("b", 0.2),
    )  # the likeliest topic, even below its threshold
    probabilities = np.array([0.9, 0.4, 0.5, 0.6, 0.7])
    assert [s for s, _ in choose_topics(probabilities, slugs, thresholds, 0.5)] == ["a", "e", "d"]
    assert [s for s, _ in choose_topics(probabilities, slugs, thresholds, 0.75)] == ["a", "e"]


def test_a_model_of_the_first_recipe_still_predicts(small: TrainingResult) -> None:
    """Models made before the NB-SVM recipe (one logistic regression per label, words of the
    title and of the body) stay usable for a rollback."""
    parts = small.model.parts
    (_, title_words, _), (_, words, _), (_, chars, _) = parts["blocks"]
    old = {
        "title_words": title_words,
        "body_words": words,
        "chars": chars,
        "relevance": parts["relevance"][0],
        "topics": parts["topics"],
        "region": parts["region"],
    }
    model = TrainedClassifier(
        "m-old", _first_recipe(old), small.model.thresholds, small.model.topics, ()
    )
    items = [ItemText(e.title, e.summary) for e in SEED[:50]]
    predictions = model.predict(items)
    assert len(predictions) == 50 and any(p.relevant for p in predictions)
    assert all(p.topics for p in predictions if p.relevant)
    assert model.explain(items[0]).relevance_terms


def test_both_label_sets_are_needed() -> None:
    with pytest.raises(UsageError, match="both relevant and irrelevant"):
        train([e for e in SEED if e.relevant][:50], TAXONOMY)


def _curated(engine: Engine) -> None:
    now = datetime(2026, 3, 10, 7, 0, tzinfo=UTC)
    with session_scope(engine) as session:
        edition = Edition(edition_date=now.date(), window_start=now, window_end=now)
        items = [
            Item(
                url=f"https://x.example/{n}",
                canonical_url=f"https://x.example/{n}",
                url_hash=f"h{n}",
                title=title,
                summary="",
                published_at=now,
                content_hash="c",
            )
            for n, title in enumerate(
                [
                    "Migrating birds return to the estuary",
                    "Council opens new welcome hub for refugees",
                    "Hotel for asylum seekers to close",
                ]
            )
        ]
        session.add_all([edition, *items])
        session.flush()
        items[2].label = ItemLabel(
            model_version="x",
            relevant=True,
            relevance=0.9,
            region="uk",
            segment="unknown",
            topics=[ItemTopic(topic="asylum-system", score=0.9)],
        )
        session.add_all(
            [
                CurationEvent(
                    edition_id=edition.id,
                    item_id=items[0].id,
                    action="remove",
                    detail={"reason": "not_relevant"},
                ),
                CurationEvent(
                    edition_id=edition.id,
                    item_id=items[1].id,
                    action="add",
                    detail={"section": "integration-welcome"},
                ),
                CurationEvent(
                    edition_id=edition.id,
                    item_id=items[2].id,
                    action="move",
                    detail={"section": "europe"},
                ),
                CurationEvent(
                    edition_id=edition.id,
                    item_id=items[2].id,
                    action="remove",
                    detail={"reason": "duplicate"},
                ),  # still migration news
            ]
        )


def test_curation_events_become_weighted_examples(engine: Engine) -> None:
    _curated(engine)
    with session_scope(engine, write=False) as session:
        examples = {e.title: e for e in feedback_examples(session, 3)}
    birds = examples["Migrating birds return to the estuary"]
    assert not birds.relevant and birds.weight == 3
    welcome = examples["Council opens new welcome hub for refugees"]
    assert welcome.relevant and welcome.topics == ("integration-welcome",)
    hotel = examples["Hotel for asylum seekers to close"]
    assert hotel.relevant and hotel.region == "europe" and hotel.topics == ("asylum-system",)


@pytest.mark.slow
def test_train_merges_feedback_and_promotes_only_without_regression(
    sqlite_template: Path, tmp_path: Path
) -> None:
    database = tmp_path / "feedback.db"
    shutil.copyfile(sqlite_template, database)
    database_url = f"sqlite:///{database}"
    engine = make_engine(database_url)
    _curated(engine)
    engine.dispose()
    seed_folder = tmp_path / "seed"
    seed_folder.mkdir()
    rows = [e for n, e in enumerate(SEED) if n % 8 == 0]
    (seed_folder / "seed.jsonl").write_text(
        "".join(
            json.dumps(
                {
                    "id": e.id,
                    "title": e.title,
                    "summary": e.summary,
                    "relevant": e.relevant,
                    "topics": list(e.topics),
                    "region": e.region,
                }
            )
            + "\n"
            for e in rows
        )
    )
    settings = load_settings(
        {"BRIEFING_DATABASE_URL": database_url, "BRIEFING_MODELS_DIR": str(tmp_path / "models")}
    )
    (tmp_path / "models").mkdir()
    ctx = Context(settings)
    first = train_model(ctx, seed_folder=seed_folder)
    assert first.promoted and first.feedback == 3 and first.previous is None
    assert current_version(tmp_path / "models") == first.version
    without = train_model(ctx, seed_folder=seed_folder, feedback=False)
    assert without.version != first.version  # different data, different model
    assert without.promoted == (
        without.held_back.relevance.f1 >= first.held_back.relevance.f1 - 0.005
        and without.held_back.topic_micro.f1 >= first.held_back.topic_micro.f1 - 0.005
    )
    assert len(list_models(tmp_path / "models")) == 2
    ctx.close()


def _held_back_report():  # type: ignore[no-untyped-def]
    model = load_current(MODELS)
    if model is None:
        pytest.fail("no promoted model in classifiers/models: run `briefing train`")
    held = [e for e in SEED if e.held_back]
    assert len(held) >= 300
    return evaluate(
        held,
        model.predict([ItemText(e.title, e.summary) for e in held]),
        list(TAXONOMY.topics),
        list(TAXONOMY.regions),
    )


def test_the_shipped_model_meets_the_relevance_bar() -> None:
    """On the held-back slice, never trained on (see classifiers/README.md)."""
    report = _held_back_report()
    assert report.relevance.f1 >= 0.93, report.lines()


def test_the_shipped_model_meets_the_topic_bar_on_relevant_items() -> None:
    """Topic micro-F1 of the topic models on the held-back items that are migration news."""
    model = load_current(MODELS)
    assert model is not None
    held = [e for e in SEED if e.held_back and e.relevant]
    items = [ItemText(e.title, e.summary) for e in held]
    report = evaluate(
        held,
        model.predict(items, assume_relevant=True),
        list(TAXONOMY.topics),
        list(TAXONOMY.regions),
    )
    assert report.topic_micro.f1 >= 0.80, report.lines()


@pytest.mark.xfail(
    strict=True,
    reason="open: end to end (an item wrongly judged irrelevant loses its topics), topic "
    "micro-F1 on the held-back slice is 0.791; the bar is 0.80",
)
def test_the_shipped_model_meets_the_topic_bar_end_to_end() -> None:
    report = _held_back_report()
    assert report.topic_micro.f1 >= 0.80, report.lines()


def test_the_shipped_model_was_trained_on_this_data() -> None:
    model = load_current(MODELS)
    assert model is not None
    meta = model.metadata
    held_ids = {e.id for e in SEED if e.held_back}
    assert meta["training"]["held_back"] == len(held_ids)
    assert meta["training"]["examples"] == len(SEED) - len(held_ids) + meta["training"]["feedback"]


def test_copying_a_model_folder_keeps_it_loadable(tmp_path: Path) -> None:
    version = current_version(MODELS)
    assert version is not None
    shutil.copytree(MODELS / version, tmp_path / version)
    assert load_trained(tmp_path / version).version == version
