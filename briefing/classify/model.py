"""What a classifier takes and gives, and how the stage finds one (I/O at load only)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
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


def load_classifier(models: Path) -> Classifier:
    """The promoted trained model in `models`, or the keyword baseline when there is none."""
    from briefing.classify.baseline import load_baseline
    from briefing.classify.train import load_current

    return load_current(models) or load_baseline()
