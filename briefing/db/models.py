"""The database tables; the only module that declares them (migrations live in alembic/)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC in, aware UTC out; SQLite would otherwise drop the offset silently."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[Any]: JSON()}


def utcnow() -> datetime:
    return datetime.now(UTC)


class EditionStatus(StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNKNOWN = "unknown"  # the process died or the connection dropped mid-send


class Role(StrEnum):
    ADMIN = "admin"
    EDITOR = "editor"
    VIEWER = "viewer"


class Outlet(Base):
    """A publisher (or an aggregator) from sources.yaml."""

    __tablename__ = "outlets"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    is_aggregator: Mapped[bool] = mapped_column(Boolean, default=False)
    segment: Mapped[str | None] = mapped_column(String(32))
    country: Mapped[str | None] = mapped_column(String(2))
    language: Mapped[str | None] = mapped_column(String(8))
    domains: Mapped[list[Any]] = mapped_column(default=list)
    paywalled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    feeds: Mapped[list[Feed]] = relationship(back_populates="outlet")


class Feed(Base):
    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    outlet_id: Mapped[int] = mapped_column(ForeignKey("outlets.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2000), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    every_seconds: Mapped[int | None] = mapped_column(Integer)  # from sources.yaml: a start
    interval_seconds: Mapped[int | None] = mapped_column(Integer)  # adapted to its publishing
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Conditional GET validators and a hash of the last body (some servers lie with 304s).
    etag: Mapped[str | None] = mapped_column(String(500))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    body_hash: Mapped[str | None] = mapped_column(String(64))
    last_fetched_at: Mapped[datetime | None]
    last_full_fetch_at: Mapped[datetime | None]  # the last fetch without validators
    last_http_status: Mapped[int | None] = mapped_column(Integer)
    last_latency_ms: Mapped[int | None] = mapped_column(Integer)
    next_fetch_at: Mapped[datetime | None] = mapped_column(index=True)
    last_status: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_new_item_at: Mapped[datetime | None]

    outlet: Mapped[Outlet] = relationship(back_populates="feeds")


class Story(Base):
    """Items from several outlets that report the same event."""

    __tablename__ = "stories"

    id: Mapped[int] = mapped_column(primary_key=True)
    first_published_at: Mapped[datetime] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Item(Base):
    """One article, whichever feeds it appeared in."""

    __tablename__ = "items"
    __table_args__ = (
        Index("ix_items_outlet_published", "outlet_id", "published_at"),
        # A date range's lowest and highest id without reading the table (archive search).
        Index("ix_items_published_id", "published_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    feed_id: Mapped[int | None] = mapped_column(ForeignKey("feeds.id", ondelete="SET NULL"))
    outlet_id: Mapped[int | None] = mapped_column(
        ForeignKey("outlets.id", ondelete="SET NULL"), index=True
    )
    publisher_domain: Mapped[str] = mapped_column(String(255), default="")
    publisher_name: Mapped[str] = mapped_column(String(200), default="")  # as an aggregator says
    url: Mapped[str] = mapped_column(Text)
    canonical_url: Mapped[str] = mapped_column(Text)
    url_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of canonical_url
    guid: Mapped[str | None] = mapped_column(String(1000), index=True)
    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text, default="")
    full_text: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(500))
    image_url: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(8))
    published_at: Mapped[datetime]
    published_estimated: Mapped[bool] = mapped_column(Boolean, default=False)
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    content_hash: Mapped[str] = mapped_column(String(64))
    extract_status: Mapped[str | None] = mapped_column(String(32))
    story_id: Mapped[int | None] = mapped_column(
        ForeignKey("stories.id", ondelete="SET NULL"), index=True
    )

    outlet: Mapped[Outlet | None] = relationship()
    label: Mapped[ItemLabel | None] = relationship(back_populates="item")


class ItemFeed(Base):
    """Every feed an item appeared in."""

    __tablename__ = "item_feeds"

    item_id: Mapped[int] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), primary_key=True
    )
    feed_id: Mapped[int] = mapped_column(
        ForeignKey("feeds.id", ondelete="CASCADE"), primary_key=True
    )
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class ItemLabel(Base):
    """The current classification of an item."""

    __tablename__ = "item_labels"
    # The archive lists a segment's items, or those that made the briefing, newest first
    # (ids follow fetching).
    __table_args__ = (
        Index("ix_item_labels_segment", "segment", "item_id"),
        Index("ix_item_labels_sent", "sent", "item_id"),
    )

    item_id: Mapped[int] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), primary_key=True
    )
    model_version: Mapped[str] = mapped_column(String(64))
    relevant: Mapped[bool] = mapped_column(Boolean, index=True)
    relevance: Mapped[float] = mapped_column(Float)
    region: Mapped[str | None] = mapped_column(String(32))
    segment: Mapped[str] = mapped_column(String(32))
    labelled_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The item, or another report of its story, went out in a sent edition: set by the
    # archive's roll-up refresh (briefing.archive.rollup), which runs after every send.
    sent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    item: Mapped[Item] = relationship(back_populates="label")
    topics: Mapped[list[ItemTopic]] = relationship(
        cascade="all, delete-orphan", order_by="[ItemTopic.score.desc(), ItemTopic.topic]"
    )


class ItemTopic(Base):
    __tablename__ = "item_topics"
    __table_args__ = (Index("ix_item_topics_topic", "topic", "item_id"),)

    item_id: Mapped[int] = mapped_column(
        ForeignKey("item_labels.item_id", ondelete="CASCADE"), primary_key=True
    )
    topic: Mapped[str] = mapped_column(String(64), primary_key=True)
    score: Mapped[float] = mapped_column(Float)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    email: Mapped[str] = mapped_column(String(320), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default=Role.VIEWER)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]


class Edition(Base):
    """One day's email: draft -> approved -> sending -> sent | failed | unknown."""

    __tablename__ = "editions"
    __table_args__ = (UniqueConstraint("edition_date", "list_address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_date: Mapped[date] = mapped_column(Date)
    list_address: Mapped[str] = mapped_column(String(320), default="")
    status: Mapped[str] = mapped_column(String(16), default=EditionStatus.DRAFT)
    subject: Mapped[str] = mapped_column(Text, default="")
    intro: Mapped[str] = mapped_column(Text, default="")
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    composed_at: Mapped[datetime] = mapped_column(default=utcnow)
    html: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    html_sha256: Mapped[str] = mapped_column(String(64), default="")
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    approved_at: Mapped[datetime | None]
    sending_started_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    message_id: Mapped[str | None] = mapped_column(String(255))
    smtp_reply: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    message: Mapped[str | None] = mapped_column(Text)  # the MIME message as sent to the list
    sending_by: Mapped[str | None] = mapped_column(String(200))  # host:pid of the sender
    send_requested_at: Mapped[datetime | None]  # "send now" from the page; the scheduler sends
    send_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Entries the size budget left out of the email, lowest-scored first.
    dropped_for_size: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Optimistic locking: two editors never silently overwrite each other.
    version: Mapped[int] = mapped_column(Integer, default=1)

    entries: Mapped[list[EditionEntry]] = relationship(
        back_populates="edition",
        cascade="all, delete-orphan",
        order_by="EditionEntry.position",
    )

    __mapper_args__ = {"version_id_col": version}


class EditionEntry(Base):
    """A story's place in an edition, with the editor's changes."""

    __tablename__ = "edition_entries"
    __table_args__ = (
        UniqueConstraint("edition_id", "item_id"),
        # "Did this item (or its story) make a briefing?" is asked by the archive.
        Index("ix_edition_entries_item_id", "item_id"),
        Index("ix_edition_entries_story_id", "story_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(
        ForeignKey("editions.id", ondelete="CASCADE"), index=True
    )
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    story_id: Mapped[int | None] = mapped_column(ForeignKey("stories.id", ondelete="SET NULL"))
    section: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float, default=0.0)
    score_parts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    title_override: Mapped[str | None] = mapped_column(Text)
    summary_override: Mapped[str | None] = mapped_column(Text)
    removed: Mapped[bool] = mapped_column(Boolean, default=False)
    removed_reason: Mapped[str | None] = mapped_column(String(32))
    added_by_editor: Mapped[bool] = mapped_column(Boolean, default=False)
    editor_section: Mapped[str | None] = mapped_column(String(64))  # moved there by the editor
    lead_chosen: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    is_update: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    edition: Mapped[Edition] = relationship(back_populates="entries")
    item: Mapped[Item] = relationship()


class CurationEvent(Base):
    """What an editor did to a draft; also training feedback for the classifier."""

    __tablename__ = "curation_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(
        ForeignKey("editions.id", ondelete="CASCADE"), index=True
    )
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id", ondelete="SET NULL"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(255), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class FetchLog(Base):
    """One row per feed fetch: the raw material of the feed-health page."""

    __tablename__ = "fetch_log"
    __table_args__ = (Index("ix_fetch_log_feed_started", "feed_id", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"))
    started_at: Mapped[datetime]
    duration_ms: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(32))
    http_status: Mapped[int | None] = mapped_column(Integer)
    bytes: Mapped[int] = mapped_column(Integer, default=0)
    items_seen: Mapped[int] = mapped_column(Integer, default=0)
    items_new: Mapped[int] = mapped_column(Integer, default=0)
    items_updated: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)


class Lease(Base):
    """Who may run a singleton (the scheduler) until when; renewed while it lives."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))  # host and process id
    acquired_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class Alert(Base):
    """Something staff must know about, at most once per kind and key (a day, an edition)."""

    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("kind", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    emailed: Mapped[bool] = mapped_column(Boolean, default=False)


# --- the archive: full-text search and the daily roll-ups behind the trend figures ---------

# Created by hand in migration 0006, not from these models: SQLite's FTS5 table (and its
# shadow tables) and PostgreSQL's generated tsvector column with its GIN index.
FULL_TEXT_NAMES = ("items_fts", "search_vector", "ix_items_search_vector")


def is_hand_made(name: str | None) -> bool:
    """For Alembic's comparisons: objects the models do not declare on purpose."""
    return bool(name) and any(str(name).startswith(n) for n in FULL_TEXT_NAMES)


class ArchiveCount(Base):
    """Items per London day for one dimension (`all`, `segment`, `outlet`, `region`), for all
    relevant items (`topic` = "") or one topic's. Rebuilt per day from the items, so a query
    costs days x keys whatever the size of the archive.

    `fetched` counts every item fetched, relevant or not (on `topic` = "" rows only): the
    denominator of shares. Pruning deletes old irrelevant items, so a day's `fetched` is kept
    as it was once the day passes the pruning horizon."""

    __tablename__ = "archive_counts"
    # Rows in key order on SQLite, so a figure reads one contiguous range of the table; the
    # day index is for a day's recount, which deletes the day's rows.
    __table_args__ = (Index("ix_archive_counts_day", "day"), {"sqlite_with_rowid": False})

    dim: Mapped[str] = mapped_column(String(16), primary_key=True)
    topic: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    items: Mapped[int] = mapped_column(Integer, default=0)  # relevant items
    sent: Mapped[int] = mapped_column(Integer, default=0)  # ... whose story made a sent edition
    fetched: Mapped[int] = mapped_column(Integer, default=0)


class FeedDay(Base):
    """Per London day and outlet: how many of its feeds were fetched and how many never
    succeeded that day, so that charts can mark fetch gaps (the fetch log itself is pruned)."""

    __tablename__ = "archive_feed_days"
    __table_args__ = {"sqlite_with_rowid": False}

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    outlet_id: Mapped[int] = mapped_column(
        ForeignKey("outlets.id", ondelete="CASCADE"), primary_key=True
    )
    feeds: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)


class TrackedTerm(Base):
    """A phrase the language tracker counts, with its variants; staff edit the list."""

    __tablename__ = "tracked_terms"

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # "loaded" or "neutral"
    phrases: Mapped[list[Any]] = mapped_column(default=list)  # variants, any of which counts
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    counted_at: Mapped[datetime | None]  # None: its counts are (re)being made


class TermCount(Base):
    """Relevant items per London day and segment that use a tracked term."""

    __tablename__ = "archive_term_counts"
    __table_args__ = {"sqlite_with_rowid": False}

    term_id: Mapped[int] = mapped_column(
        ForeignKey("tracked_terms.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    segment: Mapped[str] = mapped_column(String(32), primary_key=True)
    items: Mapped[int] = mapped_column(Integer, default=0)
