"""sources.yaml: the outlets and feeds briefing reads, validated with line-precise errors."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from briefing.config.taxonomy import Taxonomy, default_taxonomy
from briefing.errors import SourcesError

_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_DOMAIN = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}")
_DURATION = re.compile(r"(\d+)\s*(s|m|h|d)")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _check_slug(value: str) -> str:
    if not _SLUG.fullmatch(value):
        raise ValueError(f"{value!r} is not a slug (lowercase letters, digits and hyphens)")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class FeedSource(_Strict):
    url: str
    name: str = Field(min_length=1)
    every: str | None = None

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value

    @field_validator("every")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None and not _DURATION.fullmatch(value):
            raise ValueError(f"{value!r} is not a duration such as 15m, 2h or 1d")
        return value

    @property
    def every_seconds(self) -> int | None:
        if self.every is None:
            return None
        match = _DURATION.fullmatch(self.every)
        assert match is not None  # checked by the validator
        return int(match[1]) * _UNIT_SECONDS[match[2]]


class Outlet(_Strict):
    slug: str
    name: str = Field(min_length=1)
    segment: str
    country: str
    language: str
    domains: tuple[str, ...] = Field(min_length=1)
    paywall: bool = False  # known to be paywalled: its link is not the story's first choice
    feeds: tuple[FeedSource, ...] = ()

    _slug = field_validator("slug")(_check_slug)

    @field_validator("country")
    @classmethod
    def _country(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Z]{2}", value):
            raise ValueError(f"{value!r} is not an ISO 3166 alpha-2 code such as GB")
        return value

    @field_validator("language")
    @classmethod
    def _language(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z]{2}", value):
            raise ValueError(f"{value!r} is not an ISO 639-1 code such as en")
        return value

    @field_validator("domains")
    @classmethod
    def _domains(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for domain in value:
            if not _DOMAIN.fullmatch(domain):
                raise ValueError(f"{domain!r} is not a bare domain such as bbc.co.uk")
        return value


class Aggregator(_Strict):
    slug: str
    name: str = Field(min_length=1)
    feeds: tuple[FeedSource, ...] = Field(min_length=1)

    _slug = field_validator("slug")(_check_slug)


class _SourcesFile(_Strict):
    outlets: tuple[Outlet, ...] = ()
    aggregators: tuple[Aggregator, ...] = ()


@dataclass(frozen=True, slots=True)
class Sources:
    outlets: tuple[Outlet, ...]
    aggregators: tuple[Aggregator, ...]

    @property
    def all(self) -> tuple[Outlet | Aggregator, ...]:
        return (*self.outlets, *self.aggregators)

    def iter_feeds(self) -> Iterator[tuple[Outlet | Aggregator, FeedSource]]:
        for source in self.all:
            for feed in source.feeds:
                yield source, feed

    def outlet_for_url(self, url: str) -> Outlet | None:
        """The outlet that publishes at this URL's host, by its declared domains."""
        host = (urlsplit(url).hostname or "").lower().rstrip(".")
        best: tuple[int, Outlet] | None = None
        for outlet in self.outlets:
            for domain in outlet.domains:
                if (host == domain or host.endswith("." + domain)) and (
                    best is None or len(domain) > best[0]
                ):
                    best = (len(domain), outlet)
        return best[1] if best else None


def load_sources(path: Path, taxonomy: Taxonomy | None = None) -> Sources:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise SourcesError(str(path), [f"cannot read the file ({e})"]) from None
    return parse_sources(text, str(path), taxonomy or default_taxonomy())


def parse_sources(text: str, name: str, taxonomy: Taxonomy) -> Sources:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problem = getattr(e, "problem", None) or "not valid YAML"
        raise SourcesError(name, [f"line {mark.line + 1 if mark else 1}: {problem}"]) from None
    if not isinstance(data, dict):
        raise SourcesError(name, ["line 1: expected a mapping with 'outlets' and 'aggregators'"])
    try:
        parsed = _SourcesFile.model_validate(data)
    except ValidationError as e:
        problems = [_describe(root, err["loc"], _message(err)) for err in e.errors()]
        raise SourcesError(name, problems) from None
    problems = [_describe(root, loc, message) for loc, message in _cross_checks(parsed, taxonomy)]
    if problems:
        raise SourcesError(name, problems)
    return Sources(parsed.outlets, parsed.aggregators)


def _cross_checks(
    parsed: _SourcesFile, taxonomy: Taxonomy
) -> Iterator[tuple[tuple[str | int, ...], str]]:
    slugs: dict[str, str] = {}
    urls: dict[str, str] = {}
    domains: dict[str, str] = {}
    groups: tuple[tuple[str, Sequence[Outlet | Aggregator]], ...] = (
        ("outlets", parsed.outlets),
        ("aggregators", parsed.aggregators),
    )
    for group, sources in groups:
        for i, source in enumerate(sources):
            if source.slug in slugs:
                yield (group, i, "slug"), f"{source.slug!r} is already used by {slugs[source.slug]}"
            slugs.setdefault(source.slug, f"{group}[{i}]")
            if isinstance(source, Outlet):
                if source.segment not in taxonomy.segments:
                    yield (
                        (group, i, "segment"),
                        (
                            f"{source.segment!r} is not a taxonomy segment "
                            f"(one of {', '.join(taxonomy.segments)})"
                        ),
                    )
                for j, domain in enumerate(source.domains):
                    if domain in domains and domains[domain] != source.slug:
                        yield (
                            (group, i, "domains", j),
                            (f"{domain!r} already belongs to outlet {domains[domain]!r}"),
                        )
                    domains.setdefault(domain, source.slug)
            for j, feed in enumerate(source.feeds):
                if feed.url in urls:
                    yield (group, i, "feeds", j, "url"), f"feed already listed by {urls[feed.url]}"
                urls.setdefault(feed.url, source.slug)


def _message(error: Any) -> str:
    kind = error["type"]
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a known field"
    return str(error["msg"]).removeprefix("Value error, ")


def _describe(root: yaml.Node | None, loc: Sequence[str | int], message: str) -> str:
    path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)
    return f"line {_line_of(root, loc)}: {path.lstrip('.')} {message}"


def _line_of(node: yaml.Node | None, loc: Sequence[str | int]) -> int:
    """The line of the deepest YAML node that `loc` reaches (1-based)."""
    line = node.start_mark.line + 1 if node else 1
    for part in loc:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            child = node.value[part] if part < len(node.value) else None
        if child is None:
            break
        node, line = child, child.start_mark.line + 1
    return line
