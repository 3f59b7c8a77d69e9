from __future__ import annotations

from briefing.classify.data import Example
from briefing.classify.evaluate import evaluate, score
from briefing.classify.model import Prediction

TOPICS = ["channel-crossings", "asylum-system"]
REGIONS = ["uk", "europe", "international"]


def example(relevant: bool, topics: tuple[str, ...] = (), region: str | None = None) -> Example:
    return Example("x", "t", "", relevant, topics, region)


def test_score_arithmetic() -> None:
    s = score("x", true_pos=3, false_pos=1, false_neg=2)
    assert (s.precision, s.recall, s.f1, s.support) == (0.75, 0.6, 0.6667, 5)
    assert score("empty", 0, 0, 0).f1 == 0.0


def test_topics_are_lost_with_relevance() -> None:
    gold = [
        example(True, ("channel-crossings",), "uk"),
        example(True, ("asylum-system",), "uk"),
        example(False),
        example(True, ("channel-crossings", "asylum-system"), "europe"),
    ]
    guess = [
        Prediction(True, 0.9, (("channel-crossings", 0.9),), "uk"),
        Prediction(False, 0.2, (), None),  # missed: its topic is missed too
        Prediction(True, 0.7, (("asylum-system", 0.6),), "uk"),  # a false positive
        Prediction(True, 0.8, (("channel-crossings", 0.8),), "uk"),
    ]
    report = evaluate(gold, guess, TOPICS, REGIONS)
    two_thirds = round(2 / 3, 4)
    assert report.relevance.precision == two_thirds and report.relevance.recall == two_thirds
    crossings, asylum = report.topics
    assert (crossings.precision, crossings.recall) == (1.0, 1.0)
    assert (asylum.precision, asylum.recall) == (0.0, 0.0)
    assert report.topic_micro.precision == round(2 / 3, 4)
    assert report.topic_micro.recall == 0.5
    assert dict(report.mistakes)["region europe -> uk"] == 1
    assert dict(report.mistakes)["topic asylum-system -> nothing else"] == 1
    assert "relevance" in "\n".join(report.lines())
