"""The label vocabulary (classifiers/taxonomy.yaml): its slugs are a public contract."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from briefing.errors import ConfigError
from briefing.resources import data_path

UNKNOWN_SEGMENT = "unknown"  # items whose publisher matches no outlet


@dataclass(frozen=True, slots=True)
class Taxonomy:
    version: int
    topics: dict[str, str]  # slug -> human label, in the taxonomy's order
    regions: dict[str, str]  # slug -> scope
    segments: dict[str, str]  # slug -> scope

    def topic_label(self, slug: str) -> str:
        return self.topics.get(slug, slug)


def load_taxonomy(path: Path | None = None) -> Taxonomy:
    path = path or data_path("classifiers/taxonomy.yaml")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        return Taxonomy(
            version=int(raw["version"]),
            topics={slug: str(spec["label"]) for slug, spec in raw["topics"].items()},
            regions={slug: str(scope) for slug, scope in raw["regions"].items()},
            segments={slug: str(scope) for slug, scope in raw["segments"].items()},
        )
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError, AttributeError) as e:
        raise ConfigError(f"{path}: not a valid taxonomy") from e


@cache
def default_taxonomy() -> Taxonomy:
    return load_taxonomy()
