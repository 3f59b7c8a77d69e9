"""Labelled examples: the seed data in classifiers/training/ and the curator's feedback (pure
apart from reading files)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from briefing.classify.model import ItemText
from briefing.config.taxonomy import Taxonomy
from briefing.errors import UsageError

HELD_BACK_PERCENT = 15  # of the seed data, never trained on: the promotion and quality gate


@dataclass(frozen=True, slots=True)
class Example:
    id: str
    title: str
    summary: str
    relevant: bool
    topics: tuple[str, ...]
    region: str | None
    full_text: str = ""
    weight: float = 1.0
    outlet: str = ""

    @property
    def text(self) -> ItemText:
        return ItemText(self.title, self.summary, self.full_text)

    @property
    def held_back(self) -> bool:
        """A fixed slice chosen by the id's hash: stable as data is added."""
        digest = hashlib.sha256(self.id.encode("utf-8")).digest()
        return int.from_bytes(digest[:4], "big") % 100 < HELD_BACK_PERCENT


def read_examples(lines: Iterable[str], name: str, taxonomy: Taxonomy) -> list[Example]:
    """Examples from JSON lines; a gold file for `briefing evaluate` has the same shape."""
    examples = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            example = Example(
                id=str(raw.get("id", f"{name}:{number}")),
                title=str(raw["title"]),
                summary=str(raw.get("summary") or ""),
                relevant=bool(raw["relevant"]),
                topics=tuple(raw.get("topics") or ()),
                region=raw.get("region") or None,
                full_text=str(raw.get("full_text") or ""),
                outlet=str(raw.get("outlet") or ""),
            )
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as e:
            raise UsageError(f"{name}: line {number}: not a labelled item ({e})") from None
        unknown = [t for t in example.topics if t not in taxonomy.topics]
        if example.region is not None and example.region not in taxonomy.regions:
            unknown.append(example.region)
        if unknown:
            raise UsageError(f"{name}: line {number}: not taxonomy slugs: {', '.join(unknown)}")
        examples.append(example)
    return examples


def load_seed(folder: Path, taxonomy: Taxonomy) -> list[Example]:
    examples: list[Example] = []
    for path in sorted(folder.glob("*.jsonl")):
        with path.open(encoding="utf-8") as lines:
            examples.extend(read_examples(lines, path.name, taxonomy))
    return examples


def data_hash(examples: Iterable[Example]) -> str:
    digest = hashlib.sha256()
    for example in examples:
        digest.update(repr(example).encode("utf-8"))
    return digest.hexdigest()
