"""Precision, recall and F1 of predictions against labelled examples (pure)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from briefing.classify.data import Example
from briefing.classify.model import Prediction


@dataclass(frozen=True, slots=True)
class Score:
    label: str
    precision: float
    recall: float
    f1: float
    support: int  # gold positives


@dataclass(frozen=True, slots=True)
class Evaluation:
    items: int
    relevance: Score
    topics: tuple[Score, ...]
    topic_micro: Score
    topic_macro: Score
    regions: tuple[Score, ...]
    mistakes: tuple[tuple[str, int], ...]  # "gold -> predicted", how often

    def as_dict(self) -> dict[str, object]:
        def row(s: Score) -> dict[str, object]:
            return {"precision": s.precision, "recall": s.recall, "f1": s.f1, "support": s.support}

        return {
            "items": self.items,
            "relevance": row(self.relevance),
            "topics": {s.label: row(s) for s in self.topics},
            "topic_micro": row(self.topic_micro),
            "topic_macro": row(self.topic_macro),
            "regions": {s.label: row(s) for s in self.regions},
        }

    def lines(self) -> list[str]:
        out = [
            f"{self.items} items",
            f"{'label':<28} {'prec':>6} {'recall':>6} {'F1':>6} {'support':>7}",
        ]
        for score in (
            self.relevance,
            *self.topics,
            self.topic_micro,
            self.topic_macro,
            *self.regions,
        ):
            out.append(
                f"{score.label:<28} {score.precision:6.3f} {score.recall:6.3f} "
                f"{score.f1:6.3f} {score.support:7d}"
            )
        out.append("most frequent mistakes (gold -> predicted):")
        out.extend(f"  {count:4d}  {what}" for what, count in self.mistakes)
        return out


def score(label: str, true_pos: int, false_pos: int, false_neg: int) -> Score:
    precision = true_pos / (true_pos + false_pos) if true_pos + false_pos else 0.0
    recall = true_pos / (true_pos + false_neg) if true_pos + false_neg else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Score(label, round(precision, 4), round(recall, 4), round(f1, 4), true_pos + false_neg)


def evaluate(
    examples: Sequence[Example],
    predictions: Sequence[Prediction],
    topics: Sequence[str],
    regions: Sequence[str],
    top_mistakes: int = 10,
) -> Evaluation:
    """Topics and regions are scored over all items: an item wrongly judged irrelevant loses
    its topics too, as it would in the briefing."""
    counts: Counter[tuple[str, str]] = Counter()  # (label, tp|fp|fn)
    mistakes: Counter[str] = Counter()
    for gold, guess in zip(examples, predictions, strict=True):
        _count(
            counts,
            "relevance",
            {True} if gold.relevant else set(),
            {True} if guess.relevant else set(),
        )
        if gold.relevant != guess.relevant:
            mistakes[
                "relevant -> not relevant" if gold.relevant else "not relevant -> relevant"
            ] += 1
        predicted_topics = {slug for slug, _ in guess.topics}
        for slug in topics:
            _count(
                counts,
                slug,
                {True} if slug in gold.topics else set(),
                {True} if slug in predicted_topics else set(),
            )
        if gold.relevant and guess.relevant:
            for missed in set(gold.topics) - predicted_topics:
                extra = sorted(predicted_topics - set(gold.topics)) or ["nothing else"]
                mistakes[f"topic {missed} -> {extra[0]}"] += 1
            if gold.region != guess.region:
                mistakes[f"region {gold.region} -> {guess.region}"] += 1
        for region in regions:
            _count(
                counts,
                f"region:{region}",
                {True} if gold.region == region else set(),
                {True} if guess.region == region else set(),
            )

    def label_score(label: str, shown: str | None = None) -> Score:
        return score(shown or label, counts[label, "tp"], counts[label, "fp"], counts[label, "fn"])

    topic_scores = tuple(label_score(slug) for slug in topics)
    totals = (sum(counts[s, kind] for s in topics) for kind in ("tp", "fp", "fn"))
    micro = score("topics (micro)", *totals)
    with_support = [s for s in topic_scores if s.support]
    macro_f1 = sum(s.f1 for s in with_support) / len(with_support) if with_support else 0.0
    macro = Score(
        "topics (macro)",
        round(sum(s.precision for s in with_support) / max(len(with_support), 1), 4),
        round(sum(s.recall for s in with_support) / max(len(with_support), 1), 4),
        round(macro_f1, 4),
        micro.support,
    )
    return Evaluation(
        items=len(examples),
        relevance=label_score("relevance"),
        topics=topic_scores,
        topic_micro=micro,
        topic_macro=macro,
        regions=tuple(label_score(f"region:{r}") for r in regions),
        mistakes=tuple(mistakes.most_common(top_mistakes)),
    )


def _count(counts: Counter[tuple[str, str]], label: str, gold: set[bool], guess: set[bool]) -> None:
    if gold and guess:
        counts[label, "tp"] += 1
    elif guess:
        counts[label, "fp"] += 1
    elif gold:
        counts[label, "fn"] += 1
