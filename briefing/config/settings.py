"""Settings: briefing.toml overlaid by BRIEFING_<KEY> environment variables (I/O at load only)."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from datetime import time
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from briefing.config.taxonomy import default_taxonomy
from briefing.errors import ConfigError
from briefing.rank.policy import (
    DEFAULT_PRIORITY_TOPICS,
    DEFAULT_SEGMENT_WEIGHTS,
    DEFAULT_WEIGHTS,
    MAX_ENTRIES,
    SECTION_MAX,
    TOP_STORIES,
    RankPolicy,
)
from briefing.resources import data_path

ENV_PREFIX = "BRIEFING_"
# Read only from the environment so they never sit in a file that gets copied around.
SECRETS = frozenset({"smtp_password", "secret_key"})
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _split_words(value: object) -> object:
    if isinstance(value, str):
        return tuple(word.strip().lower() for word in value.split(",") if word.strip())
    return value


def _split_pairs(value: object) -> object:
    """ "outlets=0.5, recency=0.1" (an environment variable) as a mapping."""
    if isinstance(value, str):
        pairs = [pair.partition("=") for pair in value.split(",") if pair.strip()]
        if any(not sep for _, sep, _ in pairs):
            raise ValueError("expected name=number pairs separated by commas")
        return {name.strip().lower(): number.strip() for name, _, number in pairs}
    return value


Words = Annotated[tuple[str, ...], BeforeValidator(_split_words)]
Weights = Annotated[dict[str, Annotated[float, Field(ge=0, le=10)]], BeforeValidator(_split_pairs)]


class Settings(BaseModel):
    """Every setting, its default and its meaning; docs/settings.md is checked against it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    database_url: str = Field(
        "sqlite:///var/briefing.db", description="SQLAlchemy URL of the database."
    )
    sources: Path = Field(
        default_factory=lambda: data_path("sources.yaml"),
        description="Path of sources.yaml (default: the bundled one).",
    )
    var_dir: Path = Field(Path("var"), description="Folder for runtime files (outbox, logs).")
    models_dir: Path = Field(
        default_factory=lambda: data_path("classifiers/models"),
        description="Folder of trained models; `briefing train` writes here "
        "(default: the bundled one).",
    )
    timezone: str = Field("Europe/London", description="Time zone that defines an edition day.")
    compose_at: time = Field(time(6, 30), description="Local time the draft is composed (HH:MM).")
    send_at: time = Field(time(8, 0), description="Local time the edition is sent (HH:MM).")
    edition_days: Annotated[tuple[Weekday, ...], BeforeValidator(_split_words)] = Field(
        ("mon", "tue", "wed", "thu", "fri"), description="Days with an edition, e.g. mon,tue,wed."
    )
    auto_send: bool = Field(True, description="Send the automated draft if nobody approves it.")
    fetch_every_minutes: int = Field(
        30, ge=1, le=1440, description="Starting poll interval of a feed, in minutes."
    )
    fetch_min_minutes: int = Field(
        10, ge=1, le=1440, description="Shortest interval a busy feed's polling adapts to."
    )
    fetch_max_minutes: int = Field(
        240, ge=1, le=10080, description="Longest interval a quiet feed's polling adapts to."
    )
    fetch_concurrency: int = Field(
        20, ge=1, le=200, description="Requests in flight at once, all hosts together."
    )
    fetch_host_delay_seconds: float = Field(
        0.5, ge=0, le=60, description="Pause between two requests to the same host."
    )
    fetch_allow_private: bool = Field(
        False,
        description="Allow loopback and private addresses when adding a story by URL; "
        "for tests only (cloud metadata and link-local addresses stay refused).",
    )
    unhealthy_after_failures: int = Field(
        5, ge=1, le=100, description="Failures in a row before a feed is reported unhealthy."
    )
    top_stories: int = Field(
        TOP_STORIES, ge=0, le=20, description="Stories in the Top stories section."
    )
    max_entries: int = Field(MAX_ENTRIES, ge=1, le=200, description="Most stories in one edition.")
    section_max: int = Field(
        SECTION_MAX, ge=1, le=200, description="Most stories in any other section."
    )
    section_order: Words = Field(
        (),
        description="Topic sections in this order, e.g. detention,asylum-system; "
        "unlisted topics follow in the taxonomy's order.",
    )
    priority_topics: Words = Field(
        DEFAULT_PRIORITY_TOPICS, description="Topics whose stories rank higher (topic slugs)."
    )
    rank_weights: Weights = Field(
        default_factory=dict,
        description="Weights of the score parts, e.g. outlets=0.5,recency=0.1 "
        f"(defaults: {', '.join(f'{k}={v}' for k, v in DEFAULT_WEIGHTS.items())}).",
    )
    segment_weights: Weights = Field(
        default_factory=dict,
        description="Score for coverage in each audience segment, e.g. local-regional=0.1 "
        f"(defaults: {', '.join(f'{k}={v}' for k, v in DEFAULT_SEGMENT_WEIGHTS.items())}).",
    )
    contact_email: str = Field(
        "", description="Contact address sent in the User-Agent of every request."
    )
    smtp_host: str = Field("localhost", description="SMTP server host.")
    smtp_port: int = Field(587, ge=1, le=65535, description="SMTP server port.")
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        "starttls", description="starttls, tls (implicit, port 465) or none (loopback only)."
    )
    smtp_username: str = Field("", description="SMTP user name.")
    smtp_ca_file: str = Field(
        "",
        description="PEM file of certificates to trust for the SMTP server "
        "(default: the system's).",
    )
    smtp_password: SecretStr = Field(SecretStr(""), description="SMTP password.")
    list_address: str = Field("", description="The Google Group address the edition goes to.")
    from_address: str = Field("", description="Sender address (on the group's domain).")
    reply_to: str = Field("", description="Reply-To address of the edition (the comms team).")
    alert_address: str = Field(
        "", description="Staff address that alerts go to (they are always logged too)."
    )
    late_grace_minutes: int = Field(
        90,
        ge=0,
        le=720,
        description="How late, after downtime or while the mail server is down, a compose "
        "or send may still run; later, it alerts instead.",
    )
    retrain_weekday: Weekday = Field("sun", description="Day of the weekly retraining (04:30).")
    prune_after_days: int = Field(
        90, ge=7, le=3650, description="Irrelevant items older than this are deleted nightly."
    )
    unhealthy_alert_share: float = Field(
        0.25, ge=0, le=1, description="Alert when more than this share of feeds is unhealthy."
    )
    spike_alerts: bool = Field(
        False,
        description="Alert when a topic's coverage today is far above its four-week average.",
    )
    scheduler_lease_seconds: int = Field(
        60,
        ge=3,
        le=3600,
        description="How long a silent scheduler keeps its lease before another may take over.",
    )
    log_format: Literal["text", "json"] = Field(
        "text", description="Log lines as text, or as one JSON object each."
    )
    secret_key: SecretStr = Field(SecretStr(""), description="Key that signs web sessions.")
    web_secure_cookies: bool = Field(
        False, description="Send the session cookie over https only (behind an https proxy)."
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("edition_days")
    @classmethod
    def _some_days(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("at least one day is needed")
        return tuple(sorted(set(value), key=WEEKDAYS.index))

    @field_validator("section_order", "priority_topics")
    @classmethod
    def _known_topics(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [t for t in value if t not in default_taxonomy().topics]
        if unknown:
            raise ValueError(f"not topic slugs: {', '.join(unknown)} (see taxonomy.yaml)")
        return value

    @field_validator("rank_weights")
    @classmethod
    def _known_parts(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = [name for name in value if name not in DEFAULT_WEIGHTS]
        if unknown:
            raise ValueError(
                f"unknown score parts: {', '.join(unknown)}; known: {', '.join(DEFAULT_WEIGHTS)}"
            )
        return value

    @field_validator("segment_weights")
    @classmethod
    def _known_segments(cls, value: dict[str, float]) -> dict[str, float]:
        segments = default_taxonomy().segments
        unknown = [name for name in value if name not in segments]
        if unknown:
            raise ValueError(f"not segment slugs: {', '.join(unknown)}")
        return value

    @model_validator(mode="after")
    def _intervals_in_order(self) -> Settings:
        if not self.fetch_min_minutes <= self.fetch_max_minutes:
            raise ValueError("fetch_min_minutes must not exceed fetch_max_minutes")
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def outbox_dir(self) -> Path:
        return self.var_dir / "outbox"

    @property
    def rank_policy(self) -> RankPolicy:
        return RankPolicy(
            weights={**DEFAULT_WEIGHTS, **self.rank_weights},
            segment_weights={**DEFAULT_SEGMENT_WEIGHTS, **self.segment_weights},
            priority_topics=self.priority_topics,
            top_stories=self.top_stories,
            max_entries=self.max_entries,
            section_max=self.section_max,
            topic_order=self.section_order,
        )


def load_settings(
    environ: Mapping[str, str] | None = None, config_path: Path | None = None
) -> Settings:
    """Read briefing.toml (from the argument, BRIEFING_CONFIG or ./briefing.toml) and the env."""
    environ = os.environ if environ is None else environ
    explicit = config_path or (
        Path(environ[ENV_PREFIX + "CONFIG"]) if environ.get(ENV_PREFIX + "CONFIG") else None
    )
    path = explicit or Path("briefing.toml")
    values: dict[str, object] = {}
    origin: dict[str, str] = {}
    if explicit and not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    if path.is_file():
        try:
            values = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise ConfigError(f"{path}: not valid TOML: {e}") from None
        for key in values:
            origin[key] = f"{path}"
            if key in SECRETS:
                raise ConfigError(
                    f"{path}: {key}: secrets are read only from the environment "
                    f"({ENV_PREFIX}{key.upper()})"
                )
    for name in Settings.model_fields:
        raw = environ.get(ENV_PREFIX + name.upper())
        if raw is not None:
            values[name] = raw
            origin[name] = ENV_PREFIX + name.upper()
    try:
        return Settings.model_validate(values)
    except ValidationError as e:
        problems = []
        for error in e.errors():
            message = str(error["msg"]).removeprefix("Value error, ")
            if not error["loc"]:  # a rule across several settings
                problems.append(f"settings: {message}")
                continue
            key = ".".join(str(part) for part in error["loc"])
            where = origin.get(str(error["loc"][0]), "")
            problems.append(f"setting {key}" + (f" ({where})" if where else "") + f": {message}")
        raise ConfigError("; ".join(problems)) from None
