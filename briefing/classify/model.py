"""What a classifier takes and gives, and how the stage finds one (I/O at load only)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class ItemText:
    title: str
    summary: str = ""
    full_text: str = ""


@dataclass(frozen=True, slots=True)
class Prediction:
    relevant: bool
    relevance: float  # 0..1
    topics: tuple[tuple[str, float], ...]  # (slug, score), best first; empty when not relevant
    region: str | None  # None when not relevant


class Classifier(Protocol):
    @property
    def version(self) -> str: ...

    @property
    def description(self) -> str: ...

    def predict(self, items: Sequence[ItemText]) -> list[Prediction]: ...


def load_classifier() -> Classifier:
    """The classifier the pipeline uses; the keyword baseline until a trained model lands."""
    from briefing.classify.baseline import load_baseline

    return load_baseline()
